"""Data checks: each source file against the manifest (LEAK-SPEC §9).

Checks headers, undeclared null-like text, values that do not parse as their declared type (the
first one, with its line, from DuckDB's rejects table), nulls in non-null columns, values outside
accepted values (with counts), duplicate primary keys, values a profile never saw, and the manifest's
cross-file `relations`.

What a check learns of a file is kept in target/.cache/sources.json (cache.py), keyed by the file's
identity: when nothing changed, plan reads no data at all. Otherwise plan scans the file (one typed
DuckDB pass; a second lists offending values when there are any), and apply, which loads every file
it builds from anyway, computes the same checks from the loaded table instead of reading it twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from leakcli.ambiguity import Code, Questions
from leakcli.contracts import MANIFEST, Contracts
from leakcli.engine import Reject, first_reject, header_problem, read_header, rows_as_dicts
from leakcli.progress import phase
from leakcli.sql import quote_ident

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

    from leakcli.cache import SourceCache
    from leakcli.model import Dialect, Profile, Relation, Table

TOP_OFFENDERS = 5  # offending values a question lists
HISTOGRAM_LIMIT = 50_000  # distinct values of a loaded column counted in one histogram


class ValueCount(BaseModel):
    value: str
    n: int

    def __str__(self) -> str:
        return f"{self.value!r} ({self.n})"


class Hits(BaseModel):
    """Rows of a column that a check flags, and the most common of their values."""

    count: int = 0
    values: list[ValueCount] = []


class ColumnStats(BaseModel):
    nulls: int = 0
    null_like: Hits = Hits()  # undeclared null-like text (text columns)
    outside: Hits = Hits()  # values outside the accepted values
    new: Hits = Hits()  # values the profile never saw


class RelationResult(BaseModel):
    """A relation checked on a child file: how many parent rows break it, the first line, its figures."""

    parent_sha256: str
    n: int
    line: int
    total: str
    limit: str


class TableStats(BaseModel):
    rows: int
    dup_pk: int
    columns: dict[str, ColumnStats]


@dataclass
class SourceFacts:
    """What the checks know of one source file."""

    table: str
    file: str  # as shown to the user
    path: Path
    exists: bool
    sha256: str = ""
    identity: tuple[int, ...] = ()
    stats: TableStats | None = None
    reject: Reject | None = None
    deferred: bool = False  # apply computes the stats from the loaded table
    relations: dict[str, RelationResult] = field(default_factory=dict)  # of the relations it is the child of

    @property
    def rows(self) -> int | None:
        return self.stats.rows if self.stats else None


@dataclass(frozen=True)
class Condition:
    key: str  # unique name of the aggregate
    column: str
    hit: str  # null_like | outside | new
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


def table_stats(con: DuckDBPyConnection, table: Table, relation: str, params: dict[str, object],
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
    reject = first_reject(con, table, dialect.delimiter) if dialect is not None else None
    if reject is not None:
        return reject
    columns = {c.name: ColumnStats(nulls=_n(row[f"c{i}_nulls"])) for i, c in enumerate(table.columns)}
    hits = [c for c in conditions if _n(row[c.key])]
    values: dict[str, list[ValueCount]] = {}
    if hits:
        lists = [f"histogram(cast({quote_ident(c.column)} as varchar)) filter (where {c.sql}) as {c.key}"
                 for c in hits]
        found = rows_as_dicts(con, f"select {', '.join(lists)} from {relation}", _used(params, lists, relation))[0]
        for c in hits:
            counts = found[c.key]
            assert isinstance(counts, dict)
            values[c.key] = _top({str(k): _n(v) for k, v in counts.items()})
    for c in conditions:
        setattr(columns[c.column], c.hit, Hits(count=_n(row[c.key]), values=values.get(c.key, [])))
    return TableStats(rows=_n(row["n_rows"]), dup_pk=_n(row["n_dup_pk"]), columns=columns)


def loaded_table_stats(con: DuckDBPyConnection, table: Table, relation: str, null_like: list[str],
                       known: dict[str, list[str]] | None) -> TableStats:
    """The stats of `table_stats` for a table already loaded, where a pass costs little and a
    distinct count much: an integer key is checked with a bitmap of its range, and the values of a
    column of few distinct values are counted once (a histogram) and checked here."""
    conditions = _conditions(table, null_like, known, {})
    checked = list(dict.fromkeys(c.column for c in conditions))
    pk = table.primary_key[0]
    integer_key = len(table.primary_key) == 1 and next(
        col.type for col in table.columns if col.name == pk) in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT")
    first = ["count(*) as n_rows"]
    first += [f"count(*) - count({quote_ident(c.name)}) as c{i}_nulls" for i, c in enumerate(table.columns)]
    first += [f"approx_count_distinct({quote_ident(col)}) as d{j}" for j, col in enumerate(checked)]
    if integer_key:
        first += [f"min({quote_ident(pk)}) as pk_min", f"max({quote_ident(pk)}) as pk_max"]
    row = rows_as_dicts(con, f"select {', '.join(first)} from {relation}")[0]
    rows, lo, hi = _n(row["n_rows"]), row.get("pk_min"), row.get("pk_max")
    second: list[str] = []
    if integer_key and isinstance(lo, int) and isinstance(hi, int) and hi - lo < max(8 * rows, 1 << 20):
        second.append(f"bit_count(bitstring_agg({quote_ident(pk)}, {lo}, {hi})) as n_distinct")
    else:
        keys = ", ".join(quote_ident(k) for k in table.primary_key)
        second.append(f"count(distinct {'(' + keys + ')' if len(table.primary_key) > 1 else keys}) as n_distinct")
    few = {col for j, col in enumerate(checked) if _n(row[f"d{j}"]) <= HISTOGRAM_LIMIT}
    second += [f"histogram(cast({quote_ident(col)} as varchar)) as h{j}" for j, col in enumerate(checked)
               if col in few]
    params: dict[str, object] = {}
    many = [c for c in _conditions(table, null_like, known, params) if c.column not in few]
    second += [f"count_if({c.sql}) as {c.key}" for c in many]
    found = rows_as_dicts(con, f"select {', '.join(second)} from {relation}", _used(params, second, relation))[0]
    columns = {c.name: ColumnStats(nulls=_n(row[f"c{i}_nulls"])) for i, c in enumerate(table.columns)}
    for c in conditions:
        if c.column in few:
            histogram = found[f"h{checked.index(c.column)}"] or {}  # NULL for a table with no rows
            assert isinstance(histogram, dict)
            bad = {str(v): _n(n) for v, n in histogram.items() if v is not None and _flags(c, str(v), null_like)}
            setattr(columns[c.column], c.hit, Hits(count=sum(bad.values()), values=_top(bad)))
    hits = [c for c in many if _n(found[c.key])]
    for c in many:
        setattr(columns[c.column], c.hit, Hits(count=_n(found[c.key])))
    if hits:
        lists = [f"histogram(cast({quote_ident(c.column)} as varchar)) filter (where {c.sql}) as {c.key}" for c in hits]
        offending = rows_as_dicts(con, f"select {', '.join(lists)} from {relation}", _used(params, lists, relation))[0]
        for c in hits:
            counts = offending[c.key]
            assert isinstance(counts, dict)
            getattr(columns[c.column], c.hit).values = _top({str(k): _n(v) for k, v in counts.items()})
    return TableStats(rows=rows, dup_pk=rows - _n(found["n_distinct"]), columns=columns)


def _flags(c: Condition, value: str, null_like: list[str]) -> bool:
    """What the SQL of condition `c` says of one non-null value."""
    if c.hit == "null_like":
        return value.strip(" ").lower() in null_like
    return value not in (c.allowed or [])


def _used(params: dict[str, object], exprs: list[str], relation: str) -> dict[str, object]:
    text = " ".join(exprs) + relation
    return {k: v for k, v in params.items() if f"${k}" in text}


def scan_file(con: DuckDBPyConnection, table: Table, path: Path, dialect: Dialect, null_like: list[str],
              known: dict[str, list[str]] | None = None) -> TableStats | Reject:
    """The stats of a CSV file read in place; a row that does not read ends the check (its Reject)."""
    from leakcli.engine import read_csv_sql

    read, params = read_csv_sql(table, dialect)
    params["path"] = str(path)
    return table_stats(con, table, read, params, null_like, known, dialect)


def _n(value: object) -> int:
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
        if col.distinct_count != len(col.top_values):
            return None  # the profile does not list every value of this column
        values = {str(v.value): v.count for v in col.top_values}
        if cond.hit == "null_like":
            bad = {v: k for v, k in values.items() if v.strip().lower() in null_like}
        else:
            bad = {v: k for v, k in values.items() if v not in (cond.allowed or [])}
        setattr(columns[cond.column], cond.hit, Hits(count=sum(bad.values()), values=_top(bad)))
    return TableStats(rows=n, dup_pk=n - by_name[table.primary_key[0]].distinct_count, columns=columns)


def check_sources(c: Contracts, data_dir: Path, tables: list[str], q: Questions,
                  display: Callable[[Path], str], *, expect_missing: bool = False,
                  known: dict[str, dict[str, list[str]]] | None = None,
                  profiles: dict[str, Profile] | None = None, cache: SourceCache | None = None,
                  defer: bool = False) -> dict[str, SourceFacts]:
    """Check the source files of `tables`; return what was learnt of each. What the cache or a
    profile of the same file knows is not read again; with `defer`, a file neither knows is left for
    apply to check once it is loaded."""
    from leakcli.engine import connect

    facts: dict[str, SourceFacts] = {}
    con = None
    for name in tables:
        table = c.tables[name]
        loc = f"{MANIFEST}#/tables/{list(c.tables).index(name)}"
        path = data_dir / table.file
        shown = display(path)
        if not path.is_file():
            facts[name] = SourceFacts(name, shown, path, False)
            if not expect_missing:
                q.ask(Code.MISSING_FILE, shown,
                      f"Required source file '{table.file}' of table '{name}' is missing from "
                      f"{display(data_dir)}: where is it?")
            continue
        fact = facts[name] = _known(c, table, path, shown, cache, (known or {}).get(name))
        expected = [col.name for col in table.columns]
        found = read_header(path, c.manifest.dialect.delimiter)
        if found != expected:
            q.ask(Code.HEADER_MISMATCH, f"{shown}:1",
                  f"{header_problem(found, expected)} ({loc}/columns): is the file or the manifest right?")
            fact.stats = fact.reject = None
            continue
        profile = (profiles or {}).get(name)
        if fact.stats is None and fact.reject is None and profile is not None and profile.sha256 == fact.sha256:
            fact.stats = stats_from_profile(table, profile, c.manifest.checks.null_like, (known or {}).get(name))
        if fact.stats is None and fact.reject is None:
            if defer:
                fact.deferred = True
                continue
            con = con or connect(memory_limit=c.phase_plan.engine.limit())
            with phase(f"checking {shown}"):
                result = scan_file(con, table, path, c.manifest.dialect, c.manifest.checks.null_like,
                                   (known or {}).get(name))
            fact.stats, fact.reject = (result, None) if isinstance(result, TableStats) else (None, result)
        ask_about(fact, table, loc, c.manifest.checks.null_like, q)
    if con is not None:
        con.close()
    return facts


def _known(c: Contracts, table: Table, path: Path, shown: str, cache: SourceCache | None,
           known: dict[str, list[str]] | None) -> SourceFacts:
    """The facts the cache holds for this very file under these very checks (sha256 included), or a
    fresh record with the file's sha256."""
    from leakcli.cache import check_key, file_identity
    from leakcli.engine import file_sha256

    identity = file_identity(path)
    key = check_key(table, c.manifest.checks.null_like, known)
    entry = cache.lookup(table.name, identity) if cache else None
    if entry is not None:
        sha = entry.sha256
    else:
        with phase(f"hashing {shown}"):
            sha = file_sha256(path)
    fact = SourceFacts(table.name, shown, path, True, sha256=sha, identity=identity)
    if cache is not None:
        hit = cache.results(table.name, sha, key)
        if hit is not None:
            fact.stats, fact.reject, fact.relations = hit.stats, hit.reject, dict(hit.relations)
    return fact


