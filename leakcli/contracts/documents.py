"""The typed model of the on-disk contracts of LEAK-SPEC §3 but the metric catalog (catalog.py):
frozen pydantic models. These classes are the one source of truth for the contracts' shape:
`leakcli/contracts/schemas/*.schema.json` are generated from them (`python -m leakcli.contracts.schema`
rewrites them; a test checks they are current), and the loader validates each file with them,
reporting every violation with its JSON pointer.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from leakcli.contracts.base import Document, Ident, ModelName, Number, Scalar, SqlType, Strict, Text


# -- phase-plan.json, ir/stage-NN.json ------------------------------------------------------------
class Phase(Strict):
    id: Text
    name: str | None = None
    prompt: Annotated[str, StringConstraints(pattern=r"^prompts/.+\.md$")]
    ir: Annotated[str, StringConstraints(pattern=r"^ir/.+\.json$")]


MEMORY = r"(?i)^[0-9]+(\.[0-9]+)?\s*([KMGT]i?B|%)$"  # DuckDB's memory_limit: 1GB, 512MiB, 64mb, 80%
MIN_MEMORY = 32_000_000  # below 32MB DuckDB cannot build even the hand-made shop


def too_small(size: str) -> bool:
    """A memory size (MEMORY) under MIN_MEMORY, a share of the machine's memory included (0% is)."""
    import os
    import re

    share = re.match(r"^([0-9.]+)\s*%$", size.strip())
    if share is not None:
        try:
            machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError):  # unknown here: only nothing is surely too small
            machine = 0
        return float(share.group(1)) == 0 or 0 < machine and float(share.group(1)) / 100 * machine < MIN_MEMORY
    m = re.match(r"^([0-9.]+)\s*([KMGT])(i?)B$", size.strip(), re.I)
    if m is None:
        return False
    unit = float((1024 if m.group(3) else 1000) ** ("KMGT".index(m.group(2).upper()) + 1))
    return float(m.group(1)) * unit < MIN_MEMORY


class Engine(Strict):
    """How DuckDB may use this machine; LEAKCLI_MEMORY_LIMIT overrides `memory_limit`."""

    memory_limit: Annotated[str, StringConstraints(pattern=MEMORY)] = Field(
        default="1GB", description="DuckDB's memory_limit: past it, work spills to disk")
    render_seconds: Annotated[float, Field(gt=0, le=3600, allow_inf_nan=False)] = Field(
        default=5.0, description="how long one template or SQL fragment may take to render in the sandbox")

    @field_validator("memory_limit")
    @classmethod
    def _enough(cls, value: str) -> str:
        if too_small(value):
            raise ValueError(f"{value} is too small to work in: give at least 32MB")
        return value

    def limit(self) -> str:
        """The memory limit of this run: LEAKCLI_MEMORY_LIMIT (checked like the field) or the field."""
        import os
        import re

        env = os.environ.get("LEAKCLI_MEMORY_LIMIT")
        if env is None or not env.strip():
            return self.memory_limit
        if not re.match(MEMORY, env.strip()):
            from leakcli.errors import UsageError

            raise UsageError(f"{env!r} is not a memory size", file="LEAKCLI_MEMORY_LIMIT",
                             hint="give a size such as 4GB or 512MiB, or unset it")
        if too_small(env):
            from leakcli.errors import UsageError

            raise UsageError(f"{env.strip()} is too small to work in", file="LEAKCLI_MEMORY_LIMIT",
                             hint="give at least 32MB, e.g. 4GB, or unset it")
        return env.strip()


class PhasePlan(Document):
    build: str | None = None
    engine: Engine = Engine()
    phases: Annotated[list[Phase], Field(min_length=1)]


class StageIR(Document):
    stage: int
    name: str | None = None
    phase: str | None = None
    models: Annotated[list[ModelName], Field(min_length=1)]
    final_models: Annotated[list[ModelName], Field(min_length=1)]
    out_of_scope: list[str] = []


# -- contracts/source-manifest.json ---------------------------------------------------------------
class Column(Strict):
    name: Ident
    type: SqlType
    nullable: bool
    description: str | None = None
    accepted_values: Annotated[list[Scalar], Field(min_length=1)] | None = None
    accepted_values_severity: Literal["blocking", "warning"] = "warning"
    minimum: Number | None = Field(default=None, description="no value may be below it (a price is never negative)")
    minimum_severity: Literal["blocking", "warning"] = "blocking"
    requires_decision: Text | None = None


