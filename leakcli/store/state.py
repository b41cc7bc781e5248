"""What the last build left: per-model metadata stored as the comment of each table.

Keeping the metadata inside the database file makes it part of the same atomic swap as the data,
so it can never disagree with the tables it describes. A build also leaves a summary beside its
database (`state.json`: the tables and their comments, row counts, the first rows of the priority
model; contracts/records.py's BuildState), written after the database was closed and keyed by the
file's identity (files.file_identity): while that identity holds, plan and a no-op apply read the summary and open no
database; any write to the file, or a WAL beside it, sends them back to the database itself.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli.contracts.records import BuildState
from leakcli.files import read_bytes

Summary = BuildState  # what a closed build database holds, as far as plan and apply ask

if TYPE_CHECKING:
    from leakcli.contracts.records import BuildMeta, FileRecord

META_KEY = "leakcli"
SUMMARY = "state.json"
SOURCES = "sources.json"  # in each build: what it read of each source file (LEAK-SPEC §11)


def encode(meta: BuildMeta) -> str:
    return json.dumps({META_KEY: meta.to_dict()}, sort_keys=True, separators=(",", ":"))


def decode(comment: str | None) -> BuildMeta | None:
    """The metadata leakcli wrote; None for a table it did not build (or an older, other shape)."""
    from pydantic import ValidationError

    from leakcli.contracts.records import BuildMeta

    if not comment:
        return None
    try:
        doc = json.loads(comment)
        return BuildMeta.model_validate(doc[META_KEY]) if isinstance(doc, dict) and META_KEY in doc else None
    except (json.JSONDecodeError, ValidationError):
        return None


def built_from(built: dict[str, BuildMeta | None], models: list[str]) -> BuildMeta | None:
    """The metadata of the first of `models` that leakcli built (what the answer was made from), else
    of any table it built (a build of part of the DAG, `apply --select`)."""
    return next((meta for name in [*models, *built] if (meta := built.get(name)) is not None), None)


def published_dataset(database: Path, root: Path, models: list[str], *, trust_summary: bool = True) -> Path | None:
    """The data directory the published build (`database`) was made from; None when nothing leakcli
    built is published or the database cannot be read."""
    from leakcli.engine.connection import DamagedDatabase

    try:
        meta = built_from(read_state(database, trust_summary=trust_summary), models)
    except DamagedDatabase:
        return None
    return root / meta.dataset.path if meta is not None else None


def write_summary(database: Path, summary: BuildState) -> None:
    """Call after the database is closed for good, with its summary (identity left empty); best
    effort (without it, readers open the file)."""
    from leakcli.files import file_identity, write_atomic

    with contextlib.suppress(OSError, ValueError):
        doc = summary.model_copy(update={"identity": list(file_identity(database))}).model_dump(mode="json",
                                                                                                by_alias=True)
        write_atomic(database.parent / SUMMARY, json.dumps(doc, sort_keys=True, allow_nan=False))


def read_summary(database: Path) -> BuildState | None:
    """The summary of `database` while the file is exactly as its build closed it; else None (no
    summary, another shape, or a file touched since)."""
    from pydantic import ValidationError

    from leakcli.files import file_identity

    real = database.resolve()
    if real.with_name(real.name + ".wal").exists():
        return None
    try:
        summary = BuildState.model_validate_json(read_bytes(real.parent / SUMMARY))
        return summary if summary.identity == list(file_identity(real)) else None
    except (OSError, ValidationError):
        return None


def read_state(database: Path, shown: str | None = None, *, trust_summary: bool = True
               ) -> dict[str, BuildMeta | None]:
    """The tables of the built database and their metadata; empty when nothing was built. A database
    that cannot be read is a DamagedDatabase error. `trust_summary`: the cache is on, so the build's
    summary may stand in for its database while the file is untouched."""
    if not database.exists():
        return {}
    summary = read_summary(database) if trust_summary else None
    if summary is not None:
        return {name: decode(comment) for name, comment in summary.tables.items()}
    from leakcli.engine.connection import DamagedDatabase, QueryError, connect, user_tables

    con = connect(database, read_only=True, shown=shown)
    try:
        return {name: decode(comment) for name, comment in user_tables(con).items()}
    except QueryError:
        raise DamagedDatabase(shown or str(database)) from None
    finally:
        con.close()


def write_sources(folder: Path, records: dict[str, FileRecord]) -> None:
    """Keep with a build what it read of each source file, for the next plan to tell what changed."""
    from leakcli.files import write_atomic

    doc = {"version": 1, "files": {t: r.model_dump(mode="json") for t, r in sorted(records.items())}}
    write_atomic(folder / SOURCES, json.dumps(doc, indent=1, sort_keys=True) + "\n")


def read_sources(folder: Path) -> dict[str, FileRecord]:
    """What the build in `folder` read of each source file; nothing when it does not say (an older
    build, or a record that does not validate: every file then counts as new)."""
    from pydantic import ValidationError

    from leakcli.contracts.records import FileRecord

    try:
        doc = json.loads(read_bytes(folder / SOURCES, 10_000_000))
        if not isinstance(doc, dict) or doc.get("version") != 1 or not isinstance(doc.get("files"), dict):
            return {}
        return {str(t): FileRecord.model_validate(r) for t, r in doc["files"].items()}
    except (OSError, ValueError, ValidationError):
        return {}


def published_months(database: Path, month_model: str, month_column: str, *, trust_summary: bool = True) -> int | None:
    """How many months the published build's data holds (from its summary, else its month model)."""
    if not database.exists():
        return None
    summary = read_summary(database) if trust_summary else None
    if summary is not None:
        return summary.growth.months if summary.growth is not None else None
    from leakcli.engine.connection import DamagedDatabase, QueryError, connect, one_row, user_tables
    from leakcli.engine.sqltext import quote_ident

    try:
        con = connect(database, read_only=True)
    except DamagedDatabase:
        return None
    try:
        if month_model not in user_tables(con):
            return None
        (n,) = one_row(con, f"select count(distinct {quote_ident(month_column)}) from {quote_ident(month_model)}")
        return int(str(n))
    except QueryError:
        return None
    finally:
        con.close()