def ask_about(fact: SourceFacts, table: Table, loc: str, null_like: list[str], q: Questions) -> None:
    if fact.reject is not None:
        _ask_reject(fact.reject, table.name, fact.file, loc, null_like, q)
    elif fact.stats is not None:
        _ask_table(fact.stats, table, fact.file, loc, q)


def check_loaded(con: DuckDBPyConnection, c: Contracts, facts: dict[str, SourceFacts],
                 relation_of: Callable[[str], str], rejects: dict[str, Reject | None],
                 known: dict[str, dict[str, list[str]]], q: Questions) -> None:
    """apply: the checks plan deferred, computed from the tables it loaded (no second read)."""
    for name, fact in facts.items():
        if not fact.deferred:
            continue
        table = c.tables[name]
        loc = f"{MANIFEST}#/tables/{list(c.tables).index(name)}"
        fact.reject = rejects.get(name)
        if fact.reject is None:
            with phase(f"checking {fact.file}"):
                fact.stats = loaded_table_stats(con, table, relation_of(name), c.manifest.checks.null_like,
                                                known.get(name))
        fact.deferred = False
        ask_about(fact, table, loc, c.manifest.checks.null_like, q)


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


def check_relations(c: Contracts, facts: dict[str, SourceFacts], q: Questions,
                    relation_of: Callable[[str], tuple[str, dict[str, object]]] | None = None,
                    con: DuckDBPyConnection | None = None) -> None:
    """Cross-file rules of the manifest (`relations`), e.g. refunds never exceed their order: from
    the loaded tables (`relation_of`, on `con`), or from the files read in place."""
    from leakcli.engine import connect, one_row

    for ri, rel in enumerate(c.manifest.relations):
        child, parent = facts.get(rel.child.table), facts.get(rel.parent.table)
        if child is None or parent is None or child.stats is None or parent.stats is None:
            continue  # a file is missing, unreadable, or not checked yet: asked about already
        cached = child.relations.get(rel.name)
        if cached is None or cached.parent_sha256 != parent.sha256:
            import duckdb

            reads = relation_of or (lambda t: read_in_place(c, facts[t].path))
            sql, params = _relation_sql(rel, reads(rel.child.table), reads(rel.parent.table))
            run = con or connect(memory_limit=c.phase_plan.engine.limit())
            try:
                n, line, total, limit = one_row(run, sql, params)
            except duckdb.Error:
                continue  # the per-file checks report unreadable files
            finally:
                if con is None:
                    run.close()
            child.relations[rel.name] = RelationResult(parent_sha256=parent.sha256, n=_n(n), line=_n(line),
                                                       total=str(total), limit=str(limit))
        found = child.relations[rel.name]
        if found.n:
            q.ask(Code.RELATION, f"{child.file}:{found.line}", severity=rel.severity, question=
                  f"{found.n} {rel.parent.table} row(s) have {rel.child.table} adding up to more than their "
                  f"{rel.parent.value} (first at line {found.line}: {found.total} > {found.limit}; "
                  f"{MANIFEST}#/relations/{ri}): which amount is right?")


