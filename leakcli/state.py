"""What the last build left: per-model metadata stored as the comment of each table.

Keeping the metadata inside the database file makes it part of the same atomic swap as the data,
so it can never disagree with the tables it describes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leakcli.model import BuildMeta

META_KEY = "leakcli"


def encode(meta: BuildMeta) -> str:
    return json.dumps({META_KEY: meta.to_dict()}, sort_keys=True, separators=(",", ":"))


def decode(comment: str | None) -> BuildMeta | None:
    """The metadata leakcli wrote; None for a table it did not build (or an older, other shape)."""
    from pydantic import ValidationError

    from leakcli.model import BuildMeta

    if not comment:
        return None
    try:
        doc = json.loads(comment)
        return BuildMeta.model_validate(doc[META_KEY]) if isinstance(doc, dict) and META_KEY in doc else None
    except (json.JSONDecodeError, ValidationError):
        return None


def built_from(built: dict[str, BuildMeta | None], models: list[str]) -> BuildMeta | None:
    """The metadata of the first of `models` that leakcli built: what the answer was made from."""
    return next((meta for name in models if (meta := built.get(name)) is not None), None)


def read_state(database: Path, shown: str | None = None) -> dict[str, BuildMeta | None]:
    """The tables of the built database and their metadata; empty when nothing was built. A database
    that cannot be read is a DamagedDatabase error."""
    if not database.exists():
        return {}
    import duckdb

    from leakcli.engine import DamagedDatabase, connect, user_tables

    con = connect(database, read_only=True, shown=shown)
    try:
        return {name: decode(comment) for name, comment in user_tables(con).items()}
    except duckdb.Error:
        raise DamagedDatabase(shown or str(database)) from None
    finally:
        con.close()
