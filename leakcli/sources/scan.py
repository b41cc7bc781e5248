"""The per-file checks as DuckDB aggregates: rows, duplicate keys, and per column nulls, undeclared
null-like text, values outside accepted values and values a profile never saw; over a CSV read in
place, over a table already loaded, or read from a profile of the very same file."""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli.engine.connection import rows_as_dicts, rows_as_tuples
from leakcli.engine.load import Reject, first_reject, read_csv_sql
from leakcli.engine.sqltext import quote_ident
from leakcli.sources.facts import ColumnStats, Hits, TableStats, ValueCount

if TYPE_CHECKING:
    from leakcli.contracts.documents import Dialect, Profile, Table
    from leakcli.engine.connection import Connection

TOP_OFFENDERS = 5  # offending values a question lists
HISTOGRAM_LIMIT = 50_000  # distinct values of a loaded column counted in one histogram



@dataclass(frozen=True)
class Condition:
    key: str  # unique name of the aggregate
    column: str
    hit: str  # null_like | outside | new | out_of_range | below
    sql: str
    allowed: list[str] | None = None  # the values a column may hold ("outside", "new"), or its bounds


PLAIN_TEXT = ("VARCHAR", "BIGINT", "INTEGER", "SMALLINT", "TINYINT")  # histogram without a cast to text
RANGE = "range:"  # a key of the known values: a column's [low, high], from its profile with some slack


def _conditions(table: Table, null_like: list[str], known: dict[str, list[str]] | None,
                params: dict[str, object]) -> list[Condition]:
    """Every per-value check of a table as a SQL condition; its parameters are added to `params`."""
    found = []
    for i, col in enumerate(table.columns):
        ident = quote_ident(col.name)
        if col.type == "VARCHAR":
            params["null_like"] = null_like
            found.append(Condition(f"c{i}_null_like", col.name, "null_like",
                                   f"list_contains($null_like, lower(trim({ident})))"))
        for hit, values in (("outside", col.accepted_values), ("new", (known or {}).get(col.name))):
            if values is not None:
                allowed = params[f"{hit}{i}"] = [str(v) for v in values]
                sql = f"{ident} is not null and not list_contains(${hit}{i}, cast({ident} as varchar))"
                found.append(Condition(f"c{i}_{hit}", col.name, hit, sql, allowed))
        bounds = (known or {}).get(RANGE + col.name)
        if bounds is not None:  # far outside what its profile saw (1969, 9999): a question, not a window
            params[f"lo{i}"], params[f"hi{i}"] = bounds
            sql = f"{ident} < cast($lo{i} as {col.type}) or {ident} > cast($hi{i} as {col.type})"
            found.append(Condition(f"c{i}_out_of_range", col.name, "out_of_range", sql, list(bounds)))
        if col.minimum is not None:
            params[f"min{i}"] = str(col.minimum)
            found.append(Condition(f"c{i}_below", col.name, "below", f"{ident} < cast($min{i} as {col.type})",
                                   [str(col.minimum)]))
    return found


def table_stats(con: Connection, table: Table, relation: str, params: dict[str, object],
                null_like: list[str], known: dict[str, list[str]] | None,
                dialect: Dialect | None = None) -> TableStats | Reject:
    """Rows, duplicate keys, and per column nulls, undeclared null-like text, values outside accepted
    values and values a profile never saw, of `relation` (a loaded table, or a read_csv call whose
    parameters are `params`, with `dialect`). A second pass lists the offending values only when there
    are any. Reading a file, the first pass converts every column: a row that does not read ends the
    check there, with its Reject."""
    params = dict(params)
    pk = ", ".join(quote_ident(k) for k in table.primary_key)
    pk_expr = f"({pk})" if len(table.primary_key) > 1 else pk
    exprs = ["count(*) as n_rows", f"count(*) - count(distinct {pk_expr}) as n_dup_pk"]
    exprs += [f"count(*) - count({quote_ident(c.name)}) as c{i}_nulls" for i, c in enumerate(table.columns)]
    conditions = _conditions(table, null_like, known, params)
    exprs += [f"count_if({c.sql}) as {c.key}" for c in conditions]
    row = rows_as_dicts(con, f"select {', '.join(exprs)} from {relation}", _used(params, exprs, relation))[0]
    reject = first_reject(con, table, dialect.delimiter, str(params["path"])) if dialect is not None else None
    if reject is not None:
        return reject
    columns = {c.name: ColumnStats(nulls=as_int(row[f"c{i}_nulls"])) for i, c in enumerate(table.columns)}
    hits = [c for c in conditions if as_int(row[c.key])]
    values: dict[str, list[ValueCount]] = {}
    if hits:
        lists = [f"histogram(cast({quote_ident(c.column)} as varchar)) filter (where {c.sql}) as {c.key}"
                 for c in hits]
        found = rows_as_dicts(con, f"select {', '.join(lists)} from {relation}", _used(params, lists, relation))[0]
        for c in hits:
            counts = found[c.key]
            assert isinstance(counts, dict)
            values[c.key] = _top({str(k): as_int(v) for k, v in counts.items()})
    for c in conditions:
        setattr(columns[c.column], c.hit, Hits(count=as_int(row[c.key]), values=values.get(c.key, [])))
    return TableStats(rows=as_int(row["n_rows"]), dup_pk=as_int(row["n_dup_pk"]), columns=columns)


