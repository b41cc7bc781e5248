"""Progress of long work: the core names each phase (hashing a file, scanning it, loading it, a
model, the audit); the command line shows them (report.py). Nothing is shown unless a reporter is
installed, so the core stays quiet in tests and as a library."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

LONG = 1.0  # seconds: a phase this long is reported when it ends


class Tracker(Protocol):
    def started(self, label: str) -> None: ...

    def finished(self, label: str, seconds: float) -> None: ...


_trackers: list[Tracker] = []


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
    """One phase of the work, e.g. `loading website_pageviews.csv`."""
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
