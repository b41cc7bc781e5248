"""What one build records as it goes: each model's result, each acceptance test's result, and the
progress events the command line shows."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from leakcli.errors import LeakError

if TYPE_CHECKING:
    from leakcli.contracts.records import ModelStep

BUILD_ACTIONS = ("create", "rebuild")  # the actions of a plan step that build a table whole
WRITE_ACTIONS = (*BUILD_ACTIONS, "update")  # and those that write it (update: only the changed partitions)


@dataclass(frozen=True)
class ProgressInfo:
    """Where a model is in the build (index of total) and, once done, its status, rows and time."""

    index: int
    total: int
    status: str | None = None
    rows: int | None = None
    seconds: float | None = None


Progress = Callable[[str, "ModelStep", ProgressInfo], None]  # event ("start" | "done"), step, info


@dataclass(frozen=True)
class ModelResult:
    """One model of an apply: built, copied from the published build, unchanged or skipped."""

    name: str
    action: str
    status: str  # success | copied | unchanged | skipped
    rows: int | None
    seconds: float
    partitions: int | None = None  # an update: the partition values it rebuilt


@dataclass
class CheckResult:
    """One acceptance test's result (LEAK-SPEC §8, §10)."""

    id: str
    model: str
    kind: str
    severity: str
    status: str  # pass | fail | warn | error
    description: str
    observed: object = None
    expected: object = None
    failing_rows: int = 0
    sample: Sequence[Mapping[str, object]] = field(default_factory=list)
    message: str = ""
    error: LeakError | None = field(default=None, repr=False)  # why a test with status error could not run