class Table(Strict):
    name: Ident
    file: Annotated[str, StringConstraints(pattern=r"^[^/\\]+\.csv$")]
    required: bool
    primary_key: Annotated[list[Ident], Field(min_length=1)]
    null_tokens: list[str]
    allow_empty: bool = False
    description: str | None = None
    requires_decision: Text | None = None
    columns: Annotated[list[Column], Field(min_length=1)]


class Dialect(Strict):
    header: Literal[True]
    delimiter: Text
    quote: str = '"'
    escape: str = '"'
    encoding: Literal["utf-8"]
    timestamp_format: Text


class RelationSide(Strict):
    table: Ident
    key: Annotated[list[Ident], Field(min_length=1)]
    value: Ident


class Relation(Strict):
    """A rule across two files: `sum_within`, the child's values of a key add up to no more than the
    parent's value (refunds within their order); `not_before`, the child's value is never before the
    parent's (an order is never placed before its session starts)."""

    name: Ident
    kind: Literal["sum_within", "not_before"]
    severity: Literal["blocking", "warning"]
    child: RelationSide
    parent: RelationSide
    description: str | None = None


class DataChecks(Strict):
    """Rules of plan's data checks that are the project's to set, not the code's."""

    null_like: list[str] = Field(description="text that reads as a missing value; a text column holding "
                                             "one that null_tokens does not declare is a question")
    row_drift: Annotated[float, Field(ge=0)] = Field(description="a row count that moved by more than "
                                                                 "this share of its profile's is reported")
    null_drift: Annotated[float, Field(ge=0)] = Field(description="a column's null share that moved by "
                                                                  "more than this is reported")
    profile_top_values: Annotated[int, Field(ge=1)] = Field(description="values a profile lists per column")
    range_slack_days: Annotated[int, Field(ge=0, le=36_500)] = Field(
        default=366, description="a timestamp more than this many days outside the range its profile saw is "
                                 "a blocking question (a session in 1969 or 9999 would move the window)")


class SourceManifest(Document):
    source: Ident
    description: str | None = None
    dialect: Dialect
    checks: DataChecks
    tables: Annotated[list[Table], Field(min_length=1)]
    relations: list[Relation] = []

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)


# -- contracts/model-registry.json ----------------------------------------------------------------
class DependsOn(Strict):
    refs: list[str]
    sources: list[str]


class ModelColumn(Strict):
    name: Ident
    type: SqlType
    nullable: bool
    description: str | None = None


class Model(Strict):
    name: ModelName
    layer: Literal["staging", "intermediate", "mart"]
    template: Annotated[str, StringConstraints(pattern=r"^templates/[^/]+\.sql$")]
    materialized: Literal["table", "incremental"] = Field(
        default="table", description="table: built whole; incremental: when only source data changed, only the "
        "rows of the partitions a change touches are built again (LEAK-SPEC §11)")
    partition_by: Ident | None = Field(
        default=None, description="an incremental model's partition: a grain column whose values are rebuilt "
        "together; each row of the model depends only on input rows of its own partition")
    grain: Annotated[list[Ident], Field(min_length=1)]
    depends_on: DependsOn
    description: str | None = None
    requires_decision: Text | None = None
    columns: Annotated[list[ModelColumn], Field(min_length=1)]

    @property
    def declared(self) -> list[tuple[str, str]]:
        return [(c.name, c.type) for c in self.columns]


class ModelRegistry(Document):
    models: Annotated[list[Model], Field(min_length=1)]


# -- contracts/join-contracts.json ----------------------------------------------------------------
class JoinSide(Strict):
    model: ModelName
    alias: Ident
    keys: Annotated[list[Ident], Field(min_length=1)]


class Join(Strict):
    name: Ident
    model: ModelName
    type: Literal["left", "inner"]
    left: JoinSide
    right: JoinSide
    cardinality: Literal["one_to_one", "one_to_zero_or_one", "one_to_many", "many_to_one"] | None = None
    unmatched_left: Text
    unmatched_right: Text
    requires_decision: Text | None = None


