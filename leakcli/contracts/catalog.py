"""The typed model of contracts/metric-catalog.json: segment keys, labels, thresholds, totals,
measures, baselines, metric formulas, the priority rule (scopes, expected sums, statuses, rank order,
leaks, action texts) and the number formats of the texts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, ValidationInfo, field_validator, model_validator

from leakcli.contracts.base import Document, Ident, ModelName, SqlType, Strict, Text


# -- contracts/metric-catalog.json ----------------------------------------------------------------
class Segment(Strict):
    keys: Annotated[list[Ident], Field(min_length=1)]
    time_grain: Literal["month"]
    time_column: Ident
    requires_decision: Text | None = None


Count = Annotated[int, Field(ge=1, le=1_000_000_000)]  # a whole number of sessions, orders, months, rows
Share = Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)]  # strictly between 0 and 1


class Thresholds(Strict):
    """The numbers of the rules, each validated by what it means: counts are whole numbers of at least
    1, an index below which a segment is "low" lies between 0 and 1, a drag above 1, a rate between
    0 and 1, and the months a segment must have run, or the recent months, lie within the window."""

    min_sessions: Count = Field(description="a segment-month is flagged only with at least this many sessions")
    min_orders: Count = Field(description="a refund drag is flagged only with at least this many orders")
    low_conversion_index: Share = Field(description="conversion below this share of the device's is low")
    weak_net_revenue_index: Share = Field(description="net revenue per session below this share of the "
                                                      "device's is weak")
    high_refund_index: Annotated[float, Field(gt=1, le=1000, allow_inf_nan=False)] = Field(
        description="a refund rate above this multiple of the device's is a drag")
    priority_lookback_months: Annotated[int, Field(ge=1, le=1200)] = Field(
        description="the window: the latest this many months present in the summary")
    top_actions: Annotated[int, Field(ge=1, le=10_000)] = Field(description="rows of the priority list apply prints")
    false_discovery_rate: Share = Field(
        description="Benjamini-Hochberg level: an action whose q_value is at most this is significant")
    live_months: Annotated[int, Field(ge=1, le=1200)] = Field(
        description="a segment is live when it had sessions in the last this many months of the window")
    recent_months: Annotated[int, Field(ge=1, le=1200)] = Field(
        description="the recent test of every candidate runs over the last this many months of the window "
                    "(at most priority_lookback_months)")

    @field_validator("recent_months")
    @classmethod
    def _within_the_window(cls, value: int, info: ValidationInfo) -> int:
        lookback = info.data.get("priority_lookback_months")
        if isinstance(lookback, int) and value > lookback:
            raise ValueError(f"must be at most priority_lookback_months ({lookback})")
        return value


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
    when: Text | None = Field(
        default=None, description="SQL condition: rank by this column only the rows where it holds (the "
                                  "others have no value for this term and come after)")


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
