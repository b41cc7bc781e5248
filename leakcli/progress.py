"""Progress of long work, and the seams to watch it: the core names each phase (hashing a file,
scanning it, loading it, a model, the audit); the command line shows them (outputs/terminal.py).
Nothing is shown unless a reporter is installed, so the core stays quiet in tests and as a library.

Two more seams, for tests and drills, with no effect unless used: `counting()` counts what the core
reports doing (databases opened, SQL parsed or bound, templates rendered, contract files parsed), and
`inject()` raises an error when a named point of the work is reached (a phase, or a model about to
be built), as a full disk or a Ctrl-C would there.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

LONG = 1.0  # seconds: a phase this long is reported when it ends


class Tracker(Protocol):
    def started(self, label: str) -> None: ...

    def finished(self, label: str, seconds: float) -> None: ...


_trackers: list[Tracker] = []
_counters: list[Counter[str]] = []
_faults: dict[str, Callable[[], BaseException]] = {}


@contextmanager
def tracking(tracker: Tracker) -> Iterator[None]:
    """Show the phases of the work done inside this block through `tracker`."""
    _trackers.append(tracker)
    try:
        yield
    finally:
        _trackers.remove(tracker)


@contextmanager
def phase(label: str) -> Iterator[None]:
    """One phase of the work, e.g. `loading website_pageviews.csv`; a point where a fault may be injected."""
    checkpoint(label)
    if not _trackers:
        yield
        return
    tracker = _trackers[-1]
    started = time.perf_counter()
    tracker.started(label)
    try:
        yield
    finally:
        tracker.finished(label, time.perf_counter() - started)


def checkpoint(label: str) -> None:
    """A named point of the work (`model mart__core_leak_summary`, a phase's label): raise the error
    injected for it, if any."""
    for prefix, error in _faults.items():
        if label.startswith(prefix):
            raise error()


@contextmanager
def inject(prefix: str, error: Callable[[], BaseException]) -> Iterator[None]:
    """Inside this block, raise `error()` at every point whose label starts with `prefix`."""
    _faults[prefix] = error
    try:
        yield
    finally:
        _faults.pop(prefix, None)


def count(event: str) -> None:
    """The core did `event` once (`database opened`, `sql parsed`, `sql bound`, `template rendered: <name>`,
    `contract parsed: <file>`)."""
    for counter in _counters:
        counter[event] += 1


@contextmanager
def counting() -> Iterator[Counter[str]]:
    """The events the core reports inside this block, counted."""
    counter: Counter[str] = Counter()
    _counters.append(counter)
    try:
        yield counter
    finally:
        _counters.remove(counter)


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Inside this block SIGTERM raises KeyboardInterrupt, so it unwinds like Ctrl-C (main thread only)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
