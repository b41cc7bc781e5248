"""DuckDB connections and what runs on them: opening (and naming a damaged file), the lockdown,
model builds, and the small queries every floor asks. The only package that imports duckdb.

Paths and data values reach DuckDB as parameters, never pasted into SQL.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli.engine import signals_held
from leakcli.engine.sqltext import first_line, quote_ident
from leakcli.errors import FREE_SPACE, ExecutionError, LockedError
from leakcli.progress import count

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

    Connection = DuckDBPyConnection  # what the other floors name a connection: they never import duckdb


class QueryError(ExecutionError):
    """DuckDB refused or failed a query; `message` is its first line, `detail` all of it on one line."""

    def __init__(self, message: str, detail: str = "", **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.detail = detail or message


class StorageError(QueryError):
    """DuckDB could not read or write a file: a full disk, no inodes left, a file it may not touch."""


FULL = ("No space left on device", "Disk quota exceeded", "Too many open files")


def no_space(text: str) -> str | None:
    """What the OS said, in DuckDB's `text`, when a disk is full (of bytes or of inodes), a quota
    reached or no file can be opened; None for any other error."""
    return next((why for why in FULL if why.lower() in text.lower()), None)


def written_file(text: str) -> str | None:
    """The file DuckDB's IO error names (`Cannot open file "/x/y.parquet": ...`), if any."""
    import re

    found = re.search(r'file "([^"]+)"', text)
    return found.group(1) if found else None


class OutOfMemory(ExecutionError):
    """DuckDB needed more memory than its limit allows and could not spill the rest to disk."""

    def __init__(self, detail: str) -> None:
        from_env = bool(os.environ.get("LEAKCLI_MEMORY_LIMIT", "").strip())
        detail = detail.removeprefix("Out of Memory Error: ")
        super().__init__(f"DuckDB ran out of memory within its limit ({detail})",
                         file="LEAKCLI_MEMORY_LIMIT" if from_env else "phase-plan.json",
                         pointer=None if from_env else "/engine/memory_limit",
                         hint="raise the limit, e.g. LEAKCLI_MEMORY_LIMIT=4GB")


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """DuckDB's errors as leakcli's: Ctrl-C inside a query is KeyboardInterrupt, a file it cannot
    read or write is a StorageError, anything else a QueryError (exit 3 at the boundary)."""
    with signals_held():
        import duckdb

    try:
        yield
    except duckdb.InterruptException:
        raise KeyboardInterrupt from None
    except duckdb.OutOfMemoryException as exc:
        raise OutOfMemory(first_line(str(exc))) from None
    except duckdb.Error as exc:  # a full disk may reach us as an error of the transaction, not of IO
        text = str(exc)
        if isinstance(exc, duckdb.IOException) or no_space(text):
            raise StorageError(first_line(text), " ".join(text.split()), file=written_file(text),
                               hint=FREE_SPACE if no_space(text) else None) from None
        raise QueryError(first_line(text), " ".join(text.split())) from None


def execute(con: Connection, sql: str, params: dict[str, object] | None = None) -> None:
    """Run one statement whose result is not read, its errors translated."""
    with translated():
        con.execute(sql, params)


def connect(path: Path | None = None, *, read_only: bool = False, shown: str | None = None,
            memory_limit: str | None = None) -> Connection:
    """A DuckDB connection (in memory without `path`); `shown` names the file in errors. With a
    `memory_limit`, work past it spills to disk: beside the database, or for a connection in memory
    to the system's temporary folder (never to the current folder)."""
    with signals_held():
        import duckdb

    shown = shown or str(path)
    config: dict[str, str | bool | int | float | list[str]] = {}
    if memory_limit:
        config["memory_limit"] = memory_limit
        if path is None:
            import tempfile

            config["temp_directory"] = str(Path(tempfile.gettempdir()) / f"leakcli-spill-{os.getuid()}")
    count("database opened")
    try:
        con = duckdb.connect(str(path) if path else ":memory:", read_only=read_only, config=config)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise LockedError(f"database is locked by another process: {first_line(text)}", file=shown,
                              hint="wait for it to finish") from None
        full = no_space(text)
        if full and not read_only:  # a new file that cannot be made is not a damaged one
            raise StorageError(f"cannot be written: {full}", " ".join(text.split()), file=shown,
                               hint=FREE_SPACE) from None
        raise DamagedDatabase(shown) from None
    except duckdb.Error as exc:
        if "memory_limit" in str(exc) or "memory limit" in str(exc).lower():
            raise ExecutionError(f"DuckDB refuses the memory limit {memory_limit!r}", file="LEAKCLI_MEMORY_LIMIT",
                                 hint="give a size such as 4GB") from None
        raise DamagedDatabase(shown) from None
    if path is not None:  # DuckDB reads the catalog lazily: a truncated file may fail only on a later query
        try:
            con.execute("select count(*) from duckdb_tables()").fetchall()
            blocks = con.execute("select used_blocks * block_size from pragma_database_size() "
                                 "where database_name = current_database()").fetchone()
            if blocks and path.stat().st_size < blocks[0]:  # cut short: its blocks are not all there
                raise duckdb.IOException("truncated")
        except duckdb.OutOfMemoryException as exc:
            con.close()
            raise OutOfMemory(first_line(str(exc))) from None
        except (duckdb.Error, OSError):
            con.close()
            raise DamagedDatabase(shown) from None
    return con


