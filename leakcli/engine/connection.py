"""DuckDB connections and what runs on them: opening (and naming a damaged file), the lockdown,
model builds, and the small queries every floor asks. The only package that imports duckdb.

Paths and data values reach DuckDB as parameters, never pasted into SQL.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli.engine.sqltext import first_line, quote_ident
from leakcli.errors import ExecutionError, LockedError

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection


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
