"""DuckDB: connections, typed source loading, model builds, and error translation.

Paths and data values reach DuckDB as parameters, never pasted into SQL.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli.contracts import Contracts
from leakcli.errors import DataError, ExecutionError, LockedError
from leakcli.jsonout import closest
from leakcli.progress import phase
from leakcli.sql import first_line, quote_ident, source_relation

if TYPE_CHECKING:
    from collections.abc import Callable

    from duckdb import DuckDBPyConnection

    from leakcli.model import Dialect, Table


def connect(path: Path | None = None, *, read_only: bool = False, shown: str | None = None,
            memory_limit: str | None = None) -> DuckDBPyConnection:
    """A DuckDB connection (in memory without `path`); `shown` names the file in errors. With a
    `memory_limit`, work past it spills to disk: beside the database, or for a connection in memory
    to the system's temporary folder (never to the current folder)."""
    import duckdb

    shown = shown or str(path)
    config: dict[str, str | bool | int | float | list[str]] = {}
    if memory_limit:
        config["memory_limit"] = memory_limit
        if path is None:
            import tempfile

            config["temp_directory"] = str(Path(tempfile.gettempdir()) / f"leakcli-spill-{os.getuid()}")
    try:
        return duckdb.connect(str(path) if path else ":memory:", read_only=read_only, config=config)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise LockedError(f"database is locked by another process: {first_line(text)}", file=shown) from None
        raise DamagedDatabase(shown) from None
    except duckdb.Error:
        raise DamagedDatabase(shown) from None


