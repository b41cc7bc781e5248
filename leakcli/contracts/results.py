"""The JSON documents leakcli writes for programs to read: every `--json` result on stdout, the error
document, run_results.json and a build's state.json. Each is a pydantic record with a JSON Schema
under leakcli/contracts/schemas/ (`python -m leakcli.contracts.schema`); every document is made by
validating it against its record, so what is printed is what the schema says."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import JsonValue, SerializerFunctionWrapHandler, model_serializer

from leakcli.contracts.base import Record
from leakcli.contracts.questions import Question
from leakcli.contracts.records import Dataset, Growth, Row, SourceSummary, UnitCoverage


class Output(Record):
    """Every document on stdout starts with the schema version (LEAK-SPEC §10)."""

    schema_version: Literal[1] = 1

    def document(self) -> dict[str, object]:
        """The document as it is printed or written: JSON-ready, every field present."""
        return self.model_dump(mode="json", by_alias=True)


# -- errors ---------------------------------------------------------------------------------------
class ErrorDetail(Record):
    """A LeakError as data: its type, message, culprit (file, pointer, line, column, model) and remedy."""

    type: str
    message: str
    file: str | None = None
    pointer: str | None = None
    line: int | None = None
    column: str | int | None = None
    model: str | None = None
    hint: str | None = None
    exit_code: int
    problems: list[ErrorDetail] | None = None  # every contract violation, when there are several
    ambiguities: list[Question] | None = None  # the blocking questions that stopped apply

    @model_serializer(mode="wrap")
    def _only_given_lists(self, handler: SerializerFunctionWrapHandler) -> Any:
        doc = handler(self)
        for key in ("problems", "ambiguities"):
            if doc.get(key) is None:
                doc.pop(key, None)
        return doc


class ErrorOutput(Output):
    """The one document a failed command prints with --json: what failed, where, and the exit code."""

    error: ErrorDetail


# -- apply ----------------------------------------------------------------------------------------
class ModelOutcome(Record):
    model: str
    action: str
    status: str  # success | copied | unchanged | skipped
    rows: int | None
    seconds: float
    partitions: int | None = None  # an update: the partition values it rebuilt


class ApplyOutput(Output):
    status: Literal["success"]
    dataset: Dataset
    database: str
    plan_fingerprint: str
    elapsed_seconds: float
    results: list[ModelOutcome]
    artifacts: list[str]
    top_actions: list[Row]
    status_counts: dict[str, int]
    ambiguities: list[Question]
    sources: list[SourceSummary] = []  # what changed in each source file since the build before
    growth: Growth | None = None  # the answer's months and window, where the data ends, the months rebuilt


# -- verify ---------------------------------------------------------------------------------------
class TestSummary(Record):
    total: int
    passed: int
    failed: int
    warned: int
    errored: int


class TestOutcome(Record):
    id: str
    model: str
    kind: str
    severity: Literal["error", "warn"]
    status: Literal["pass", "fail", "warn", "error"]
    observed: JsonValue = None
    expected: JsonValue = None
    failing_rows: int
    sample: list[JsonValue]
    message: str


class ModelCheckOutput(Record):
    """`verify --full-check`: one model of the published build against its build from scratch."""

    model: str
    same: bool
    rows_published: int
    rows_rebuilt: int
    differing_rows: int
    months: list[str]
    sample: list[Row]


class VerifyOutput(Output):
    summary: TestSummary
    dataset: dict[str, JsonValue]
    database: str
    results: list[TestOutcome]
    full_check: list[ModelCheckOutput] | None = None  # with --full-check


# -- test (unit tests, LEAK-SPEC §12) ---------------------------------------------------------------
class UnitCell(Record):
    column: str
    expected: JsonValue
    actual: JsonValue


class UnitChangedRow(Record):
    """An expected row and a returned row that agree on `key` (in order: at `position`) but differ in `cells`."""

    key: Row
    position: int | None
    cells: list[UnitCell]


class UnitTestResult(Record):
    id: str
    model: str
    description: str
    decision: str | None
    location: str  # contracts/unit-tests.json#/tests/<i>
    status: Literal["pass", "fail", "error"]
    seconds: float
    expected_rows: int
    actual_rows: int
    missing: list[Row]
    unexpected: list[Row]
    changed: list[UnitChangedRow]
    problems: list[str]  # the model's columns and types against the registry
    message: str


class UnitTestSummary(Record):
    total: int
    passed: int
    failed: int
    errored: int


class UnitTestOutput(Output):
    summary: UnitTestSummary
    seconds: float
    coverage: UnitCoverage
    created: str | None  # the id of the test `--create` wrote
    results: list[UnitTestResult]


# -- diff -----------------------------------------------------------------------------------------
class ColumnChangeOutput(Record):
    column: str
    rows: int
    samples: list[Row]


class ModelDiffOutput(Record):
    model: str
    grain: list[str]
    rows_old: int
    rows_new: int
    added: int
    removed: int
    changed: int
    columns_added: list[str]
    columns_removed: list[str]
    column_changes: list[ColumnChangeOutput]
    samples_added: list[Row]
    samples_removed: list[Row]
    status: Literal["compared", "added", "removed"]
    same: bool


class RankMoveOutput(Record):
    key: Row
    old_rank: int | None
    new_rank: int | None
    old_gap: float | None
    new_gap: float | None
    old_status: str | None
    new_status: str | None
    kind: Literal["entered", "left", "up", "down", "same"]


class PriorityMoves(Record):
    model: str
    keys: list[str]
    moves: list[RankMoveOutput]


class DiffOutput(Output):
    old: str
    new: str
    old_dataset: str
    new_dataset: str
    identical: bool
    models: list[ModelDiffOutput]
    priority: PriorityMoves


# -- report, export, profile, generate, show ------------------------------------------------------
class ReportOutput(Output):
    path: str
    bytes: int
    charts: list[str]
    build: str | None
    actions: int
    tests: dict[str, int]
    tests_error: str | None = None  # why the acceptance tests could not run (then `tests` is empty)


class ExportOutput(Output):
    path: str
    data: str
    files: list[str]
    models: list[str]
    tests: list[str]
    skipped_tests: dict[str, str]  # test id -> why it has no dbt form


class ProfileOutput(Output):
    dataset: dict[str, JsonValue]
    written: list[str]


class GenerateOutput(Output):
    path: str
    scale: float
    seed: int
    seconds: float
    rows: dict[str, int]


class ShowOutput(Output):
    model: str
    columns: list[str]
    rows: list[Row]
    total: int  # rows of the model that --where keeps, shown or not


# -- artifacts ------------------------------------------------------------------------------------
class RunResult(Record):
    """One model or audit test of an apply, in dbt's field names where they mean the same."""

    unique_id: str
    resource_type: Literal["model", "test", "unit_test"]
    model: str
    action: str | None = None
    status: str
    execution_time: float
    message: str
    failures: int | None
    adapter_response: dict[str, JsonValue]


class RunMetadata(Record):
    generated_at: str
    invocation_id: str | None
    started_at: str


class RunResults(Output):
    """run_results.json: what one apply did, whatever became of it."""

    metadata: RunMetadata
    command: Literal["apply"]
    status: Literal["success", "error", "rejected", "blocked", "interrupted"]
    message: str
    build: str | None
    elapsed_time: float
    dataset: Dataset | None
    plan_fingerprint: str | None
    results: list[RunResult]
    sources: list[SourceSummary] = []  # what changed in each source file since the build before
    growth: Growth | None = None  # the months the build rebuilt, out of how many, and where the data ends
