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
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli.contracts.load import MANIFEST, Contracts
from leakcli.contracts.questions import Code, Questions
from leakcli.engine.load import Reject, encoding_problem, header_problem, read_header
from leakcli.engine.sqltext import quote_ident
from leakcli.progress import phase
from leakcli.sources.facts import RelationResult, SourceFacts, TableStats
from leakcli.sources.scan import as_int, loaded_table_stats, scan_file, stats_from_profile

if TYPE_CHECKING:
    from leakcli.contracts.documents import DataChecks as DataRules
    from leakcli.contracts.documents import Profile, Relation, Table
    from leakcli.engine.connection import Connection
    from leakcli.sources.cache import SourceCache


def check_sources(c: Contracts, data_dir: Path, tables: list[str], q: Questions,
                  display: Callable[[Path], str], *, expect_missing: bool = False,
                  known: dict[str, dict[str, list[str]]] | None = None,
                  profiles: dict[str, Profile] | None = None, cache: SourceCache | None = None,
                  defer: bool = False, hash_later: frozenset[str] = frozenset()) -> dict[str, SourceFacts]:
    """Check the source files of `tables`; return what was learnt of each. What the cache or a
    profile of the same file knows is not read again; with `defer`, a file neither knows is left for
    apply to check once it is loaded. A file of `hash_later` the cache does not know is hashed in the
    background (apply: no decision depends on its sha256 before the build labels its tables)."""
    from leakcli.engine.connection import connect

    facts: dict[str, SourceFacts] = {}
    con = None
    for name in tables:
        table = c.tables[name]
        loc = f"{MANIFEST}#/tables/{list(c.tables).index(name)}"
        path = data_dir / table.file
        shown = display(path)
        if not path.is_file():
            facts[name] = SourceFacts(name, shown, path, False)
            if path.exists():  # a folder, a pipe or a device: never read (a pipe would hang)
                q.ask(Code.MISSING_FILE, shown, f"'{table.file}' of table '{name}' is not a regular file (a folder, "
                                                f"pipe or device): where is the CSV?")
            elif not expect_missing:
                q.ask(Code.MISSING_FILE, shown,
                      f"Required source file '{table.file}' of table '{name}' is missing from "
                      f"{display(data_dir)}: where is it?")
            continue
        fact = facts[name] = _known(c, table, path, shown, cache, (known or {}).get(name), name in hash_later)
        expected = [col.name for col in table.columns]
        problem = encoding_problem(path)
        if problem:
            q.ask(Code.HEADER_MISMATCH, shown, f"'{table.file}' {problem}: save it as UTF-8?")
            fact.stats = fact.reject = None
            continue
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
        ask_about(fact, table, loc, c.manifest.checks, q)
    if con is not None:
        con.close()
    return facts


def _known(c: Contracts, table: Table, path: Path, shown: str, cache: SourceCache | None,
           known: dict[str, list[str]] | None, later: bool) -> SourceFacts:
    """The facts the cache holds for this very file under these very checks (sha256 included), or a
    fresh record with the file's sha256 (being computed, when `later`)."""
    from leakcli.files import Hashing, file_identity, file_sha256
    from leakcli.sources.cache import check_key

    identity = file_identity(path)
    key = check_key(table, c.manifest.checks.null_like, known)
    entry = cache.lookup(table.name, identity) if cache else None
    if entry is not None:
        sha = entry.sha256
    elif later:
        return SourceFacts(table.name, shown, path, True, identity=identity, hashing=Hashing(path))
    else:
        with phase(f"hashing {shown}"):
            sha = file_sha256(path)
    fact = SourceFacts(table.name, shown, path, True, sha256=sha, identity=identity)
    if cache is not None:
        hit = cache.results(table.name, sha, key)
        if hit is not None:
            fact.stats, fact.reject, fact.relations = hit.stats, hit.reject, dict(hit.relations)
    return fact


def ask_about(fact: SourceFacts, table: Table, loc: str, checks: DataRules, q: Questions) -> None:
    """The questions of what the checks found in one file (its first bad row, or its stats)."""
    if fact.reject is not None:
        _ask_reject(fact.reject, table.name, fact.file, loc, checks.null_like, q)
    elif fact.stats is not None:
        _ask_table(fact.stats, table, fact.file, loc, checks, q)


def check_loaded(con: Connection, c: Contracts, fact: SourceFacts, relation: str, reject: Reject | None,
                 known: dict[str, list[str]] | None, q: Questions) -> None:
    """apply: the checks plan deferred for one file, computed from the table it loaded (no second read)."""
    table = c.tables[fact.table]
    loc = f"{MANIFEST}#/tables/{list(c.tables).index(fact.table)}"
    fact.reject = reject
    if fact.reject is None:
        with phase(f"checking {fact.file}"):
            fact.stats = loaded_table_stats(con, table, relation, c.manifest.checks.null_like, known)
    fact.deferred = False
    ask_about(fact, table, loc, c.manifest.checks, q)