class DamagedDatabase(ExecutionError):
    """A database file that DuckDB cannot open: truncated, corrupt, or not a DuckDB file."""

    def __init__(self, shown: str) -> None:
        super().__init__("cannot be read: the database is damaged or not a DuckDB file", file=shown,
                         hint="rebuild it with `leakcli apply --full-refresh`")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_header(path: Path, delimiter: str = ",") -> list[str]:
    """The header fields of a CSV file (a UTF-8 byte-order mark and CRLF or CR line ends are accepted;
    only the first 64 KiB are read)."""
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    import csv

    text = head.decode("utf-8-sig", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    first = text.split("\n", 1)[0]
    return [f.strip() for f in next(csv.reader([first], delimiter=delimiter))] if first else []


def check_header(path: Path, display: str, table: Table, delimiter: str) -> None:
    """Raise DataError when a CSV header differs from the manifest, naming the closest columns."""
    found = read_header(path, delimiter)
    expected = [c.name for c in table.columns]
    if found == expected:
        return
    raise DataError(header_problem(found, expected), file=display, line=1)


def header_problem(found: list[str], expected: list[str]) -> str:
    if not found:
        return "file is empty: no header row"
    missing = [c for c in expected if c not in found]
    extra = [c for c in found if c not in expected]
    parts = []
    for name in missing:
        close = closest(name, extra, cutoff=0.5)
        parts.append(f"'{name}' missing" + (f" (found '{close}')" if close else ""))
    for name in extra:
        if not any(name in p for p in parts):
            parts.append(f"unexpected column '{name}'")
    if not parts:
        parts.append(f"columns out of order: expected {', '.join(expected)}")
    return "header differs from the manifest: " + "; ".join(parts)


REJECTS_TABLE, REJECTS_SCAN = "leakcli_rejects", "leakcli_reject_scans"


def read_csv_sql(table: Table, dialect: Dialect, *, rejects: bool = True) -> tuple[str, dict[str, object]]:
    """A read_csv call with explicit columns, types and null tokens, and its parameters. With `rejects`,
    a row that does not read is not fatal: DuckDB stores its line, column and kind in REJECTS_TABLE
    (see `first_reject`); without, it fails the query."""
    params: dict[str, object] = {
        "columns": {c.name: c.type for c in table.columns},
        "delim": dialect.delimiter,
        "quote": dialect.quote,
        "escape": dialect.escape,
        "tsformat": dialect.timestamp_format,
    }
    options = (
        "columns = $columns, header = true, auto_detect = false, delim = $delim, quote = $quote, "
        "escape = $escape, timestampformat = $tsformat, strict_mode = true"
    )
    if rejects:
        options += f", store_rejects = true, rejects_table = '{REJECTS_TABLE}', rejects_scan = '{REJECTS_SCAN}'"
    if table.null_tokens:
        params["nulls"] = list(table.null_tokens)
        options += ", nullstr = $nulls"
    return f"read_csv($path, {options})", params


@dataclass(frozen=True)
class Reject:
    """The first row of the last scan that did not read: its line, column, raw value and what is wrong."""

    line: int
    column: str | None
    value: str | None
    problem: str


def first_reject(con: DuckDBPyConnection, table: Table, delimiter: str) -> Reject | None:
    row = con.execute(
        f"select line, column_name, error_type, csv_line from {REJECTS_TABLE} "
        f"where scan_id = (select max(scan_id) from {REJECTS_SCAN}) order by line limit 1").fetchone()
    if row is None:
        return None
    line, column, kind, csv_line = int(row[0]), row[1], str(row[2]), str(row[3] or "")
    fields = csv_line.split(delimiter)
    names = [c.name for c in table.columns]
    if kind == "CAST" and column in names and names.index(column) < len(fields):
        value = fields[names.index(column)]
        declared = table.columns[names.index(column)].type
        return Reject(line, column, value, f"column '{column}': cannot read {value!r} as {declared}")
    if kind in ("MISSING COLUMNS", "TOO MANY COLUMNS"):
        return Reject(line, None, None, f"expected {len(names)} fields, found {len(fields)}")
    if kind == "INVALID ENCODING":
        return Reject(line, column, None, "bytes that are not valid UTF-8")
    return Reject(line, column, None, f"the row does not read ({kind.lower()})")


def load_sources(con: DuckDBPyConnection, contracts: Contracts, data_dir: Path, tables: Iterable[str],
                 display: Callable[[Path], str] = str, rejects: dict[str, Reject | None] | None = None,
                 into: str | None = None) -> dict[str, int]:
    """Load each source table; return the row counts. The relation is a temporary table, or with
    `into` (an attached database) a table there, written compressed to its file as it loads so that
    it holds no memory, behind a temporary view of the same name. A row that does not read is a
    DataError naming its file, line and column, or, given `rejects`, is noted there (the rows that
    read are loaded) for the caller to ask about."""
    import duckdb

    counts: dict[str, int] = {}
    dialect = contracts.manifest.dialect
    for name in tables:
        table = contracts.tables[name]
        path = data_dir / table.file
        shown = display(path)
        if not path.is_file():
            raise DataError("required source file is missing", file=shown)
        check_header(path, shown, table, dialect.delimiter)
        call, params = read_csv_sql(table, dialect)
        relation = quote_ident(source_relation(contracts.source_name, name))
        stored = f"{quote_ident(into)}.main.{relation}" if into else relation
        try:
            with phase(f"loading {shown}"):
                con.execute(f"create or replace {'' if into else 'temp '}table {stored} as select * from {call}",
                            {**params, "path": str(path)})
            if into:
                con.execute(f"create or replace temp view {relation} as select * from {stored}")
        except duckdb.InterruptException:
            raise KeyboardInterrupt from None
        except duckdb.Error as exc:
            raise DataError(f"cannot read the file: {first_line(str(exc))}", file=shown) from None
        reject = first_reject(con, table, dialect.delimiter)
        if rejects is not None:
            rejects[name] = reject
        elif reject is not None:
            raise DataError(reject.problem, file=shown, line=reject.line, column=reject.column)
        counts[name] = count_rows(con, relation)
    return counts


def lockdown(con: DuckDBPyConnection, allowed: Iterable[Path] = ()) -> None:
    """From here on the connection reads and writes files only under `allowed` (none: no file at
    all), installs and loads no extension, and its configuration cannot be changed back."""
    dirs = [str(p.resolve()) + "/" for p in allowed]
    if dirs:
        con.execute("set allowed_directories = $dirs", {"dirs": dirs})
    for setting in ("enable_external_access", "autoinstall_known_extensions", "autoload_known_extensions",
                    "allow_community_extensions"):
        con.execute(f"set {setting} = false")
    con.execute("set lock_configuration = true")


def create_empty_sources(con: DuckDBPyConnection, contracts: Contracts, tables: Iterable[str]) -> None:
    """Typed, empty source relations: enough to bind every model without reading data."""
    for name in tables:
        table = contracts.tables[name]
        cols = ", ".join(f"{quote_ident(col.name)} {col.type}" for col in table.columns)
        relation = quote_ident(source_relation(contracts.source_name, name))
        con.execute(f"create or replace temp table {relation} ({cols})")


def run_model(con: DuckDBPyConnection, name: str, sql: str, sql_path: str) -> int:
    """Create the table of one model; return its row count."""
    import duckdb

    try:
        con.execute(f"create table {quote_ident(name)} as\n{sql}")
    except duckdb.InterruptException:
        raise KeyboardInterrupt from None
    except duckdb.Error as exc:
        raise ExecutionError(
            f"model '{name}' failed: {first_line(str(exc))}",
            model=name, file=sql_path, sql_path=sql_path,
        ) from None
    return count_rows(con, quote_ident(name))


def one_row(con: DuckDBPyConnection, sql: str, params: dict[str, object] | None = None) -> tuple[object, ...]:
    """The single row an aggregate query returns."""
    row = con.execute(sql, params).fetchone()
    assert row is not None, sql
    return tuple(row)


def count_rows(con: DuckDBPyConnection, relation: str) -> int:
    return int(str(one_row(con, f"select count(*) from {relation}")[0]))


def rows_as_dicts(con: DuckDBPyConnection, sql: str, params: dict[str, object] | None = None
                  ) -> list[dict[str, object]]:
    """Every row of a query as a dict of JSON-ready values (dates as ISO text, decimals as numbers)."""
    from leakcli.jsonout import jsonable

    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description or []]
    return [{n: jsonable(v) for n, v in zip(names, row, strict=True)} for row in cur.fetchall()]


def describe(con: DuckDBPyConnection, sql: str) -> list[tuple[str, str]]:
    """Bind a query without running it: its output columns and DuckDB types."""
    rows = con.execute(f"describe {sql}").fetchall()
    return [(r[0], r[1]) for r in rows]


def user_tables(con: DuckDBPyConnection, catalog: str | None = None) -> dict[str, str | None]:
    """Tables and views of the main schema, with their comments."""
    rows = con.execute(
        "select table_name, comment from duckdb_tables() "
        "where schema_name = 'main' and not temporary and database_name = coalesce($db, current_database()) "
        "union all select view_name, comment from duckdb_views() "
        "where schema_name = 'main' and not temporary and not internal "
        "and database_name = coalesce($db, current_database())",
        {"db": catalog},
    ).fetchall()
    return {r[0]: r[1] for r in rows}