@contextlib.contextmanager
def reading(shown: str) -> Iterator[None]:
    """Queries of a database file leakcli opened: an error of the file itself (it cannot be read, a
    block's checksum fails) is a DamagedDatabase naming it, not an error of the query."""
    try:
        yield
    except QueryError as exc:
        if isinstance(exc, StorageError) or any(w in exc.detail.lower() for w in ("corrupt", "checksum")):
            raise DamagedDatabase(shown) from None
        raise


class DamagedDatabase(ExecutionError):
    """A database file that DuckDB cannot open: truncated, corrupt, or not a DuckDB file."""

    def __init__(self, shown: str) -> None:
        super().__init__("cannot be read: the database is damaged or not a DuckDB file", file=shown,
                         hint="rebuild it with `leakcli apply --full-refresh`")


def lockdown(con: Connection, allowed: Iterable[Path] = (), files: Iterable[Path] = ()) -> None:
    """From here on the connection reads and writes files only under `allowed` (none: no file at
    all) and reads the `files` named (a source file that is a link: DuckDB checks where it leads),
    installs and loads no extension, and its configuration cannot be changed back."""
    dirs = [str(p.resolve()) + "/" for p in allowed]
    if dirs:
        con.execute("set allowed_directories = $dirs", {"dirs": dirs})
    targets = sorted({str(f.resolve()) for f in files if f.is_symlink()})
    if targets:
        con.execute("set allowed_paths = $files", {"files": targets})
    for setting in ("enable_external_access", "autoinstall_known_extensions", "autoload_known_extensions",
                    "allow_community_extensions"):
        con.execute(f"set {setting} = false")
    con.execute("set lock_configuration = true")


def run_model(con: Connection, name: str, sql: str, sql_path: str) -> int:
    """Create the table of one model; return its row count."""
    try:
        execute(con, f"create table {quote_ident(name)} as\n{sql}")
    except QueryError as exc:
        full = no_space(exc.detail)
        if full:  # DuckDB's first line names the file; what went wrong is at its end
            raise StorageError(f"model '{name}' could not be written: {full}", exc.detail, model=name,
                               file=written_file(exc.detail), hint=FREE_SPACE) from None
        raise ExecutionError(f"model '{name}' failed: {exc.message}", model=name, file=sql_path,
                             sql_path=sql_path) from None
    return count_rows(con, quote_ident(name))


def one_row(con: Connection, sql: str, params: dict[str, object] | None = None) -> tuple[object, ...]:
    """The single row an aggregate query returns."""
    with translated():
        row = con.execute(sql, params).fetchone()
    assert row is not None, sql
    return tuple(row)


def count_rows(con: Connection, relation: str) -> int:
    return int(str(one_row(con, f"select count(*) from {relation}")[0]))


def rows_as_dicts(con: Connection, sql: str, params: dict[str, object] | None = None
                  ) -> list[dict[str, object]]:
    """Every row of a query as a dict of JSON-ready values (dates as ISO text, decimals as numbers)."""
    from leakcli.jsonout import jsonable

    with translated():
        cur = con.execute(sql, params)
        names = [d[0] for d in cur.description or []]
        rows = cur.fetchall()
    return [{n: jsonable(v) for n, v in zip(names, row, strict=True)} for row in rows]


def rows_as_tuples(con: Connection, sql: str, params: dict[str, object] | None = None
                   ) -> tuple[list[str], list[tuple[object, ...]]]:
    """The column names and rows of a query, values as DuckDB gives them."""
    with translated():
        cur = con.execute(sql, params)
        return [d[0] for d in cur.description or []], [tuple(r) for r in cur.fetchall()]


def describe(con: Connection, sql: str) -> list[tuple[str, str]]:
    """Bind a query without running it: its output columns and DuckDB types."""
    count("sql bound")
    with translated():
        rows = con.execute(f"describe {sql}").fetchall()
    return [(r[0], r[1]) for r in rows]


def user_tables(con: Connection, catalog: str | None = None) -> dict[str, str | None]:
    """Tables and views of the main schema, with their comments."""
    with translated():
        rows = con.execute(
            "select table_name, comment from duckdb_tables() "
            "where schema_name = 'main' and not temporary and database_name = coalesce($db, current_database()) "
            "union all select view_name, comment from duckdb_views() "
            "where schema_name = 'main' and not temporary and not internal "
            "and database_name = coalesce($db, current_database())",
            {"db": catalog},
        ).fetchall()
    return {r[0]: r[1] for r in rows}
