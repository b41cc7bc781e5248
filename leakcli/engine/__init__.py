"""Floor 2, DuckDB: the only package that imports duckdb and turns its errors into leakcli's;
connections, the lockdown, loading the CSVs typed, the parser's verdicts, and quoting."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Around the first `import duckdb`: Ctrl-C and SIGTERM wait until the import is done. A signal
    inside the initialisation of DuckDB's C extension breaks it (an ImportError with a traceback, an
    abort, or the signal lost); held, it arrives just after and unwinds as any Ctrl-C does."""
    import sys

    if "duckdb" in sys.modules:
        yield
        return
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
