"""Data checks of `plan`: each source file against the manifest (LEAK-SPEC §9).

Checks headers, undeclared null-like text, values that do not parse as their declared type (the
first one, with its line, from DuckDB's rejects table), nulls in non-null columns, values outside
accepted values (with counts), duplicate primary keys, values a profile never saw, and the manifest's
cross-file `relations`. One typed DuckDB scan per file (a second one lists offending values when there
are any); none at all for a file whose sha256 matches its committed profile, whose figures then answer
every check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli.ambiguity import Code, Questions
from leakcli.contracts import MANIFEST, Contracts
from leakcli.engine import Reject, file_sha256, first_reject, header_problem, read_header, rows_as_dicts
from leakcli.sql import quote_ident

if TYPE_CHECKING:
    from collections.abc import Callable

    from duckdb import DuckDBPyConnection

    from leakcli.model import Dialect, Profile, Table

TOP_OFFENDERS = 5  # offending values a question lists
HITS = ("null_like", "outside", "new")


@dataclass(frozen=True)
class ValueCount:
    value: str
    n: int

    def __str__(self) -> str:
        return f"{self.value!r} ({self.n})"


@dataclass
class Hits:
    """Rows of a column that a check flags, and the most common of their values."""

    count: int = 0
    values: list[ValueCount] = field(default_factory=list)


@dataclass
class ColumnStats:
    nulls: int = 0
    null_like: Hits = field(default_factory=Hits)  # undeclared null-like text (text columns)
    outside: Hits = field(default_factory=Hits)  # values outside the accepted values
    new: Hits = field(default_factory=Hits)  # values the profile never saw


@dataclass
class TableStats:
    rows: int
    dup_pk: int
    columns: dict[str, ColumnStats]


@dataclass
class SourceFacts:
    table: str
    file: str
    exists: bool
    sha256: str = ""
    rows: int | None = None
    columns: dict[str, ColumnStats] = field(default_factory=dict)


@dataclass(frozen=True)
class Condition:
    key: str  # unique name of the aggregate
    column: str
    hit: str  # one of HITS
    sql: str
    allowed: list[str] | None = None  # the values a column may hold, for "outside" and "new"


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
    return found


def scan_table(con: DuckDBPyConnection, table: Table, path: Path, dialect: Dialect, null_like: list[str],
               known: dict[str, list[str]] | None = None) -> TableStats | Reject:
    """A typed aggregate scan: rows, duplicate keys, and per column nulls, undeclared null-like text
    (text columns; in typed columns it fails the read), values outside accepted values and values a
    profile never saw. A second scan lists the offending values only when there are any. A row that
    does not read ends the check: its Reject is returned."""
    from leakcli.engine import read_csv_sql

    read, params = read_csv_sql(table, dialect)
    params["path"] = str(path)
    pk = ", ".join(quote_ident(k) for k in table.primary_key)
    pk_expr = f"({pk})" if len(table.primary_key) > 1 else pk
    exprs = ["count(*) as n_rows", f"count(*) - count(distinct {pk_expr}) as n_dup_pk"]
    exprs += [f"count(*) - count({quote_ident(c.name)}) as c{i}_nulls" for i, c in enumerate(table.columns)]
    conditions = _conditions(table, null_like, known, params)
    exprs += [f"count_if({c.sql}) as {c.key}" for c in conditions]
    row = rows_as_dicts(con, f"select {', '.join(exprs)} from {read}", params)[0]
    reject = first_reject(con, table, dialect.delimiter)
    if reject is not None:
        return reject
    stats = TableStats(int(_n(row["n_rows"])), int(_n(row["n_dup_pk"])),
                       {c.name: ColumnStats(nulls=int(_n(row[f"c{i}_nulls"]))) for i, c in enumerate(table.columns)})
    hits = [c for c in conditions if row[c.key]]
    for c in conditions:
        setattr(stats.columns[c.column], c.hit, Hits(int(_n(row[c.key]))))
    if hits:
        lists = ", ".join(f"histogram(cast({quote_ident(c.column)} as varchar)) filter (where {c.sql}) as {c.key}"
                          for c in hits)
        used = {k: v for k, v in params.items() if k in ("path", "columns", "delim", "quote", "escape",
                                                         "tsformat", "nulls") or f"${k}" in lists}
        found = rows_as_dicts(con, f"select {lists} from {read}", used)[0]
        for c in hits:
            counts = found[c.key]
            assert isinstance(counts, dict)
            getattr(stats.columns[c.column], c.hit).values = _top({str(k): int(_n(v)) for k, v in counts.items()})
    return stats


def _n(value: object) -> int:
    return int(value) if isinstance(value, (int, float)) else 0


def _top(counts: dict[str, int]) -> list[ValueCount]:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_OFFENDERS]
    return [ValueCount(v, n) for v, n in ranked]


def stats_from_profile(table: Table, profile: Profile, null_like: list[str],
                       known: dict[str, list[str]] | None = None) -> TableStats | None:
    """The stats `scan_table` would compute, read from a profile of the very same file (same sha256)
    made under the same manifest columns and null tokens; None when the profile cannot tell."""
    cols = profile.columns
    if ([(c.name, c.type) for c in cols] != [(c.name, c.type) for c in table.columns]
            or profile.null_tokens != table.null_tokens or len(table.primary_key) != 1):
        return None
    by_name = {c.name: c for c in cols}
    n = profile.row_count
    stats = TableStats(n, n - by_name[table.primary_key[0]].distinct_count,
                       {c.name: ColumnStats(nulls=c.null_count) for c in cols})
    params: dict[str, object] = {}
    for cond in _conditions(table, null_like, known, params):
        col = by_name[cond.column]
        if col.distinct_count != len(col.top_values):
            return None  # the profile does not list every value of this column
        values = {str(v.value): v.count for v in col.top_values}
        if cond.hit == "null_like":
            bad = {v: n for v, n in values.items() if v.strip().lower() in null_like}
        else:
            bad = {v: n for v, n in values.items() if v not in (cond.allowed or [])}
        setattr(stats.columns[cond.column], cond.hit, Hits(sum(bad.values()), _top(bad)))
    return stats


def check_sources(c: Contracts, data_dir: Path, tables: list[str], q: Questions,
                  display: Callable[[Path], str], *, expect_missing: bool = False,
                  known: dict[str, dict[str, list[str]]] | None = None,
                  profiles: dict[str, Profile] | None = None) -> dict[str, SourceFacts]:
    """Check the source files of `tables`; return what was learnt of each."""
    from leakcli.engine import connect

    dialect = c.manifest.dialect
    null_like = c.manifest.checks.null_like
    facts: dict[str, SourceFacts] = {}
    con = connect()
    for name in tables:
        table = c.tables[name]
        loc = f"{MANIFEST}#/tables/{list(c.tables).index(name)}"
        path = data_dir / table.file
        shown = display(path)
        if not path.is_file():
            facts[name] = SourceFacts(name, shown, False)
            if not expect_missing:
                q.ask(Code.MISSING_FILE, shown,
                      f"Required source file '{table.file}' of table '{name}' is missing from "
                      f"{display(data_dir)}: where is it?")
            continue
        fact = facts[name] = SourceFacts(name, shown, True, sha256=file_sha256(path))
        expected = [col.name for col in table.columns]
        found = read_header(path, dialect.delimiter)
        if found != expected:
            q.ask(Code.HEADER_MISMATCH, f"{shown}:1",
                  f"{header_problem(found, expected)} ({loc}/columns): is the file or the manifest right?")
            continue
        profile = (profiles or {}).get(name)
        stats: TableStats | Reject | None = None
        if profile is not None and profile.sha256 == fact.sha256:
            stats = stats_from_profile(table, profile, null_like, (known or {}).get(name))
        stats = stats or scan_table(con, table, path, dialect, null_like, (known or {}).get(name))
        if isinstance(stats, Reject):
            _ask_reject(stats, name, shown, loc, null_like, q)
            continue
        fact.rows, fact.columns = stats.rows, stats.columns
        _ask_table(stats, table, shown, loc, q)
    con.close()
    return facts


def _ask_reject(reject: Reject, name: str, shown: str, loc: str, null_like: list[str], q: Questions) -> None:
    where = f"{shown}:{reject.line}"
    if reject.value is not None and reject.value.strip().lower() in null_like:
        q.ask(Code.UNDECLARED_NULL_TOKEN, where,
              f"Column {name}.{reject.column} holds the null-like text {reject.value!r}, which "
              f"{loc}/null_tokens does not declare: is it a missing value (add it to null_tokens) or "
              f"should the data be fixed?")
    else:
        q.ask(Code.BAD_VALUE, where, f"{reject.problem}: fix the file, or is the manifest wrong ({loc}/columns)?")


def _ask_table(stats: TableStats, table: Table, shown: str, loc: str, q: Questions) -> None:
    if not stats.rows:
        if table.allow_empty:
            q.ask(Code.EMPTY_SOURCE, f"{shown}:1", severity="warning",
                  question=f"'{table.file}' has a header but no rows: is the export complete?")
        else:
            q.ask(Code.EMPTY_SOURCE, f"{shown}:1", severity="blocking",
                  question=f"'{table.file}' has a header but no rows, and {loc}/allow_empty does not "
                           f"allow it: is the export complete?")
    if stats.dup_pk:
        q.ask(Code.DUPLICATE_KEY, shown,
              f"{stats.dup_pk} rows of '{table.file}' repeat a primary key "
              f"({', '.join(table.primary_key)}, {loc}/primary_key): which row is right?")
    for i, col in enumerate(table.columns):
        cl, cname, seen = f"{loc}/columns/{i}", f"{table.name}.{col.name}", stats.columns[col.name]
        if seen.null_like.count:
            q.ask(Code.UNDECLARED_NULL_TOKEN, shown,
                  f"Column {cname} holds {seen.null_like.count} null-like value(s) "
                  f"({', '.join(map(str, seen.null_like.values))}) that {loc}/null_tokens does not declare: "
                  f"are they missing values (add them to null_tokens) or real values?")
        if not col.nullable and seen.nulls:
            q.ask(Code.UNEXPECTED_NULL, shown,
                  f"Column {cname} is declared not null ({cl}/nullable) but holds {seen.nulls} null(s): "
                  f"what should they become?")
        if seen.outside.count:
            q.ask(Code.UNACCEPTED_VALUE, shown, severity=col.accepted_values_severity,
                  question=f"Column {cname} holds {seen.outside.count} value(s) outside its accepted values "
                           f"({cl}/accepted_values): {', '.join(map(str, seen.outside.values))}. "
                           f"Accept them or fix the data?")


def check_relations(c: Contracts, data_dir: Path, facts: dict[str, SourceFacts], q: Questions,
                    display: Callable[[Path], str]) -> None:
    """Cross-file rules of the manifest (`relations`), e.g. refunds never exceed their order."""
    import duckdb

    from leakcli.engine import connect, one_row, read_csv_sql

    dialect = c.manifest.dialect
    for ri, rel in enumerate(c.manifest.relations):
        child, parent = rel.child, rel.parent
        if any(facts.get(s.table) is None or facts[s.table].rows is None for s in (child, parent)):
            continue  # a file is missing or unreadable: asked about already
        params: dict[str, object] = {}
        reads = {}
        for side, spec in (("c", child), ("p", parent)):
            call, p = read_csv_sql(c.tables[spec.table], dialect, rejects=False)
            for k, v in p.items():
                params[f"{side}_{k}"] = v
                call = call.replace(f"${k}", f"${side}_{k}")
            params[f"{side}_path"] = str(data_dir / c.tables[spec.table].file)
            reads[side] = call.replace("$path", f"${side}_path")
        keys = ", ".join(quote_ident(k) for k in child.key)
        on = " and ".join(f"ch.{quote_ident(a)} = pa.{quote_ident(b)}"
                          for a, b in zip(child.key, parent.key, strict=True))
        sql = (f"with ch as (select {keys}, sum({quote_ident(child.value)}) as total, min(line) as line "
               f"from (select *, row_number() over () + 1 as line from {reads['c']}) group by {keys}) "
               f"select count(*), min(ch.line), arg_min(ch.total, ch.line), "
               f"arg_min(pa.{quote_ident(parent.value)}, ch.line) "
               f"from ch join {reads['p']} as pa on {on} where ch.total > pa.{quote_ident(parent.value)}")
        con = connect()
        try:
            n, line, total, limit = one_row(con, sql, params)
        except duckdb.Error:
            continue  # the per-file checks report unreadable files
        finally:
            con.close()
        if n:
            shown = display(data_dir / c.tables[child.table].file)
            q.ask(Code.RELATION, f"{shown}:{line}", severity=rel.severity, question=
                  f"{n} {parent.table} row(s) have {child.table} adding up to more than their "
                  f"{parent.value} (first at line {line}: {total} > {limit}; "
                  f"{MANIFEST}#/relations/{ri}): which amount is right?")

