"""`show MODEL`: preview rows of a built model (read-only)."""

from __future__ import annotations

from pathlib import Path

from leakcli.errors import UsageError
from leakcli.jsonout import closest, envelope
from leakcli.project import Paths


def show_rows(root: Path, model: str, limit: int) -> tuple[list[str], list[list[object]], dict[str, object]]:
    from leakcli.engine import connect, describe, rows_as_dicts, user_tables
    from leakcli.sql import quote_ident

    paths = Paths(root)
    if not paths.database.exists():
        raise UsageError("nothing is built yet: run `leakcli apply` first",
                         file=paths.rel(paths.database))
    if limit < 0:
        raise UsageError("--limit must be 0 or more")
    con = connect(paths.database, read_only=True, shown=paths.rel(paths.database))
    try:
        tables = sorted(user_tables(con))
        if model not in tables:
            close = closest(model, tables)
            hint = f"; did you mean '{close}'?" if close else ""
            raise UsageError(f"model '{model}' is not built{hint}", file=paths.rel(paths.database))
        columns = [name for name, _ in describe(con, f"select * from {quote_ident(model)}")]
        records = rows_as_dicts(con, f"select * from {quote_ident(model)} limit $n", {"n": limit})
    finally:
        con.close()
    rows = [list(r.values()) for r in records]
    return columns, rows, envelope(model=model, columns=columns, rows=records)
