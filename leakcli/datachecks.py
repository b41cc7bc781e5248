"""Data checks of `plan`: each source file against the manifest (LEAK-SPEC §9).

Checks headers, undeclared null-like text, values that do not parse as their declared type (the
first one, with its line), nulls in non-null columns, values outside accepted values (with counts),
duplicate primary keys, values a profile never saw, and the manifest's cross-file `relations`.
One typed DuckDB scan per file (a second one lists offending values when there are any); none at
all for a file whose sha256 matches its committed profile, whose figures then answer every check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leakcli.ambiguity import Code, Questions
from leakcli.contracts import MANIFEST, Contracts
from leakcli.engine import file_sha256, header_problem, read_header, rows_as_dicts
from leakcli.render import quote_ident

if TYPE_CHECKING:
    from collections.abc import Callable

    from duckdb import DuckDBPyConnection

    from leakcli.model import Dialect, Profile, Table


@dataclass
class SourceFacts:
    table: str
    file: str
    exists: bool
    sha256: str = ""
    rows: int | None = None
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "file": self.file, "exists": self.exists,
                "sha256": self.sha256, "rows": self.rows}


def _conditions(table: Table, null_like: list[str], known: dict[str, list[str]] | None,
                params: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(stat key, column, SQL condition) of every per-value check of a table."""
    found = []
    for i, col in enumerate(table.columns):
        ident = quote_ident(col.name)
        if col.type == "VARCHAR":
            params["null_like"] = null_like
            found.append((f"c{i}_null_like", ident, f"list_contains($null_like, lower(trim({ident})))"))
        for kind, values in (("outside", col.accepted_values), ("new", (known or {}).get(col.name))):
            if values is not None:
                params[f"{kind}{i}"] = [str(v) for v in values]
                found.append((f"c{i}_{kind}", ident,
                              f"{ident} is not null and not list_contains(${kind}{i}, cast({ident} as varchar))"))
    return found