def _ask_reject(reject: Reject, name: str, shown: str, loc: str, null_like: list[str], q: Questions) -> None:
    where = f"{shown}:{reject.line}"
    if reject.value is not None and reject.value.strip().lower() in null_like:
        q.ask(Code.UNDECLARED_NULL_TOKEN, where,
              f"Column {name}.{reject.column} holds the null-like text {reject.value!r}, which "
              f"{loc}/null_tokens does not declare: is it a missing value (add it to null_tokens) or "
              f"should the data be fixed?")
    else:
        q.ask(Code.BAD_VALUE, where, f"{reject.problem}: fix the file, or is the manifest wrong ({loc}/columns)?")


def _ask_table(stats: TableStats, table: Table, shown: str, loc: str, checks: DataRules, q: Questions) -> None:
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
        if seen.out_of_range.count:
            q.ask(Code.OUT_OF_RANGE, shown,
                  f"Column {cname} holds {seen.out_of_range.count} value(s) far outside the range its profile "
                  f"saw (more than {checks.range_slack_days} days, {MANIFEST}#/checks/range_slack_days): "
                  f"{', '.join(map(str, seen.out_of_range.values))}. The priority window would be built from "
                  f"them: are they real, or should the data be fixed?")
        if seen.below.count:
            q.ask(Code.BELOW_MINIMUM, shown, severity=col.minimum_severity,
                  question=f"Column {cname} holds {seen.below.count} value(s) below its minimum {col.minimum} "
                           f"({cl}/minimum): {', '.join(map(str, seen.below.values))}. Fix the data, or is the "
                           f"minimum wrong?")


def check_relations(c: Contracts, facts: dict[str, SourceFacts], q: Questions,
                    relation_of: Callable[[str], tuple[str, dict[str, object]]] | None = None,
                    con: Connection | None = None, only: set[str] | None = None) -> None:
    """Cross-file rules of the manifest (`relations`; with `only`, those named), e.g. refunds never
    exceed their order: from the loaded tables (`relation_of`, on `con`), or from the files read in place."""
    from leakcli.engine.connection import connect, one_row

    for ri, rel in enumerate(c.manifest.relations):
        if only is not None and rel.name not in only:
            continue
        child, parent = facts.get(rel.child.table), facts.get(rel.parent.table)
        if child is None or parent is None or child.stats is None or parent.stats is None:
            continue  # a file is missing, unreadable, or not checked yet: asked about already
        cached = child.relations.get(rel.name)
        if cached is None or cached.parent_sha256 != parent.sha256:
            from leakcli.engine.connection import QueryError

            reads = relation_of or (lambda t: read_in_place(c, facts[t].path))
            sql, params = _relation_sql(rel, reads(rel.child.table), reads(rel.parent.table))
            run = con or connect(memory_limit=c.phase_plan.engine.limit())
            try:
                n, line, total, limit = one_row(run, sql, params)
            except QueryError:
                continue  # the per-file checks report unreadable files
            finally:
                if con is None:
                    run.close()
            child.relations[rel.name] = RelationResult(parent_sha256=parent.sha256, n=as_int(n), line=as_int(line),
                                                       total=str(total), limit=str(limit))
        found = child.relations[rel.name]
        where = f"first at line {found.line}; {MANIFEST}#/relations/{ri}"
        if found.n and rel.kind == "sum_within":
            q.ask(Code.RELATION, f"{child.file}:{found.line}", severity=rel.severity, question=
                  f"{found.n} {rel.parent.table} row(s) have {rel.child.table} adding up to more than their "
                  f"{rel.parent.value} ({found.total} > {found.limit}, {where}): which amount is right?")
        elif found.n:
            q.ask(Code.RELATION, f"{child.file}:{found.line}", severity=rel.severity, question=
                  f"{found.n} {rel.child.table} row(s) have a {rel.child.value} before the {rel.parent.value} "
                  f"of their {rel.parent.table} ({found.total} < {found.limit}, {where}): which time is right?")


def name_parents(c: Contracts, facts: dict[str, SourceFacts]) -> None:
    """The sha256 of each relation's parent file, on the results found while it was being hashed."""
    parents = {rel.name: rel.parent.table for rel in c.manifest.relations}
    for fact in facts.values():
        for name, found in fact.relations.items():
            if not found.parent_sha256 and name in parents:
                found.parent_sha256 = facts[parents[name]].sha256


def read_in_place(c: Contracts, path: Path) -> tuple[str, dict[str, object]]:
    from leakcli.engine.load import read_csv_sql

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
    lines = f"(select *, row_number() over () + 1 as line from {reads['c']})"
    child_rows = (f"select {keys}, sum({value}) as total, min(line) as line from {lines} group by {keys}"
                  if rel.kind == "sum_within" else f"select {keys}, {value} as total, line from {lines}")
    broken = f"ch.total > pa.{limit}" if rel.kind == "sum_within" else f"ch.total < pa.{limit}"
    sql = (f"with ch as ({child_rows}) "
           f"select count(*), min(ch.line), arg_min(ch.total, ch.line), arg_min(pa.{limit}, ch.line) "
           f"from ch join {reads['p']} as pa on {on} where {broken}")
    return sql, params
