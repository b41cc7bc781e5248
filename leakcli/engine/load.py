"""Reading the source CSVs into DuckDB: their headers, the typed read_csv call of the manifest,
the first row that does not read (from DuckDB's rejects table), and loading each source table.

Paths and data values reach DuckDB as parameters, never pasted into SQL.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli.engine.connection import QueryError, count_rows, no_space, translated
from leakcli.engine.sqltext import quote_ident, source_relation
from leakcli.errors import DataError
from leakcli.files import open_regular
from leakcli.jsonout import closest
from leakcli.progress import phase

if TYPE_CHECKING:
    from leakcli.contracts.documents import Dialect, Table
    from leakcli.contracts.load import Contracts
    from leakcli.engine.connection import Connection


def read_header(path: Path, delimiter: str = ",") -> list[str]:
    """The header fields of a CSV file (a UTF-8 byte-order mark and CRLF or CR line ends are accepted;
    only the first 64 KiB are read)."""
    with os.fdopen(open_regular(path), "rb") as fh:
        head = fh.read(1 << 16)
    import csv

    text = head.decode("utf-8-sig", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    first = text.split("\n", 1)[0]
    return [f.strip() for f in next(csv.reader([first], delimiter=delimiter))] if first else []


def encoding_problem(path: Path) -> str | None:
    """Why the file is not UTF-8 text at all, from its first 64 KiB: a UTF-16 export (a byte-order
    mark, NUL bytes). A stray byte further on is the reject of its row, with its line."""
    with os.fdopen(open_regular(path), "rb") as fh:
        head = fh.read(1 << 16)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        return "is not UTF-8 text: it looks like UTF-16 (it holds NUL bytes)"
    return None


def check_header(path: Path, display: str, table: Table, delimiter: str) -> None:
    """Raise DataError when a CSV header differs from the manifest, naming the closest columns."""
    problem = encoding_problem(path)
    if problem:
        raise DataError(problem, file=display, hint="save it as UTF-8")
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


def read_csv_sql(table: Table, dialect: Dialect, *, rejects: bool = True,
                 header: bool = True) -> tuple[str, dict[str, object]]:
    """A read_csv call with explicit columns, types and null tokens, and its parameters. With `rejects`,
    a row that does not read is not fatal: DuckDB stores its line, column and kind in REJECTS_TABLE
    (see `first_reject`); without, it fails the query. Without `header`, every line is a row."""
    params: dict[str, object] = {
        "columns": {c.name: c.type for c in table.columns},
        "delim": dialect.delimiter,
        "quote": dialect.quote,
        "escape": dialect.escape,
        "tsformat": dialect.timestamp_format,
    }
    options = (
        f"columns = $columns, header = {'true' if header else 'false'}, auto_detect = false, delim = $delim, "
        "quote = $quote, "
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


def first_reject(con: Connection, table: Table, delimiter: str, path: str) -> Reject | None:
    """The first row of the last scan of `path` that did not read. DuckDB records a scan only when it
    rejected a row, so the last scan of all may be of another file: it is looked up by the file."""
    row = con.execute(
        f"select line, column_name, error_type, csv_line from {REJECTS_TABLE} "
        f"where scan_id = (select max(scan_id) from {REJECTS_SCAN} where file_path = $path) "
        f"order by line limit 1", {"path": path}).fetchone()
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


def load_sources(con: Connection, contracts: Contracts, data_dir: Path, tables: Iterable[str],
                 display: Callable[[Path], str] = str, rejects: dict[str, Reject | None] | None = None,
                 into: str | None = None) -> dict[str, int]:
    """Load each source table; return the row counts. The relation is a temporary table, or with
    `into` (an attached database) a table there, written compressed to its file as it loads so that
    it holds no memory, behind a temporary view of the same name. A row that does not read is a
    DataError naming its file, line and column, or, given `rejects`, is noted there (the rows that
    read are loaded) for the caller to ask about."""
    counts: dict[str, int] = {}
    for name in tables:
        path = data_dir / contracts.tables[name].file
        relation = source_relation(contracts.source_name, name)
        reject = load_file(con, contracts, name, path, relation, display(path), into=into)
        if rejects is not None:
            rejects[name] = reject
        elif reject is not None:
            raise DataError(reject.problem, file=display(path), line=reject.line, column=reject.column)
        counts[name] = count_rows(con, quote_ident(relation))
    return counts


def load_file(con: Connection, contracts: Contracts, name: str, path: Path, relation: str, shown: str, *,
              into: str | None = None) -> Reject | None:
    """Load one source file, typed as the manifest says, into the temporary table `relation` (or a
    table of the attached database `into`, behind a temporary view of that name); return its first
    row that did not read."""
    table = contracts.tables[name]
    dialect = contracts.manifest.dialect
    if not path.is_file():
        raise DataError("required source file is missing", file=shown)
    check_header(path, shown, table, dialect.delimiter)
    call, params = read_csv_sql(table, dialect)
    ident = quote_ident(relation)
    stored = f"{quote_ident(into)}.main.{ident}" if into else ident
    try:
        with translated():  # Ctrl-C and running out of memory as everywhere; any other error names the file
            with phase(f"loading {shown}"):
                con.execute(f"create or replace {'' if into else 'temp '}table {stored} as select * from {call}",
                            {**params, "path": str(path)})
            if into:
                con.execute(f"create or replace temp view {ident} as select * from {stored}")
    except QueryError as exc:
        if no_space(exc.detail):  # the database it loads into is full: no fault of the file
            raise
        raise DataError(f"cannot read the file: {exc.message}", file=shown) from None
    return first_reject(con, table, dialect.delimiter, str(path))


def load_columns(con: Connection, contracts: Contracts, name: str, path: Path, columns: Iterable[str],
                 shown: str) -> None:
    """Load only `columns` of a source file the checks already vouch for into its temporary table, for
    queries that read no other column: DuckDB converts nothing else, so a query of one key column of
    a large file costs its parse, not its load. A row that does not read fails the query."""
    table = contracts.tables[name]
    dialect = contracts.manifest.dialect
    if not path.is_file():
        raise DataError("required source file is missing", file=shown)
    check_header(path, shown, table, dialect.delimiter)
    call, params = read_csv_sql(table, dialect, rejects=False)
    wanted = set(columns)
    picked = ", ".join(quote_ident(c.name) for c in table.columns if c.name in wanted)
    relation = quote_ident(source_relation(contracts.source_name, name))
    try:
        with translated(), phase(f"loading {shown}"):
            con.execute(f"create or replace temp table {relation} as select {picked} from {call}",
                        {**params, "path": str(path)})
    except QueryError as exc:
        if no_space(exc.detail):
            raise
        raise DataError(f"cannot read the file: {exc.message}", file=shown) from None


def load_tail(con: Connection, contracts: Contracts, name: str, path: Path, offset: int, relation: str,
              shown: str, lines_before: int) -> Reject | None:
    """Load the rows of a source file after its first `offset` bytes (which end a line; the header is
    among them) into the temporary table `relation`, typed as the manifest says, reading only those
    bytes: they reach DuckDB through a pipe. Returns the first row that did not read, its line counted
    in the whole file (`lines_before`: the lines of the first `offset` bytes)."""
    import threading

    table = contracts.tables[name]
    dialect = contracts.manifest.dialect
    call, params = read_csv_sql(table, dialect, header=False)
    read_end, write_end = os.pipe()
    failed: list[OSError] = []

    def feed() -> None:
        try:
            with os.fdopen(open_regular(path), "rb") as src, os.fdopen(write_end, "wb") as out:
                src.seek(offset)
                while chunk := src.read(1 << 20):
                    out.write(chunk)
        except OSError as exc:  # the reader stopped early (an error of its own), or the file went
            failed.append(exc)

    writer = threading.Thread(target=feed, name="leakcli-tail", daemon=True)
    writer.start()
    pipe = f"/dev/fd/{read_end}"
    try:
        with translated(), phase(f"loading the new rows of {shown}"):
            con.execute(f"create or replace temp table {quote_ident(relation)} as select * from {call}",
                        {**params, "path": pipe})
    except QueryError as exc:
        if no_space(exc.detail):  # the database it loads into is full: no fault of the file
            raise
        raise DataError(f"cannot read the new rows: {exc.message}", file=shown) from None
    finally:
        os.close(read_end)
        writer.join()
    if failed and not isinstance(failed[0], BrokenPipeError):
        raise DataError(f"cannot be read: {failed[0].strerror or failed[0]}", file=shown)
    reject = first_reject(con, table, dialect.delimiter, pipe)
    if reject is None:
        return None
    return Reject(reject.line + lines_before, reject.column, reject.value, reject.problem)


def create_empty_sources(con: Connection, contracts: Contracts, tables: Iterable[str]) -> None:
    """Typed, empty source relations: enough to bind every model without reading data."""
    for name in tables:
        table = contracts.tables[name]
        cols = ", ".join(f"{quote_ident(col.name)} {col.type}" for col in table.columns)
        relation = quote_ident(source_relation(contracts.source_name, name))
        con.execute(f"create or replace temp table {relation} ({cols})")


