"""`show MODEL`: preview rows of a built model (read-only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from leakcli.errors import UsageError
from leakcli.project import Paths


def show_rows(root: Path, model: str, limit: int) -> tuple[list[str], list[list[Any]], dict[str, Any]]:
    import difflib

    from leakcli.engine import connect, user_tables
    from leakcli.render import quote_ident
    from leakcli.verify import jsonable

    paths = Paths(root)
    if not paths.database.exists():
        raise UsageError("nothing is built yet: run `leakcli apply` first",
                         file=paths.rel(paths.database))
    if limit < 0:
        raise UsageError("--limit must be 0 or more")
    con = connect(paths.database, read_only=True)
    try:
        tables = sorted(user_tables(con))
        if model not in tables:
            close = difflib.get_close_matches(model, tables, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise UsageError(f"model '{model}' is not built{hint}", file=paths.rel(paths.database))
        cur = con.execute(f"select * from {quote_ident(model)} limit $n", {"n": limit})
        columns = [d[0] for d in cur.description]
        rows = [jsonable(list(r)) for r in cur.fetchall()]
    finally:
        con.close()
    doc = {"schema_version": 1, "model": model, "columns": columns,
           "rows": [dict(zip(columns, r, strict=True)) for r in rows]}
    return columns, rows, doc
