"""The typed model of contracts/unit-tests.json (LEAK-SPEC §12): a model's rule pinned on a few
hand-written rows. Each test gives rows for every input of one model (its refs, and for a staging
model its source table), optionally overrides catalog thresholds and labels (`vars`) or checks one
CTE of the template instead of its final SELECT (`cte`), and lists the rows it expects, in only the
columns it checks. What a test means against the other contracts (inputs, columns, types) is checked
by plan (plan/unittests.py); `leakcli test` and apply run them (commands/unitrun.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from leakcli.contracts.base import Document, Ident, ModelName, Scalar, Strict, Text

Value = Scalar | None  # a cell as JSON writes it: text, number, true/false or null
Row = dict[Ident, Value]


class GivenInput(Strict):
    """The rows of one input: `rows` (objects, a column left out is NULL) or `csv` (a header line, then
    one line per row; an empty field, or for a source table one of its null tokens, is NULL)."""

    rows: list[Row] | None = None
    csv: Text | None = None

    @model_validator(mode="after")
    def _one_form(self) -> GivenInput:
        if (self.rows is None) == (self.csv is None):
            raise ValueError("give either 'rows' or 'csv'")
        return self


class Expect(Strict):
    """The rows the model (or its CTE) returns, in the columns they name (every row names the same
    columns); compared as a multiset unless `ordered`. DECIMAL, integers, text, dates and booleans
    compare exactly; DOUBLE within `tolerance`, relative (near 0: within 1e-12 absolute)."""

    rows: list[Row]
    ordered: bool = Field(default=False, description="compare in order (the model's ORDER BY)")
    tolerance: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] = Field(
        default=1e-9, description="relative tolerance of DOUBLE values")


class UnitTest(Strict):
    id: Annotated[str, StringConstraints(pattern=r"^UT-[0-9]{2,}$")]
    model: ModelName
    description: Text = Field(description="the rule the test pins, in words")
    decision: Annotated[str, StringConstraints(pattern=r"^D-[0-9]{2,}$")] | None = Field(
        default=None, description="the decision of contracts/decisions.json the test pins")
    given: Annotated[dict[Ident, GivenInput], Field(min_length=1)] = Field(
        description="rows of every input: each model the template ref()s, and a staging model's source table")
    vars: dict[Ident, Scalar] = Field(default={}, description="catalog thresholds and labels for this test only")
    cte: Ident | None = Field(default=None, description="check this CTE of the template, not its final SELECT")
    expect: Expect


class UnitTests(Document):
    tests: list[UnitTest]
