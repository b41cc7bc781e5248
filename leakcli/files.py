"""Files as leakcli reads and writes them: a file's identity and digest, JSON read leniently, text
written whole or not at all, and whether a file is one leakcli wrote."""

from __future__ import annotations

import errno
import hashlib
import os
import queue
import stat
import threading
from dataclasses import dataclass
from pathlib import Path


def open_regular(path: Path) -> int:
    """A read-only descriptor of `path`, which must be a regular file (links followed): a folder, a
    pipe or a device is refused with an OSError saying so, never read (reading a FIFO would hang)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(path))
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, "is not a regular file (a pipe, socket or device)", str(path))
        os.set_blocking(fd, True)
        return fd
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: Path, limit: int = -1) -> bytes:
    """The bytes of the regular file `path` (its first `limit` bytes when given); see open_regular."""
    with os.fdopen(open_regular(path), "rb") as fh:
        return fh.read(limit)


def read_text(path: Path) -> str:
    """The UTF-8 text of the regular file `path` (UnicodeDecodeError when it is not UTF-8)."""
    return read_bytes(path).decode("utf-8")


def file_identity(path: Path) -> tuple[int, ...]:
    """What stat says of a file, as git's index keeps it: size, mtime_ns, ctime_ns, inode, device."""
    st = path.stat()
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def file_sha256(path: Path) -> str:
    with os.fdopen(open_regular(path), "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


@dataclass(frozen=True)
class Digest:
    """One read of a file: its sha256; the sha256 of its first `prefix` bytes (when asked, and the file
    is at least that long); its newlines, all and after that prefix; whether it ends with one."""

    size: int
    sha256: str
    lines: int
    newline_at_end: bool
    prefix_sha256: str | None = None
    lines_after_prefix: int = 0


def digest_file(path: Path, prefix: int | None = None, known: tuple[str, int] | None = None) -> Digest:
    """The Digest of the regular file `path`, read once (sha256 releases the GIL, so other files are
    read meanwhile on other threads). `known`: the sha256 and newlines a build recorded of the first
    `prefix` bytes; while those bytes are the same, their newlines are not counted again."""
    whole = hashlib.sha256()
    head: str | None = None
    size = lines = after = 0
    last = b""
    skip = prefix if prefix is not None and known is not None else 0  # bytes whose newlines are known
    with os.fdopen(open_regular(path), "rb") as fh:
        while True:
            chunk = fh.read(CHUNK if prefix is None or size >= prefix else min(CHUNK, prefix - size))
            if not chunk:
                break
            whole.update(chunk)
            size += len(chunk)
            if size > skip:  # a read ends at the prefix, so a chunk is all before it or all after
                found = chunk.count(b"\n")
                lines += found
                if prefix is not None and size > prefix:
                    after += found
            if prefix is not None and size == prefix:
                head = whole.copy().hexdigest()
            last = chunk
    if prefix == 0:
        head = hashlib.sha256().hexdigest()
    if skip and known is not None and size >= skip:
        lines += known[1] if head == known[0] else count_lines(path, skip)  # other bytes: count them
    return Digest(size, whole.hexdigest(), lines, last.endswith(b"\n"), head, after)


CHUNK = 1 << 20


def count_lines(path: Path, size: int) -> int:
    """The newlines of the first `size` bytes of `path`."""
    found = 0
    with os.fdopen(open_regular(path), "rb") as fh:
        while size > 0 and (chunk := fh.read(min(CHUNK, size))):
            found += chunk.count(b"\n")
            size -= len(chunk)
    return found


class Hashing:
    """The Digest of a file, computed on a background thread while the caller goes on (reading the file
    and hashing release the GIL, so DuckDB reads it meanwhile). Two threads take the files asked for in
    turn; they die with the process, so an interrupted command does not wait for them."""

    _queue: queue.SimpleQueue[Hashing] | None = None
    THREADS = 2

    def __init__(self, path: Path, prefix: int | None = None, known: tuple[str, int] | None = None) -> None:
        self.path, self.prefix, self.known = path, prefix, known
        self._done = threading.Event()
        self._value: Digest | None = None
        self._error: OSError | None = None
        if Hashing._queue is None:
            Hashing._queue = queue.SimpleQueue()
            for i in range(self.THREADS):
                threading.Thread(target=Hashing._work, args=(Hashing._queue,), name=f"leakcli-sha256-{i}",
                                 daemon=True).start()
        Hashing._queue.put(self)

    @staticmethod
    def _work(jobs: queue.SimpleQueue[Hashing]) -> None:
        while True:
            job = jobs.get()
            try:
                job._value = digest_file(job.path, job.prefix, job.known)
            except OSError as exc:
                job._error = exc
            finally:
                job._done.set()

    def result(self) -> Digest:
        """The Digest (waiting for it); an OSError when the file could not be read."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value


def read_json_file(path: Path, limit: int = 10_000_000) -> object:
    """The JSON document in `path` (its first `limit` bytes), or None when it is not one."""
    import json

    try:
        return json.loads(read_bytes(path, limit))
    except (OSError, ValueError):
        return None


NAME_MAX = 255  # bytes in one file name (ext4, XFS, Btrfs, tmpfs, APFS, NTFS)
TMP = ".tmp"  # what write_atomic adds to a file's name while it writes


def write_atomic(path: Path, text: str) -> None:
    """Write `text` next to `path`, then rename it over `path`: readers see the old file or the new one."""
    tmp = path.with_name(path.name + TMP)
    try:
        tmp.write_text(text, "utf-8")
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half-written temporary behind
        raise


def head_holds(path: Path, marker: bytes, within: int = 4096) -> bool:
    """`marker` is in the first `within` bytes of `path`: a text file leakcli wrote."""
    try:
        return marker in read_bytes(path, within)
    except OSError:
        return False
