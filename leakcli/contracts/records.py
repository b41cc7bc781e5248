"""What plan decides and apply records: the plan (target/plan.json), its model steps, and the
metadata stored as the comment of each built table."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, JsonValue

from leakcli.contracts.base import Record
from leakcli.contracts.questions import Question
from leakcli.jsonout import digest

Row = dict[str, JsonValue]  # one row of a mart, its values made JSON-ready


class Dataset(Record):
    kind: Literal["files", "synthetic"]
    origin: Literal["option", "environment", "published", "project", "synthetic", "synthetic_option"]
    path: str
    pending: bool = False


class Parts(Record):
    """What a model's fingerprint is made of."""

    sql: str
    contract: str
    upstream: dict[str, str]
    sources: dict[str, str]


Action = Literal["create", "rebuild", "update", "unchanged", "skip"]  # update: only the changed partitions


class ModelStep(Record):
    name: str
    layer: str
    depends_on: list[str]
    sources: list[str]
    action: Action
    reason: str
    fingerprint: str
    template: str = ""
    sql: str = ""
    parts: Parts | None = None
    diff: list[str] | None = None  # unified diff of its SQL against the published build's
    pending: Action | None = None  # a model left out by the selection: what apply would do with it
    text_only: bool = False  # its SQL text changed in comments or layout only: nothing to build


class ContractChange(Record):
    """One changed value of a contract since the published build: `op` is + added, - removed, ~ changed."""

    file: str
    pointer: str
    op: Literal["+", "-", "~"]
    old: JsonValue = None
    new: JsonValue = None


Change = Literal["unchanged", "appended", "rewritten", "new", "removed"]


class FileRecord(Record):
    """What a build read of one source file (LEAK-SPEC §11), kept with the build (sources.json): the
    next plan tells from it whether the file is unchanged, only grew, or was written anew."""

    size: int
    sha256: str
    rows: int | None
    lines: int  # newline characters, the header's included
    newline_at_end: bool


class MonthRows(Record):
    month: str  # YYYY-MM
    rows: int


class SourceSummary(Record):
    """One source file in the plan: what it is now and, against the published build, what changed."""

    table: str
    file: str
    exists: bool
    sha256: str
    rows: int | None = None
    change: Change = "new"
    rows_before: int | None = None
    rows_after: int | None = None
    rows_added: int = 0
    rows_removed: int = 0
    rows_changed: int | None = 0  # None: rows of a rewritten file that may have changed; apply counts them
    months: list[MonthRows] = []  # the session months the changed rows belong to, old and new


class Window(Record):
    """The priority window (LEAK-SPEC §7) after the change, and before it (the published build's)."""

    from_: str = Field(alias="from")
    to: str
    previous_from: str | None = None
    previous_to: str | None = None


class DataEnd(Record):
    """Where the data ends: the latest session, and how many days of its month the data covers."""

    at: str
    month: str
    days: int
    of: int

    @property
    def partial(self) -> bool:
        return self.days < self.of


class Growth(Record):
    """The months of the answer (LEAK-SPEC §11): those a build rebuilds, out of how many the data
    holds; the priority window, before and after; where the data ends."""

    months_to_rebuild: list[str] | None  # YYYY-MM, ascending; None: every month (a build made whole)
    months: int  # how many months the data holds (after the change)
    window: Window | None = None
    data_ends: DataEnd | None = None


class UnitCoverage(Record):
    """The unit tests of contracts/unit-tests.json (LEAK-SPEC §12): how many, and how many pin each
    model of the registry and each decision of decisions.json."""

    tests: int
    models: dict[str, int]
    decisions: dict[str, int]


class Plan(Record):
    """What apply will do. `plan --json` prints it without the SQL; `plan --out` saves it whole."""

    schema_version: Literal[1] = 1
    read: list[str]
    dataset: Dataset
    sources: list[SourceSummary]
    ambiguities: list[Question]
    order: list[str]
    models: list[ModelStep]
    select: list[str]
    exclude: list[str] | None = None
    full_refresh: bool
    inputs: dict[str, str]
    fingerprint: str
    contract_changes: list[ContractChange] | None = None  # None: no published build to compare with
    growth: Growth | None = None  # models updated, not rebuilt: the months the change touches
    unit_tests: UnitCoverage | None = None

    @property
    def blocking(self) -> list[Question]:
        return [a for a in self.ambiguities if a.severity == "blocking"]

    @property
    def changes(self) -> bool:
        """apply would build something, or the selection leaves a change pending (`--detailed-exitcode` 4)."""
        return any(m.action in ("create", "rebuild", "update") or m.pending in ("create", "rebuild", "update")
                   for m in self.models)

    def with_sources(self, shas: dict[str, str], data_key: str) -> Plan:
        """The plan once the files hashed in the background are hashed (`shas`, by table): every
        fingerprint as `leakcli plan` computes it from the same files."""
        if not shas:
            return self
        fps: dict[str, str] = {}
        steps = []
        for step in self.models:
            if step.parts is None:
                steps.append(step)
                continue
            parts = step.parts.model_copy(update={
                "sources": {t: shas.get(t, sha) for t, sha in step.parts.sources.items()},
                "upstream": {p: fps.get(p, fp) for p, fp in step.parts.upstream.items()}})
            fingerprint = digest(parts.model_dump())
            if step.action != "skip":  # a skipped table stays what it was built from
                fps[step.name] = fingerprint
            steps.append(step.model_copy(update={"parts": parts, "fingerprint": fingerprint}))
        files = {s.table: s.file for s in self.sources}
        inputs = {**self.inputs, **{files[t]: sha for t, sha in shas.items() if t in files}}
        sources = [s.model_copy(update={"sha256": shas[s.table]}) if s.table in shas else s for s in self.sources]
        return self.model_copy(update={"models": steps, "inputs": inputs, "sources": sources,
                                       "fingerprint": plan_fingerprint(inputs, steps, data_key, self.select,
                                                                       self.exclude)})

    def to_dict(self, *, with_sql: bool = False) -> dict[str, object]:
        skip: set[str] = set() if with_sql else {"template", "sql", "parts"}
        return {**super().to_dict(), "contract_changes": None if self.contract_changes is None else
                [ch.to_dict() for ch in self.contract_changes],
                "models": [m.model_dump(mode="json", exclude_none=True, exclude=skip) for m in self.models]}


def plan_fingerprint(inputs: dict[str, str], steps: list[ModelStep], data_key: str, select: list[str],
                     exclude: list[str] | None) -> str:
    """What a saved plan is checked against: every input's sha256, each step, the data directory
    (absolute) and the selection."""
    return digest({"inputs": inputs, "steps": [(s.name, s.action, s.fingerprint) for s in steps],
                   "data": data_key, "select": sorted(select),
                   **({"exclude": sorted(exclude)} if exclude is not None else {})})


class BuildMeta(Record):
    """Stored as the comment of each built table, so it swaps atomically with the data."""

    fingerprint: str
    parts: Parts
    built_at: str
    plan: str
    dataset: Dataset
    template: str


class BuildState(Record):
    """state.json: a summary of a closed build database, valid while the file's identity holds."""

    identity: list[int]
    tables: dict[str, str | None]  # name -> its comment (leakcli's metadata)
    rows: dict[str, int]
    head: dict[str, list[Row]]  # model -> its first rows
    head_limit: int
    statuses: dict[str, int] | None = None  # action_status -> actions of the priority model
    growth: Growth | None = None  # the answer's months and window, and where the data ends