def loaded_table_stats(con: Connection, table: Table, relation: str, null_like: list[str],
                       known: dict[str, list[str]] | None) -> TableStats:
    """The stats of `table_stats` for a table just loaded. DuckDB's own statistics of it (each
    column's min and max, whether it holds a null, about how many distinct values) settle for free
    what they can: no nulls to count, no value below a minimum or outside a range. One pass does the
    rest: nulls, the key's distinct values (a bitmap of its range when it is an integer), a histogram
    of each checked column of few distinct values (checked here), the conditions of the others; a
    second pass lists offending values only when there are any."""
    seen = column_statistics(con, relation, [c.name for c in table.columns])
    params: dict[str, object] = {}
    conditions = [c for c in _conditions(table, null_like, known, params) if not _settled(c, seen.get(c.column))]
    checked = list(dict.fromkeys(c.column for c in conditions))
    few = {col for col in checked if as_int(seen.get(col, {}).get("approx_unique", HISTOGRAM_LIMIT + 1))
           <= HISTOGRAM_LIMIT}
    exprs = ["count(*) as n_rows"]
    exprs += [f"count(*) - count({quote_ident(c.name)}) as c{i}_nulls" for i, c in enumerate(table.columns)
              if seen.get(c.name, {}).get("has_null") is not False]
    plain = {c.name for c in table.columns if c.type in PLAIN_TEXT}  # str() of the value is DuckDB's text of it
    exprs += [f"histogram({quote_ident(col) if col in plain else f'cast({quote_ident(col)} as varchar)'}) as h{j}"
              for j, col in enumerate(checked) if col in few]
    many = [c for c in conditions if c.column not in few]
    exprs += [f"count_if({c.sql}) as {c.key}" for c in many]
    found = rows_as_dicts(con, f"select {', '.join(exprs)} from {relation}", _used(params, exprs, relation))[0]
    # the key on its own: beside histograms, DuckDB runs a bitmap aggregate many times slower
    (distinct,) = rows_as_tuples(con, f"select {_distinct_keys(table, seen)} from {relation}")[1][0]
    rows = as_int(found["n_rows"])
    columns = {c.name: ColumnStats(nulls=as_int(found.get(f"c{i}_nulls"))) for i, c in enumerate(table.columns)}
    for c in conditions:
        if c.column in few:
            histogram = found[f"h{checked.index(c.column)}"] or {}  # NULL for a table with no rows
            assert isinstance(histogram, dict)
            bad = {str(v): as_int(n) for v, n in histogram.items() if v is not None and _flags(c, str(v), null_like)}
            setattr(columns[c.column], c.hit, Hits(count=sum(bad.values()), values=_top(bad)))
    hits = [c for c in many if as_int(found[c.key])]
    for c in many:
        setattr(columns[c.column], c.hit, Hits(count=as_int(found[c.key])))
    if hits:
        lists = [f"histogram(cast({quote_ident(c.column)} as varchar)) filter (where {c.sql}) as {c.key}" for c in hits]
        offending = rows_as_dicts(con, f"select {', '.join(lists)} from {relation}", _used(params, lists, relation))[0]
        for c in hits:
            counts = offending[c.key]
            assert isinstance(counts, dict)
            getattr(columns[c.column], c.hit).values = _top({str(k): as_int(v) for k, v in counts.items()})
    return TableStats(rows=rows, dup_pk=rows - as_int(distinct), columns=columns)


def column_statistics(con: Connection, relation: str, names: list[str]) -> dict[str, dict[str, object]]:
    """What DuckDB keeps of each column of a table (stats(): min, max, has_null, approx_unique);
    nothing for a table with no rows or a column whose statistics cannot be read."""
    from leakcli.engine.connection import QueryError

    try:
        found = rows_as_tuples(con, f"select {', '.join(f'stats({quote_ident(n)})' for n in names)} "
                                    f"from {relation} limit 1")[1]
    except (QueryError, ValueError, OverflowError):  # a timestamp in year 10000 has no Python value
        return {}
    if not found:
        return {}
    return {n: v for n, v in zip(names, found[0], strict=True) if isinstance(v, dict)}