def scan_table(con: DuckDBPyConnection, table: Table, path: Path, dialect: Dialect, null_like: list[str],
               known: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """A typed aggregate scan: rows, duplicate keys, and per column nulls, undeclared null-like text
    (text columns; in typed columns it fails the read), values outside accepted values and values a
    profile never saw. A second scan lists the offending values only when there are any."""
    from leakcli.engine import read_csv_sql

    read, params = read_csv_sql(table, dialect)
    params["path"] = str(path)
    pk = ", ".join(quote_ident(k) for k in table.primary_key)
    pk_expr = f"({pk})" if len(table.primary_key) > 1 else pk
    exprs = ["count(*) as n_rows", f"count(*) - count(distinct {pk_expr}) as n_dup_pk"]
    exprs += [f"count(*) - count({quote_ident(c.name)}) as c{i}_nulls" for i, c in enumerate(table.columns)]
    conditions = _conditions(table, null_like, known, params)
    exprs += [f"count_if({cond}) as {key}" for key, _, cond in conditions]
    stats: dict[str, Any] = {k: v or 0 for k, v in rows_as_dicts(con, f"select {', '.join(exprs)} from {read}",
                                                                params)[0].items()}
    hits = [(key, ident, cond) for key, ident, cond in conditions if stats[key]]
    if hits:
        lists = ", ".join(f"histogram(cast({ident} as varchar)) filter (where {cond}) as {key}_values"
                          for key, ident, cond in hits)
        used = {k: v for k, v in params.items() if k in ("path", "columns", "delim", "quote", "escape",
                                                         "tsformat", "nulls") or f"${k}" in lists}
        for key, value in rows_as_dicts(con, f"select {lists} from {read}", used)[0].items():
            assert isinstance(value, dict)
            ranked = sorted(value.items(), key=lambda kv: (-kv[1], kv[0]))[:5]  # the five most common
            stats[key] = [{"value": v, "n": n} for v, n in ranked]
    return stats


def stats_from_profile(table: Table, profile: Profile, null_like: list[str],
                       known: dict[str, list[str]] | None = None) -> dict[str, Any] | None:
    """The stats `scan_table` would compute, read from a profile of the very same file (same sha256)
    made under the same manifest columns and null tokens; None when the profile cannot tell."""
    cols = profile.columns
    if ([(c.name, c.type) for c in cols] != [(c.name, c.type) for c in table.columns]
            or profile.null_tokens != table.null_tokens or len(table.primary_key) != 1):
        return None
    by_name = {c.name: c for c in cols}
    pk = by_name[table.primary_key[0]]
    n = profile.row_count
    stats: dict[str, Any] = {"n_rows": n, "n_dup_pk": n - pk.distinct_count}
    params: dict[str, Any] = {}
    for i, col in enumerate(cols):
        stats[f"c{i}_nulls"] = col.null_count
    for key, _, _ in _conditions(table, null_like, known, params):
        i = int(key[1:].split("_", 1)[0])
        col = cols[i]
        values = col.top_values
        if col.distinct_count != len(values):
            return None  # the profile does not list every value of this column
        if key.endswith("_null_like"):
            bad = [v for v in values if str(v.value).strip().lower() in null_like]
        else:
            allowed = {str(v) for v in params[key.split("_", 1)[1] + str(i)]}
            bad = [v for v in values if str(v.value) not in allowed]
        stats[key] = sum(v.count for v in bad)
        if bad:
            ranked = sorted(bad, key=lambda v: (-v.count, str(v.value)))[:5]
            stats[f"{key}_values"] = [{"value": v.value, "n": v.count} for v in ranked]
    return stats


def check_sources(c: Contracts, data_dir: Path, tables: list[str], q: Questions,
                  display: Callable[[Path], str], *, expect_missing: bool = False,
                  known: dict[str, dict[str, list[str]]] | None = None,
                  profiles: dict[str, Profile] | None = None) -> dict[str, SourceFacts]:
    """Check the source files of `tables`; return what was learnt of each."""
    import duckdb

    from leakcli.engine import connect

    dialect = c.manifest.dialect
    null_like = c.manifest.checks.null_like
    facts: dict[str, SourceFacts] = {}
    con = connect()
    for name in tables:
        table = c.tables[name]
        ti = list(c.tables).index(name)
        loc = f"{MANIFEST}#/tables/{ti}"
        path = data_dir / table.file
        shown = display(path)
        if not path.is_file():
            facts[name] = SourceFacts(name, shown, False)
            if not expect_missing:
                q.ask(Code.MISSING_FILE, shown,
                      f"Required source file '{table.file}' of table '{name}' is missing from "
                      f"{display(data_dir)}: where is it?")
            continue
        fact = SourceFacts(name, shown, True, sha256=file_sha256(path))
        facts[name] = fact
        expected = [col.name for col in table.columns]
        found = read_header(path, dialect.delimiter)
        if found != expected:
            q.ask(Code.HEADER_MISMATCH, f"{shown}:1",
                  f"{header_problem(found, expected)} ({loc}/columns): is the file or the manifest right?")
            continue
        profile = (profiles or {}).get(name)
        stats = None
        if profile is not None and profile.sha256 == fact.sha256:
            stats = stats_from_profile(table, profile, null_like, (known or {}).get(name))
        try:
            stats = stats or scan_table(con, table, path, dialect, null_like, (known or {}).get(name))
        except duckdb.Error as exc:
            from leakcli.engine import csv_error

            err = csv_error(exc, shown, table)
            value = getattr(err, "value", None)
            if value is not None and value.strip().lower() in null_like:
                q.ask(Code.UNDECLARED_NULL_TOKEN, err.location,
                      f"Column {name}.{err.column} holds the null-like text {value!r}, which "
                      f"{MANIFEST}#/tables/{ti}/null_tokens does not declare: is it a missing value "
                      f"(add it to null_tokens) or should the data be fixed?")
            else:
                q.ask(Code.BAD_VALUE, err.location,
                      f"{err.message}: fix the file, or is the manifest wrong ({loc}/columns)?")
            continue
        fact.rows = int(stats["n_rows"])
        if not fact.rows:
            if table.allow_empty:
                q.ask(Code.EMPTY_SOURCE, f"{shown}:1", severity="warning",
                      question=f"'{table.file}' has a header but no rows: is the export complete?")
            else:
                q.ask(Code.EMPTY_SOURCE, f"{shown}:1", severity="blocking",
                      question=f"'{table.file}' has a header but no rows, and {loc}/allow_empty does not "
                               f"allow it: is the export complete?")
        if stats["n_dup_pk"]:
            q.ask(Code.DUPLICATE_KEY, f"{shown}",
                  f"{stats['n_dup_pk']} rows of '{table.file}' repeat a primary key "
                  f"({', '.join(table.primary_key)}, {loc}/primary_key): which row is right?")
        for i, col in enumerate(table.columns):
            cl = f"{loc}/columns/{i}"
            cname = f"{name}.{col.name}"
            fact.columns[col.name] = {
                "nulls": int(stats[f"c{i}_nulls"] or 0),
                "new": int(stats.get(f"c{i}_new") or 0),
                "new_values": stats.get(f"c{i}_new_values") or [],
            }
            if stats.get(f"c{i}_null_like"):  # text columns only
                values = ", ".join(repr(v) for v in stats[f"c{i}_null_like_values"])
                q.ask(Code.UNDECLARED_NULL_TOKEN, f"{shown}",
                      f"Column {cname} holds {stats[f'c{i}_null_like']} null-like value(s) ({values}) "
                      f"that {MANIFEST}#/tables/{ti}/null_tokens does not declare: are they missing "
                      f"values (add them to null_tokens) or real values?")
            if not col.nullable and stats[f"c{i}_nulls"]:
                q.ask(Code.UNEXPECTED_NULL, f"{shown}",
                      f"Column {cname} is declared not null ({cl}/nullable) but holds "
                      f"{stats[f'c{i}_nulls']} null(s): what should they become?")
            if stats.get(f"c{i}_outside"):
                values = ", ".join(f"{v['value']!r} ({v['n']})" for v in stats[f"c{i}_outside_values"])
                q.ask(Code.UNACCEPTED_VALUE, f"{shown}", severity=col.accepted_values_severity, question=
                      f"Column {cname} holds {stats[f'c{i}_outside']} value(s) outside its accepted "
                      f"values ({cl}/accepted_values): {values}. Accept them or fix the data?")
    con.close()
    return facts


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
        params: dict[str, Any] = {}
        reads = {}
        for side, spec in (("c", child), ("p", parent)):
            call, p = read_csv_sql(c.tables[spec.table], dialect)
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

