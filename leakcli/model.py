"""The typed model of every on-disk contract (LEAK-SPEC §3): frozen pydantic models.

These classes are the one source of truth for the contracts' shape: `leakcli/schemas/*.schema.json`
are generated from them (`python -m leakcli.model` rewrites them; a test checks they are current),
and the loader validates each file with them, reporting every violation with its JSON pointer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, model_validator

from leakcli.ambiguity import RULES, Code, Rule, Severity

Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
ModelName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
Text = Annotated[str, StringConstraints(min_length=1)]
SqlType = Annotated[str, StringConstraints(
    pattern=r"^(BIGINT|INTEGER|SMALLINT|TINYINT|HUGEINT|UBIGINT|UINTEGER|DOUBLE|FLOAT|BOOLEAN|VARCHAR|DATE"
            r"|TIMESTAMP|DECIMAL\([0-9]+,[0-9]+\))$")]
Scalar = str | int | float | bool
Number = int | Annotated[float, Field(allow_inf_nan=False)]


class Strict(BaseModel):
    """Frozen, no unknown keys, no type coercion; `$schema` is allowed in every document."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, populate_by_name=True)


class Document(Strict):
    schema_ref: str | None = Field(default=None, alias="$schema")
    version: Literal[1]


# -- phase-plan.json, ir/stage-NN.json ------------------------------------------------------------
class Phase(Strict):
    id: Text
    name: str | None = None
    prompt: Annotated[str, StringConstraints(pattern=r"^prompts/.+\.md$")]
    ir: Annotated[str, StringConstraints(pattern=r"^ir/.+\.json$")]


class Engine(Strict):
    """How DuckDB may use this machine; LEAKCLI_MEMORY_LIMIT overrides `memory_limit`."""

    memory_limit: Annotated[str, StringConstraints(pattern=r"^[0-9]+(\.[0-9]+)?\s*([KMGT]i?B|%)$")] = Field(
        default="1GB", description="DuckDB's memory_limit: past it, work spills to disk")

    def limit(self) -> str:
        import os

        return os.environ.get("LEAKCLI_MEMORY_LIMIT") or self.memory_limit


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
    name: Ident
    kind: Literal["sum_within"]
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
    materialized: Literal["table"] = "table"
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


# -- contracts/metric-catalog.json ----------------------------------------------------------------
class Segment(Strict):
    keys: Annotated[list[Ident], Field(min_length=1)]
    time_grain: Literal["month"]
    time_column: Ident
    requires_decision: Text | None = None


class Thresholds(Strict):
    min_sessions: Number
    min_orders: Number
    low_conversion_index: Number
    weak_net_revenue_index: Number
    high_refund_index: Number
    priority_lookback_months: Annotated[int, Field(ge=1)]
    top_actions: Annotated[int, Field(ge=0)]
    false_discovery_rate: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = Field(
        description="Benjamini-Hochberg level: an action whose q_value is at most this is significant")
    live_months: Annotated[int, Field(ge=1)] = Field(
        description="a segment is live when it had sessions in the last this many months of the window")


class Total(Strict):
    column: Ident
    type: SqlType


class Baseline(Strict):
    name: Ident
    prefix: Ident
    by: list[Ident]
    over: str | None = None


class Metric(Strict):
    name: Ident
    models: Annotated[list[ModelName], Field(min_length=1)]
    type: SqlType
    formula: Text
    sql: Text
    inputs: Annotated[list[Ident], Field(min_length=1)]
    working: bool = Field(default=False, description="a step of the model's SQL, not one of its columns")
    requires_decision: Text | None = None


class Scope(Strict):
    name: Ident
    baseline: Ident = Field(description="the baseline (of `baselines`) an action of this scope is measured against")
    gap: Ident
    keep: Text
    primary_leak: Text | None = None


class Leak(Strict):
    name: Ident
    column: Ident


class ExpectedSum(Strict):
    """A sum over an action's summary rows at its baseline's rates in the same months; `{x}` stands
    for the baseline's column prefix."""

    column: Ident
    sql: Annotated[str, StringConstraints(pattern=r"\{x\}")]


class Status(Strict):
    name: Ident
    when: Text
    meaning: Text
    count: Annotated[list[Annotated[str, StringConstraints(pattern=r"\{n\}")]], Field(min_length=2, max_length=2)] = \
        Field(description="how a count of actions with this status reads: for one, for several ({n} is the count)")

    def counted(self, n: int) -> str:
        return self.count[0 if n == 1 else 1].replace("{n}", f"{n:,}")


class Unpaid(Strict):
    when: Text = Field(description="SQL condition of a segment whose traffic carries no bid")
    meaning: str | None = None


class ActionText(Strict):
    """The recommended action of a row with this status and one of these primary leaks, with
    `{column}` and `{column:format}` placeholders; `unpaid_text` for unpaid traffic (no bid to fix)."""

    status: Ident
    leaks: Annotated[list[Ident], Field(min_length=1)]
    text: Text
    unpaid_text: Text | None = None


