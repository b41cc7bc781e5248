"""One writer at a time: an advisory lock on target/.leakcli.lock that says who holds it.

The kernel drops the lock when its holder dies, even by SIGKILL, so a crash never leaves it stuck.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from leakcli.errors import ExecutionError, LockedError, UsageError


@contextmanager
def build_lock(path: Path, command: str) -> Iterator[None]:
    """Hold target/.leakcli.lock for the block; fail at once (LockedError) when another process holds it."""
    import fcntl

    if path.is_symlink():
        raise UsageError("is a symbolic link; leakcli does not write through links", file=str(path),
                         hint="remove it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        raise ExecutionError(f"cannot write the target directory: {exc.strerror}",
                             file=str(path.parent)) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            raise LockedError(f"another apply is running ({holder})",
                              file=str(path)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "command": command,
                                  "since": time.strftime("%Y-%m-%dT%H:%M:%S")}).encode(), 0)
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
