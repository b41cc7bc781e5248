"""What the last build left: per-model metadata stored as the comment of each table.

Keeping the metadata inside the database file makes it part of the same atomic swap as the data,
so it can never disagree with the tables it describes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from leakcli.errors import ExecutionError

META_KEY = "leakcli"


def encode(meta: dict[str, Any]) -> str:
    return json.dumps({META_KEY: meta}, sort_keys=True, separators=(",", ":"))


def decode(comment: str | None) -> dict[str, Any] | None:
    if not comment:
        return None
    try:
        doc = json.loads(comment)
    except json.JSONDecodeError:
        return None
    meta = doc.get(META_KEY) if isinstance(doc, dict) else None
    return meta if isinstance(meta, dict) else None


def read_state(database: Path) -> dict[str, dict[str, Any] | None]:
    """The tables of the built database and their metadata; empty when nothing was built."""
    if not database.exists():
        return {}
    import duckdb

    from leakcli.engine import connect, user_tables

    con = connect(database, read_only=True)
    try:
        return {name: decode(comment) for name, comment in user_tables(con).items()}
    except duckdb.Error as exc:
        raise ExecutionError(f"cannot read the built database: {exc}", file=str(database)) from None
    finally:
        con.close()