def _settled(c: Condition, seen: dict[str, object] | None) -> bool:
    """The column's statistics prove no value meets condition `c` (a minimum, a range)."""
    if seen is None:
        return False
    if seen.get("has_no_null") is False:
        return True  # nulls only: every condition is of the values a column holds
    if c.hit not in ("below", "out_of_range"):
        return False
    low, high = seen.get("min"), seen.get("max")
    lo, hi = (c.allowed or ["", ""]) if c.hit == "out_of_range" else ((c.allowed or ["0"])[0], None)
    try:
        if isinstance(low, (int, float, decimal.Decimal)) and not isinstance(low, bool):
            return float(low) >= float(lo) and (hi is None or float(str(high)) <= float(hi))
        if isinstance(low, (dt.date, dt.datetime)) and isinstance(high, (dt.date, dt.datetime)):
            kind = type(low)
            return low >= kind.fromisoformat(lo) and (hi is None or high <= kind.fromisoformat(hi))
    except (TypeError, ValueError):
        pass
    return False


def _distinct_keys(table: Table, seen: dict[str, dict[str, object]]) -> str:
    """The aggregate of the primary key's distinct values, as `n_distinct`."""
    pk = table.primary_key[0]
    integer = len(table.primary_key) == 1 and next(
        col.type for col in table.columns if col.name == pk) in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT")
    lo, hi = seen.get(pk, {}).get("min"), seen.get(pk, {}).get("max")
    if integer and isinstance(lo, int) and isinstance(hi, int) and hi - lo < max(
            8 * as_int(seen[pk].get("approx_unique")), 1 << 20):
        return f"bit_count(bitstring_agg({quote_ident(pk)}, {lo}, {hi})) as n_distinct"
    keys = ", ".join(quote_ident(k) for k in table.primary_key)
    return f"count(distinct {'(' + keys + ')' if len(table.primary_key) > 1 else keys}) as n_distinct"


def _flags(c: Condition, value: str, null_like: list[str]) -> bool:
    """What the SQL of condition `c` says of one non-null value."""
    if c.hit == "null_like":
        return value.strip(" ").lower() in null_like
    if c.hit == "below":
        return float(value) < float((c.allowed or ["0"])[0])
    if c.hit == "out_of_range":
        lo, hi = c.allowed or ["", ""]
        return value < lo or value > hi  # ISO timestamps and dates compare as text
    return value not in (c.allowed or [])


def _used(params: dict[str, object], exprs: list[str], relation: str) -> dict[str, object]:
    text = " ".join(exprs) + relation
    return {k: v for k, v in params.items() if f"${k}" in text}


def scan_file(con: Connection, table: Table, path: Path, dialect: Dialect, null_like: list[str],
              known: dict[str, list[str]] | None = None) -> TableStats | Reject:
    """The stats of a CSV file read in place; a row that does not read ends the check (its Reject)."""

    read, params = read_csv_sql(table, dialect)
    params["path"] = str(path)
    return table_stats(con, table, read, params, null_like, known, dialect)


def _within(low: object, high: object, lo: str, hi: str | None) -> bool:
    """A profile's [low, high] lies within [lo, hi] (hi None: no upper bound)."""
    try:
        if isinstance(low, (int, float)) and not isinstance(low, bool):
            return float(low) >= float(lo) and (hi is None or float(str(high)) <= float(hi))
        return str(low) >= lo and (hi is None or str(high) <= hi)
    except ValueError:
        return False


def as_int(value: object) -> int:
    return int(value) if isinstance(value, (int, float)) else 0


def _top(counts: dict[str, int]) -> list[ValueCount]:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_OFFENDERS]
    return [ValueCount(value=v, n=n) for v, n in ranked]


def stats_from_profile(table: Table, profile: Profile, null_like: list[str],
                       known: dict[str, list[str]] | None = None) -> TableStats | None:
    """The stats `table_stats` would compute, read from a profile of the very same file (same sha256)
    made under the same manifest columns and null tokens; None when the profile cannot tell."""
    cols = profile.columns
    if ([(c.name, c.type) for c in cols] != [(c.name, c.type) for c in table.columns]
            or profile.null_tokens != table.null_tokens or len(table.primary_key) != 1):
        return None
    by_name = {c.name: c for c in cols}
    n = profile.row_count
    columns = {c.name: ColumnStats(nulls=c.null_count) for c in cols}
    for cond in _conditions(table, null_like, known, {}):
        col = by_name[cond.column]
        if cond.hit in ("out_of_range", "below"):  # told by the profile's own min and max
            lo, hi = (cond.allowed or ["", ""]) if cond.hit == "out_of_range" else ((cond.allowed or ["0"])[0], None)
            if col.min is None or not _within(col.min, col.max, lo, hi):
                return None
            continue
        if col.distinct_count != len(col.top_values):
            return None  # the profile does not list every value of this column
        values = {str(v.value): v.count for v in col.top_values}
        if cond.hit == "null_like":
            bad = {v: k for v, k in values.items() if v.strip().lower() in null_like}
        else:
            bad = {v: k for v, k in values.items() if v not in (cond.allowed or [])}
        setattr(columns[cond.column], cond.hit, Hits(count=sum(bad.values()), values=_top(bad)))
    return TableStats(rows=n, dup_pk=n - by_name[table.primary_key[0]].distinct_count, columns=columns)
