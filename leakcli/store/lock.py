"""One writer at a time: an advisory lock on target/.leakcli.lock that says who holds it.

The kernel drops the lock when its holder dies, even by SIGKILL, so a crash never leaves it stuck.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from leakcli.errors import LockedError, UsageError, cannot_write


@contextmanager
def build_lock(path: Path, command: str, shown: str | None = None) -> Iterator[None]:
    """Hold target/.leakcli.lock for the block; fail at once (LockedError) when another process holds
    it. Anything but a regular file there (a link, a folder, a pipe) is someone's: refused, never
    followed, opened or removed; a lock file that cannot be made (no space, no inodes) is named."""
    import fcntl

    shown = shown or str(path)
    if path.is_symlink():
        raise UsageError("is a symbolic link; leakcli does not write through links", file=shown,
                         hint="remove it")
    if path.exists() and not path.is_file():
        kind = "a folder" if path.is_dir() else "not a regular file"
        raise UsageError(f"is {kind} where apply keeps its lock file; leakcli did not make it", file=shown,
                         hint="move it away and run apply again")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
    except OSError as exc:
        raise cannot_write("the lock file", exc, shown) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # it changed since it was looked at
            raise UsageError("is not a regular file where apply keeps its lock file", file=shown,
                             hint="move it away and run apply again")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            raise LockedError(f"another apply is running ({holder})", file=shown) from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps({"pid": os.getpid(), "command": command,
                                      "since": time.strftime("%Y-%m-%dT%H:%M:%S")}).encode(), 0)
        except OSError:  # a full disk: who holds the lock goes unsaid; the lock holds all the same
            pass
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "holder unknown"
    return f"pid {info.get('pid')}, `leakcli {info.get('command')}` since {info.get('since')}"
