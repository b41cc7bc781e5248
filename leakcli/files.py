"""Files as leakcli reads and writes them: a file's identity and digest, JSON read leniently, text
written whole or not at all, and whether a file is one leakcli wrote."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
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
    digest = hashlib.sha256()
    with os.fdopen(open_regular(path), "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_json_file(path: Path, limit: int = 10_000_000) -> object:
    """The JSON document in `path` (its first `limit` bytes), or None when it is not one."""
    import json

    try:
        return json.loads(read_bytes(path, limit))
    except (OSError, ValueError):
        return None


def write_atomic(path: Path, text: str) -> None:
    """Write `text` next to `path`, then rename it over `path`: readers see the old file or the new one."""
    tmp = path.with_name(path.name + ".tmp")
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