class RankBy(Strict):
    column: Ident
    order: Literal["asc", "desc"]
    values: Annotated[list[str], Field(min_length=1)] | None = Field(
        default=None, description="rank by the position of the column's value in this list")


class Comparison(Strict):
    columns: list[Ident]
    rule: str


class Priority(Strict):
    model: ModelName
    lookback: Ident
    all_label: Text
    flag_columns: Annotated[list[Ident], Field(min_length=1)]
    scopes: Annotated[list[Scope], Field(min_length=1)]
    expectation: Annotated[list[ExpectedSum], Field(min_length=1)]
    comparison: Comparison | None = None
    statuses: Annotated[list[Status], Field(min_length=1)]
    unpaid: Unpaid | None = None
    rank_by: Annotated[list[RankBy], Field(min_length=1)]
    leaks: Annotated[list[Leak], Field(min_length=1)]
    tie_order: str | None = None
    texts: Annotated[list[ActionText], Field(min_length=1)]


class Format(Strict):
    sql: Annotated[str, StringConstraints(pattern=r"\{value\}")]
    example: str | None = None


class MetricCatalog(Document):
    revision: Annotated[int, Field(ge=1)] | None = None
    segment: Segment
    labels: dict[str, Text]
    thresholds: Thresholds
    totals: Annotated[list[Total], Field(min_length=1)]
    measures: Annotated[list[Ident], Field(min_length=1)]
    baselines: Annotated[list[Baseline], Field(min_length=1)]
    metrics: Annotated[list[Metric], Field(min_length=1)]
    priority: Priority
    formats: dict[Ident, Format]
    out_of_scope: Annotated[list[Text], Field(min_length=1)] = Field(
        description="words that mark experiment, funnel, launch or bundle analysis in the IR or registry")

    @model_validator(mode="after")
    def _text_format(self) -> MetricCatalog:
        if "text" not in self.formats:
            raise ValueError("'text' is a required property of formats")
        return self


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


class JoinContracts(Document):
    joins: list[Join]


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


# -- what plan decides and apply records: target/plan.json, each built table's metadata ------------
class Record(BaseModel):
    """Frozen, no unknown keys; lenient on types so a record read back from JSON validates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_dict(self) -> dict[str, object]:
        return self.model_dump(mode="json", exclude_none=True)


class Dataset(Record):
    kind: Literal["files", "synthetic"]
    origin: Literal["option", "environment", "project", "synthetic"]
    path: str
    pending: bool = False


class Parts(Record):
    """What a model's fingerprint is made of."""

    sql: str
    contract: str
    upstream: dict[str, str]
    sources: dict[str, str]


Action = Literal["create", "rebuild", "unchanged", "skip"]


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


class ContractChange(Record):
    """One changed value of a contract since the published build: `op` is + added, - removed, ~ changed."""

    file: str
    pointer: str
    op: Literal["+", "-", "~"]
    old: JsonValue = None
    new: JsonValue = None


class SourceSummary(Record):
    table: str
    file: str
    exists: bool
    sha256: str
    rows: int | None


class Question(Record):
    """An open question of plan (LEAK-SPEC §9); RULES says what its code means."""

    id: str
    code: Code
    severity: Severity
    location: str  # file#/json/pointer or file:line
    question: str
    resolved_by: str | None = None

    @property
    def rule(self) -> Rule:
        return RULES[self.code]


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

    @property
    def blocking(self) -> list[Question]:
        return [a for a in self.ambiguities if a.severity == "blocking"]

    def to_dict(self, *, with_sql: bool = False) -> dict[str, object]:
        skip: set[str] = set() if with_sql else {"template", "sql", "parts"}
        return {**super().to_dict(), "contract_changes": None if self.contract_changes is None else
                [ch.to_dict() for ch in self.contract_changes],
                "models": [m.model_dump(mode="json", exclude_none=True, exclude=skip) for m in self.models]}


class BuildMeta(Record):
    """Stored as the comment of each built table, so it swaps atomically with the data."""

    fingerprint: str
    parts: Parts
    built_at: str
    plan: str
    dataset: Dataset
    template: str


DOCUMENTS: dict[str, type[Document]] = {
    "phase-plan": PhasePlan, "stage-ir": StageIR, "source-manifest": SourceManifest,
    "model-registry": ModelRegistry, "metric-catalog": MetricCatalog, "join-contracts": JoinContracts,
    "acceptance-tests": AcceptanceTests, "decisions": Decisions, "profile": Profile,
}
RECORDS: dict[str, type[BaseModel]] = {"plan": Plan}
SCHEMA_DIR = Path(__file__).parent / "schemas"


def json_schema(name: str) -> str:
    """The JSON Schema of one document kind, as written under leakcli/schemas/."""
    schema = {**DOCUMENTS, **RECORDS}[name].model_json_schema(by_alias=True)
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"leakcli:{name}", **schema}
    return json.dumps(schema, indent=1) + "\n"


if __name__ == "__main__":  # pragma: no cover - python -m leakcli.model rewrites the schemas
    for kind in {**DOCUMENTS, **RECORDS}:
        (SCHEMA_DIR / f"{kind}.schema.json").write_text(json_schema(kind), "utf-8")
