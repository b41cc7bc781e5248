"""Files as leakcli reads and writes them: a file's identity and digest, JSON read leniently, text
written whole or not at all, and whether a file is one leakcli wrote."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_identity(path: Path) -> tuple[int, ...]:
    """What stat says of a file, as git's index keeps it: size, mtime_ns, ctime_ns, inode, device."""
    st = path.stat()
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_json_file(path: Path, limit: int = 10_000_000) -> object:
    """The JSON document in `path` (its first `limit` bytes), or None when it is not one."""
    import json

    try:
        return json.loads(path.read_bytes()[:limit])
    except (OSError, ValueError):
        return None


def write_atomic(path: Path, text: str) -> None:
    """Write `text` next to `path`, then rename it over `path`: readers see the old file or the new one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, "utf-8")
    tmp.replace(path)


def head_holds(path: Path, marker: bytes, within: int = 4096) -> bool:
    """`marker` is in the first `within` bytes of `path`: a text file leakcli wrote."""
    try:
        with path.open("rb") as fh:
            return marker in fh.read(within)
    except OSError:
        return False
