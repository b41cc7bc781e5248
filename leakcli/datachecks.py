"""Data checks of `plan`: each source file against the manifest, in one DuckDB scan per file.

Checks headers, undeclared null-like text, values that do not parse as their declared type (the
first one, with its line), nulls in non-null columns, values outside accepted values (with counts)
and duplicate primary keys (LEAK-SPEC §9).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leakcli.ambiguity import Questions
from leakcli.contracts import CONTRACT_FILES, Contracts
from leakcli.engine import file_sha256, header_problem, read_header
from leakcli.render import quote_ident

MANIFEST = CONTRACT_FILES["manifest"][0]
NULL_LIKE = ["", "null", "n/a", "na", "none", "nan", "nil", "-"]


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


def scan_table(con: Any, table: dict[str, Any], path: Path, dialect: dict[str, Any],
               known: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """One typed aggregate scan: rows, duplicate keys, and per column nulls, undeclared null-like
    text (text columns; in typed columns it fails the read) and values outside accepted values."""
    from leakcli.engine import read_csv_sql

    read, params = read_csv_sql(table, dialect)
    params["path"] = str(path)
    pk = ", ".join(quote_ident(k) for k in table["primary_key"])
    pk_expr = f"({pk})" if len(table["primary_key"]) > 1 else pk
    exprs = ["count(*) as n_rows", f"count(*) - count(distinct {pk_expr}) as n_dup_pk"]
    for i, col in enumerate(table["columns"]):
        ident = quote_ident(col["name"])
        exprs.append(f"count_if({ident} is null) as c{i}_nulls")
        if col["type"] == "VARCHAR":
            params["null_like"] = NULL_LIKE
            null_like = f"list_contains($null_like, lower(trim({ident})))"
            exprs.append(f"count_if({null_like}) as c{i}_null_like")
            exprs.append(f"list_distinct(list({ident}) filter (where {null_like}))[1:5] as c{i}_null_like_values")
        domains = [("outside", col.get("accepted_values")), ("new", (known or {}).get(col["name"]))]
        for kind, values in domains:
            if values is None:
                continue
            params[f"{kind}{i}"] = [str(v) for v in values]
            outside = f"{ident} is not null and not list_contains(${kind}{i}, cast({ident} as varchar))"
            exprs.append(f"count_if({outside}) as c{i}_{kind}")
            exprs.append(f"histogram(cast({ident} as varchar)) filter (where {outside}) as c{i}_{kind}_values")
    sql = f"select {', '.join(exprs)} from {read}"
    row = con.execute(sql, params).fetchone()
    names = [d[0] for d in con.description]
    stats = dict(zip(names, row, strict=True))
    for key, value in stats.items():
        if key.endswith("_values") and isinstance(value, dict):  # histogram: the five most common
            ranked = sorted(value.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
            stats[key] = [{"value": v, "n": n} for v, n in ranked]
    return stats


def check_sources(c: Contracts, data_dir: Path, tables: list[str], q: Questions,
                  display: Any, *, expect_missing: bool = False,
                  known: dict[str, dict[str, list[str]]] | None = None) -> dict[str, SourceFacts]:
    """Check the source files of `tables`; return what was learnt of each."""
    import duckdb

    from leakcli.engine import connect

    dialect = c.manifest["dialect"]
    facts: dict[str, SourceFacts] = {}
    con = connect()
    for name in tables:
        table = c.tables[name]
        ti = list(c.tables).index(name)
        loc = f"{MANIFEST}#/tables/{ti}"
        path = data_dir / table["file"]
        shown = display(path)
        if not path.is_file():
            facts[name] = SourceFacts(name, shown, False)
            if not expect_missing:
                q.ask("missing_file", "blocking", shown,
                      f"Required source file '{table['file']}' of table '{name}' is missing from "
                      f"{display(data_dir)}: where is it?")
            continue
        fact = SourceFacts(name, shown, True, sha256=file_sha256(path))
        facts[name] = fact
        expected = [col["name"] for col in table["columns"]]
        found = read_header(path, dialect["delimiter"])
        if found != expected:
            q.ask("header_mismatch", "blocking", f"{shown}:1",
                  f"{header_problem(found, expected)} ({loc}/columns): is the file or the manifest right?")
            continue
        try:
            stats = scan_table(con, table, path, dialect, (known or {}).get(name))
        except duckdb.Error as exc:
            from leakcli.engine import csv_error

            err = csv_error(exc, shown)
            value = getattr(err, "value", None)
            if value is not None and value.strip().lower() in NULL_LIKE:
                q.ask("undeclared_null_token", "blocking", err.location,
                      f"Column {name}.{err.column} holds the null-like text {value!r}, which "
                      f"{MANIFEST}#/tables/{ti}/null_tokens does not declare: is it a missing value "
                      f"(add it to null_tokens) or should the data be fixed?")
            else:
                q.ask("bad_value", "blocking", err.location,
                      f"{err.message}: fix the file, or is the manifest wrong ({loc}/columns)?")
            continue
        fact.rows = int(stats["n_rows"])
        if not fact.rows:
            q.ask("empty_source", "warning", f"{shown}:1",
                  f"'{table['file']}' has a header but no rows: is the export complete?")
        if stats["n_dup_pk"]:
            q.ask("duplicate_key", "blocking", f"{shown}",
                  f"{stats['n_dup_pk']} rows of '{table['file']}' repeat a primary key "
                  f"({', '.join(table['primary_key'])}, {loc}/primary_key): which row is right?")
        for i, col in enumerate(table["columns"]):
            cl = f"{loc}/columns/{i}"
            cname = f"{name}.{col['name']}"
            fact.columns[col["name"]] = {
                "nulls": int(stats[f"c{i}_nulls"] or 0),
                "new": int(stats.get(f"c{i}_new") or 0),
                "new_values": stats.get(f"c{i}_new_values") or [],
            }
            if stats.get(f"c{i}_null_like"):
                values = ", ".join(repr(v) for v in stats[f"c{i}_null_like_values"])
                q.ask("undeclared_null_token", "blocking", f"{shown}",
                      f"Column {cname} holds {stats[f'c{i}_null_like']} null-like value(s) ({values}) "
                      f"that {MANIFEST}#/tables/{ti}/null_tokens does not declare: are they missing "
                      f"values (add them to null_tokens) or real values?")
            if not col["nullable"] and stats[f"c{i}_nulls"]:
                q.ask("unexpected_null", "blocking", f"{shown}",
                      f"Column {cname} is declared not null ({cl}/nullable) but holds "
                      f"{stats[f'c{i}_nulls']} null(s): what should they become?")
            if stats.get(f"c{i}_outside"):
                values = ", ".join(f"{v['value']!r} ({v['n']})" for v in stats[f"c{i}_outside_values"])
                q.ask("unaccepted_value", col.get("accepted_values_severity", "warning"), f"{shown}",
                      f"Column {cname} holds {stats[f'c{i}_outside']} value(s) outside its accepted "
                      f"values ({cl}/accepted_values): {values}. Accept them or fix the data?")
    con.close()
    return facts
