"""How a unit test's expected rows are compared with what the model returned (LEAK-SPEC §12), and the
difference as a person reads it: rows missing, rows unexpected, and for rows that match on their key
the cells that differ, with the expected and the actual value.

Values compare by the type the model returned, never by casting the expected value to it (so a
precision the model loses shows): integers and DECIMAL exactly (12.345 is not 12.35), DOUBLE within
a relative tolerance (or 1e-12 of each other near 0), text, dates, timestamps and booleans exactly,
NULL only with null. Rows compare as a multiset (a repeated row must be returned as often), or in
order when the test says so."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from leakcli.jsonout import jsonable

ABSOLUTE = 1e-12  # DOUBLE values this close are equal whatever their size (rounding noise around 0)


@dataclass(frozen=True)
class Cell:
    column: str
    expected: object
    actual: object


@dataclass(frozen=True)
class Changed:
    """A row expected and a row returned that match on `key` (and, in order, sit at `position`) but
    differ in `cells`."""

    key: dict[str, object]
    cells: list[Cell]
    position: int | None = None


@dataclass
class Difference:
    missing: list[dict[str, object]] = field(default_factory=list)
    unexpected: list[dict[str, object]] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)

    @property
    def none(self) -> bool:
        return not (self.missing or self.unexpected or self.changed)

    def summary(self) -> str:
        """`1 row differs (landing_page); 1 missing; 2 unexpected`."""
        parts = []
        if self.changed:
            cols = list(dict.fromkeys(c.column for ch in self.changed for c in ch.cells))
            parts.append(f"{len(self.changed)} row{'s' if len(self.changed) > 1 else ''} "
                         f"differ{'' if len(self.changed) > 1 else 's'} ({', '.join(cols)})")
        if self.missing:
            parts.append(f"{len(self.missing)} missing")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} unexpected")
        return "; ".join(parts)


def same(actual: object, expected: object, tolerance: float) -> bool:
    """Whether a returned value is the expected one (see the module's docstring)."""
    if actual is None or expected is None:
        return actual is None and expected is None
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    if isinstance(actual, float):
        if not isinstance(expected, (int, float)):
            return False
        if math.isnan(actual) or math.isnan(expected):
            return math.isnan(actual) and math.isnan(expected)
        return abs(actual - expected) <= max(tolerance * max(abs(actual), abs(expected)), ABSOLUTE)
    if isinstance(actual, (int, decimal.Decimal)):
        return _exact(expected) == actual
    if isinstance(actual, dt.datetime):
        return isinstance(expected, str) and _timestamp(expected) == actual
    if isinstance(actual, dt.date):
        return isinstance(expected, str) and expected == actual.isoformat()
    if isinstance(actual, str):
        return isinstance(expected, str) and actual == expected
    return jsonable(actual) == expected


def _exact(value: object) -> decimal.Decimal | None:
    """A number written in the test as an exact decimal (the float's shortest text: 49.99, not its binary value)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return decimal.Decimal(repr(value) if isinstance(value, float) else str(value))
    except decimal.InvalidOperation:
        return None


def _timestamp(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def compare(expected: Sequence[dict[str, object]], columns: Sequence[str], actual: Sequence[dict[str, object]],
            keys: Sequence[str], *, ordered: bool = False, tolerance: float = 1e-9) -> Difference:
    """The difference between the expected rows and the rows returned, in the expected `columns`;
    rows unmatched on both sides that agree on `keys` are shown as one changed row."""
    def equal(a: dict[str, object], e: dict[str, object], cols: Sequence[str] = columns) -> bool:
        return all(same(a.get(c), e.get(c), tolerance) for c in cols)

    def cells(a: dict[str, object], e: dict[str, object]) -> list[Cell]:
        return [Cell(c, e.get(c), a.get(c)) for c in columns if not same(a.get(c), e.get(c), tolerance)]

    diff = Difference()
    projected = [{c: row.get(c) for c in columns} for row in actual]
    if ordered:
        for i, (a, e) in enumerate(zip(projected, expected, strict=False)):
            if not equal(a, e):
                diff.changed.append(Changed({k: e.get(k) for k in keys}, cells(a, e), position=i + 1))
        diff.missing = [dict(e) for e in expected[len(projected):]]
        diff.unexpected = projected[len(expected):]
        return diff
    left = list(projected)
    missing: list[dict[str, object]] = []
    for e in expected:
        hit = next((j for j, a in enumerate(left) if equal(a, e)), None)
        if hit is None:
            missing.append(dict(e))
        else:
            left.pop(hit)
    if keys:  # pair what is left on the key: one row that differs, not a row missing and one unexpected
        for e in list(missing):
            hit = next((j for j, a in enumerate(left) if equal(a, e, keys)), None)
            if hit is not None:
                diff.changed.append(Changed({k: e.get(k) for k in keys}, cells(left.pop(hit), e)))
                missing.remove(e)
    diff.missing, diff.unexpected = missing, left
    return diff