class PartitionMonth(Strict):
    """How a key reaches the partition's month: the `column` of its row in `model`; for a row of the
    `source` file not built yet, the month of its `time` column. `model_time` is the same time in the model."""

    model: ModelName
    key: Ident
    column: Ident
    model_time: Ident
    source: Ident
    time: Ident


class PartitionKey(Strict):
    """A value of `key` belongs to the value of `to` in its row of `model` (one row per `key`), as
    the join `join` pairs them."""

    key: Ident
    model: ModelName
    to: Ident
    join: Ident


class PartitionSource(Strict):
    """The rows of source `table` (and of its staging `model`, one row per source row) belong to the
    value of their column `key`."""

    table: Ident
    model: ModelName
    key: Ident


class Partition(Strict):
    """Where each row belongs, for incremental builds (LEAK-SPEC §11): a changed source row dirties its
    key, old and new; keys reach other keys and the month by `keys` and `month`, never by a row's own dates."""

    description: str | None = None
    column: Ident
    month: PartitionMonth
    keys: list[PartitionKey] = []
    sources: Annotated[list[PartitionSource], Field(min_length=1)]
    requires_decision: Text | None = None


class JoinContracts(Document):
    joins: list[Join]
    partition: Partition | None = None


# -- contracts/acceptance-tests.json --------------------------------------------------------------
class ReconcileCheck(Strict):
    name: Text
    observed: Text
    expected: Text
    sample: Text | None = None
    tolerance: Annotated[Number, Field(ge=0)] = 0


class ValueTarget(Strict):
    model: ModelName
    column: Ident
    values: Annotated[list[Scalar], Field(min_length=1)]


TestKind = Literal["relation_set", "ref_discipline", "unique", "not_blank", "row_condition", "reconcile",
                   "failing_rows", "relationship", "join_cardinality", "accepted_values"]
NEEDS: dict[str, tuple[str, ...]] = {
    "unique": ("columns",), "not_blank": ("columns",), "row_condition": ("condition",),
    "failing_rows": ("query",), "reconcile": ("checks",), "relationship": ("columns", "to"),
    "join_cardinality": ("join",), "accepted_values": ("targets",),
}


class AcceptanceTest(Strict):
    id: Annotated[str, StringConstraints(pattern=r"^AT-[0-9]{2,}$")]
    model: Text
    kind: TestKind
    severity: Literal["error", "warn"]
    description: Text
    columns: Annotated[list[Ident], Field(min_length=1)] | None = None
    blank_values: list[str] = [""]
    condition: Text | None = None
    query: Text | None = None
    to: ModelName | None = None
    join: Ident | None = None
    checks: Annotated[list[ReconcileCheck], Field(min_length=1)] | None = None
    targets: Annotated[list[ValueTarget], Field(min_length=1)] | None = None

    def models_read(self, stage_models: list[str]) -> list[str]:
        """The models this test reads ('*': every model of the stage)."""
        named = [self.model, *([self.to] if self.to else []), *(t.model for t in self.targets or [])]
        return list(stage_models) if "*" in named else named

    @model_validator(mode="after")
    def _fields_of_kind(self) -> AcceptanceTest:
        missing = [f for f in NEEDS.get(self.kind, ()) if getattr(self, f) is None]
        if missing:
            raise ValueError(f"'{missing[0]}' is a required property of a '{self.kind}' test")
        return self


class AcceptanceTests(Document):
    tests: Annotated[list[AcceptanceTest], Field(min_length=1)]


# -- contracts/decisions.json ---------------------------------------------------------------------
class Decision(Strict):
    id: Annotated[str, StringConstraints(pattern=r"^D-[0-9]{2,}$")]
    key: Ident
    question: Text
    answer: Text
    decided_by: str | None = None


class Decisions(Document):
    decisions: list[Decision]


# -- datasets/<name>/profile/<table>.json ---------------------------------------------------------
class TopValue(Strict):
    value: Scalar | None
    count: int


class ColumnProfile(Strict):
    name: Ident
    type: str
    null_count: int
    distinct_count: int
    min: Scalar | None = None
    max: Scalar | None = None
    top_values: list[TopValue] = []


class Profile(Document):
    table: Ident
    file: str
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    row_count: Annotated[int, Field(ge=0)]
    generated_by: str | None = None
    columns: list[ColumnProfile]
    null_tokens: list[str] = []
