"""DuckDB: connections, typed source loading, model builds, and error translation.

Paths and data values reach DuckDB as parameters, never pasted into SQL.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli.contracts import Contracts
from leakcli.errors import DataError, ExecutionError, LockedError
from leakcli.jsonout import closest
from leakcli.render import quote_ident, source_relation

if TYPE_CHECKING:
    from collections.abc import Callable

    from duckdb import DuckDBPyConnection

    from leakcli.model import Dialect, Table


def connect(path: Path | None = None, *, read_only: bool = False) -> DuckDBPyConnection:
    import duckdb

    try:
        return duckdb.connect(str(path) if path else ":memory:", read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise LockedError(f"database is locked by another process: {_first_line(text)}",
                              file=str(path)) from None
        raise ExecutionError(f"cannot open database: {_first_line(text)}", file=str(path)) from None
    except duckdb.Error as exc:
        raise ExecutionError(f"cannot open database: {_first_line(str(exc))}", file=str(path)) from None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_header(path: Path, delimiter: str = ",") -> list[str]:
    """The header fields of a CSV file (a UTF-8 byte-order mark and CRLF are accepted)."""
    with path.open("rb") as fh:
        first = fh.readline()
    text = first.decode("utf-8-sig", errors="replace").rstrip("\r\n")
    return [f.strip().strip('"') for f in text.split(delimiter)] if text else []


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


def read_csv_sql(table: Table, dialect: Dialect) -> tuple[str, dict[str, object]]:
    """A read_csv call with explicit columns, types and null tokens, and its parameters."""
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
    if table.null_tokens:
        params["nulls"] = list(table.null_tokens)
        options += ", nullstr = $nulls"
    return f"read_csv($path, {options})", params


def load_sources(con: DuckDBPyConnection, contracts: Contracts, data_dir: Path, tables: Iterable[str],
                 display: Callable[[Path], str] = str) -> dict[str, int]:
    """Load each source table into a temporary relation; return the row counts."""
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
        try:
            con.execute(f"create or replace temp table {relation} as select * from {call}",
                        {**params, "path": str(path)})
        except duckdb.InterruptException:
            raise KeyboardInterrupt from None
        except duckdb.Error as exc:
            raise csv_error(exc, shown, table) from None
        counts[name] = count_rows(con, relation)
    return counts


def create_empty_sources(con: DuckDBPyConnection, contracts: Contracts, tables: Iterable[str]) -> None:
    """Typed, empty source relations: enough to bind every model without reading data."""
    for name in tables:
        table = contracts.tables[name]
        cols = ", ".join(f"{quote_ident(col.name)} {col.type}" for col in table.columns)
        relation = quote_ident(source_relation(contracts.source_name, name))
        con.execute(f"create or replace temp table {relation} ({cols})")


def csv_error(exc: Exception, file: str, table: Table | None = None) -> DataError:
    """Translate a DuckDB CSV error into one line naming the file, line and column (and the type the
    manifest declares for it)."""
    text = str(exc)
    line_match = re.search(r"CSV Error on Line: (\d+)", text)
    line = int(line_match.group(1)) if line_match else None
    column_match = re.search(r'Error when converting column "([^"]+)"', text)
    column = column_match.group(1) if column_match else None
    convert = re.search(r"Could not convert string \"(.*?)\" to '([A-Z0-9(), ]+)'", text)
    fields = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    declared = {c.name: c.type for c in (table.columns if table else [])}
    if convert:
        msg = f"column '{column}': cannot read {convert.group(1)!r} as {declared.get(column or '', convert.group(2))}"
    elif fields:
        msg = f"expected {fields.group(1)} fields, found {fields.group(2)}"
    elif "unicode" in text.lower() or "utf-8" in text.lower() or "utf8" in text.lower():
        msg = "bytes that are not valid UTF-8"
    else:
        msg = _first_line(text)
    error = DataError(msg, file=file, line=line, column=column)
    error.value = convert.group(1) if convert else None  # type: ignore[attr-defined]
    return error


def run_model(con: DuckDBPyConnection, name: str, sql: str, sql_path: str) -> int:
    """Create the table of one model; return its row count."""
    import duckdb

    try:
        con.execute(f"create table {quote_ident(name)} as\n{sql}")
    except duckdb.InterruptException:
        raise KeyboardInterrupt from None
    except duckdb.Error as exc:
        raise ExecutionError(
            f"model '{name}' failed: {_first_line(str(exc))} (compiled SQL: {sql_path})",
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


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return text.strip()
