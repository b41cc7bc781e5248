"""The typed model of contracts/metric-catalog.json: segment keys, labels, thresholds, totals,
measures, baselines, metric formulas, the priority rule (scopes, expected sums, statuses, rank order,
leaks, action texts), the number formats of the texts, and the words of the report (how sure a gap
is, what to look at first, short labels)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, ValidationInfo, field_validator, model_validator

from leakcli.contracts.base import Document, Ident, ModelName, SqlType, Strict, Text

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")  # {name} in a text of the catalog


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


class Confidence(Strict):
    """How sure a gap is, in words, from its q-value (the report shows them beside z and q)."""

    q_at_most_times_fdr: Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)] | None = Field(
        description="the words hold when q_value is at most this many times thresholds.false_discovery_rate "
                    "(and above the level before); none: above every other level (the last level)")
    words: Text
    meaning: Text = Field(description="what a reader does with a gap this sure")


class LookFirst(Strict):
    """What an owner looks at first for an action of this primary leak ("the page or the bid" made one
    choice), with `{column}` placeholders of the priority mart's columns, filled as they are (no
    format); `unpaid_text` for unpaid traffic."""

    leak: Ident = Field(description="a leak of priority.leaks or a scope's primary_leak")
    text: Text
    unpaid_text: Text | None = None

    @field_validator("text", "unpaid_text")
    @classmethod
    def _plain_placeholders(cls, text: str | None) -> str | None:
        for name in PLACEHOLDER.findall(text or ""):
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(f"'{{{name}}}' is not a column's name (a look_first text takes no format)")
        return text


class ShortLabel(Strict):
    """A segment value shown shorter where space is scarce (chart labels, the actions table)."""

    value: Text
    short: Text
    meaning: Text = Field(description="what the value means, said once in the page's legend")



class Report(Strict):
    """The words of `leakcli report` for the people who act on it: how sure each gap is (levels by q,
    in multiples of the false-discovery rate, ascending; one level ends at the rate itself, so the
    words never disagree with the status), what to look at first per primary leak, short labels."""

    confidence: Annotated[list[Confidence], Field(min_length=2)]
    look_first: Annotated[list[LookFirst], Field(min_length=1)]
    short_labels: list[ShortLabel] = []

    @field_validator("confidence")
    @classmethod
    def _ascending(cls, levels: list[Confidence]) -> list[Confidence]:
        bounds = [c.q_at_most_times_fdr for c in levels]
        if bounds[-1] is not None or None in bounds[:-1]:
            raise ValueError("only the last level has no q_at_most_times_fdr (it holds above every other)")
        shown = [b for b in bounds if b is not None]
        if any(a >= b for a, b in zip(shown, shown[1:], strict=False)):
            raise ValueError("q_at_most_times_fdr must rise from one level to the next")
        if 1 not in shown:
            raise ValueError("one level must end at the false-discovery rate itself (q_at_most_times_fdr 1), "
                             "so the words agree with the status")
        return levels

    @field_validator("confidence")
    @classmethod
    def _meaning_placeholders(cls, levels: list[Confidence]) -> list[Confidence]:
        for i, c in enumerate(levels):
            for name in PLACEHOLDER.findall(c.meaning):
                if name not in ("q", "share"):
                    raise ValueError(f"confidence/{i}/meaning: '{{{name}}}' is neither {{q}} (the level's bound "
                                     f"of q) nor {{share}} (the same as a percentage)")
        return levels

    @field_validator("short_labels")
    @classmethod
    def _distinct(cls, labels: list[ShortLabel]) -> list[ShortLabel]:
        for what in ("value", "short"):
            seen = [getattr(x, what) for x in labels]
            if len(set(seen)) != len(seen):
                raise ValueError(f"two short labels have the same {what}")
        return labels


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
    report: Report | None = Field(default=None, description="the words of `leakcli report`")

    @field_validator("report")
    @classmethod
    def _report_names_every_primary_leak(cls, report: Report | None, info: ValidationInfo) -> Report | None:
        """Every primary leak has exactly one look_first (plan checks the columns its texts name)."""
        priority = info.data.get("priority")
        if report is None or not isinstance(priority, Priority):
            return report
        leaks = [leak.name for leak in priority.leaks] + [s.primary_leak for s in priority.scopes if s.primary_leak]
        named = [f.leak for f in report.look_first]
        for i, leak in enumerate(named):
            if leak not in leaks:
                raise ValueError(f"look_first/{i}/leak: '{leak}' is not a primary leak ({', '.join(leaks)})")
            if named.index(leak) != i:
                raise ValueError(f"look_first/{i}/leak: '{leak}' has a look_first already")
        if missing := [leak for leak in leaks if leak not in named]:
            raise ValueError(f"look_first: no entry for the primary leak '{missing[0]}'")
        return report

    @model_validator(mode="after")
    def _text_format(self) -> MetricCatalog:
        if "text" not in self.formats:
            raise ValueError("'text' is a required property of formats")
        return self