def read_in_place(c: Contracts, path: Path) -> tuple[str, dict[str, object]]:
    from leakcli.engine import read_csv_sql

    table = next(t for t in c.manifest.tables if t.file == path.name)
    call, params = read_csv_sql(table, c.manifest.dialect, rejects=False)
    return call, {**params, "path": str(path)}


def _relation_sql(rel: Relation, child: tuple[str, dict[str, object]],
                  parent: tuple[str, dict[str, object]]) -> tuple[str, dict[str, object]]:
    params: dict[str, object] = {}
    reads = {}
    for side, (call, p) in (("c", child), ("p", parent)):
        for k, v in p.items():
            params[f"{side}_{k}"] = v
            call = call.replace(f"${k}", f"${side}_{k}")
        reads[side] = call
    keys = ", ".join(quote_ident(k) for k in rel.child.key)
    on = " and ".join(f"ch.{quote_ident(a)} = pa.{quote_ident(b)}"
                      for a, b in zip(rel.child.key, rel.parent.key, strict=True))
    value, limit = quote_ident(rel.child.value), quote_ident(rel.parent.value)
    sql = (f"with ch as (select {keys}, sum({value}) as total, min(line) as line "
           f"from (select *, row_number() over () + 1 as line from {reads['c']}) group by {keys}) "
           f"select count(*), min(ch.line), arg_min(ch.total, ch.line), arg_min(pa.{limit}, ch.line) "
           f"from ch join {reads['p']} as pa on {on} where ch.total > pa.{limit}")
    return sql, params
