"""What the data checks learnt of each source file, kept in target/.cache/sources.json.

As git's index does, a file is known by its identity (size, mtime_ns, ctime_ns, inode, device): while that is
unchanged its sha256 is not computed again, and while its sha256 and the checks asked of it are
unchanged its results are not computed again. apply writes the cache (under the build lock, from the
tables it loads anyway); plan only reads it, so plan stays pure.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ValidationError

from leakcli.engine.load import Reject
from leakcli.files import read_bytes
from leakcli.sources.facts import RelationResult, SourceFacts, TableStats

if TYPE_CHECKING:
    from leakcli.contracts.documents import Table

CACHE_FILE = Path(".cache") / "sources.json"
VERSION = 2  # 2: a reject was once looked up in the last scan of any file, and cached for the wrong one
RACY_NS = 2_000_000_000  # a file modified less than 2 s before the cache was written is hashed again


class Entry(BaseModel):
    identity: list[int]
    sha256: str
    check_key: str
    stats: TableStats | None = None
    reject: dict[str, object] | None = None
    relations: dict[str, RelationResult] = {}


class CacheDoc(BaseModel):
    version: int = VERSION
    written_ns: int = 0
    files: dict[str, Entry] = {}
    queries: dict[str, object] = {}  # results of acceptance-test queries of source files alone
    engine: str = ""  # the DuckDB version whose parser made clean_sql and sql_digests
    clean_sql: list[str] = []  # sha256 of the SQL found to be one clean SELECT
    sql_digests: dict[str, str] = {}  # sha256 of SQL text -> what it means (sql.sql_digest)
    rendered: dict[str, dict[str, object]] = {}  # templates rendered before (render.RENDERED)
    bound: str = ""  # key of the last set of models that bound cleanly against their declared inputs


def check_key(table: Table, null_like: list[str], known: dict[str, list[str]] | None) -> str:
    """Everything the checks of a file depend on besides its bytes."""
    doc = {"table": table.model_dump(mode="json"), "null_like": null_like, "known": known or {}}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


class SourceCache:
    """target/.cache/sources.json, read by plan and written by apply."""

    def __init__(self, target: Path, doc: CacheDoc) -> None:
        self.path = target / CACHE_FILE
        self.doc = doc

    @classmethod
    def read(cls, target: Path) -> SourceCache:
        """The cache under `target`; an unreadable or foreign one counts as empty."""
        path = target / CACHE_FILE
        from leakcli.engine import parse as sql
        from leakcli.render import renderer as render

        try:
            doc = CacheDoc.model_validate_json(read_bytes(path)) if path.is_file() else CacheDoc()
        except (OSError, ValidationError):
            doc = CacheDoc()
        doc = doc if doc.version == VERSION else CacheDoc()
        render.RENDERED.known.update(doc.rendered)
        if doc.engine == sql.duckdb_version():
            sql.CLEAN.known.update(dict.fromkeys(doc.clean_sql, True))
            sql.DIGESTS.known.update(doc.sql_digests)
        return cls(target, doc)

    def lookup(self, table: str, identity: tuple[int, ...]) -> Entry | None:
        """The entry of a file whose identity is unchanged, unless it changed too close to when the
        cache was written to tell ("racy" as git calls it): then its sha256 is computed again."""
        entry = self.doc.files.get(table)
        if entry is None or tuple(entry.identity) != identity:
            return None
        changed = max(identity[1], identity[2])  # mtime, and ctime (which `touch -r` cannot set back)
        return entry if changed + RACY_NS < self.doc.written_ns else None

    def results(self, table: str, sha256: str, key: str) -> _Known | None:
        entry = self.doc.files.get(table)
        if entry is None or entry.sha256 != sha256 or entry.check_key != key:
            return None
        reject = Reject(**entry.reject) if entry.reject else None  # type: ignore[arg-type]
        return _Known(entry.stats, reject, entry.relations)

    def remember(self, facts: dict[str, SourceFacts], keys: dict[str, str]) -> None:
        for name, fact in facts.items():
            if fact.exists and fact.sha256 and (fact.stats is not None or fact.reject is not None):
                self.doc.files[name] = Entry(
                    identity=list(fact.identity), sha256=fact.sha256, check_key=keys[name], stats=fact.stats,
                    reject=vars(fact.reject) if fact.reject else None, relations=fact.relations)

    def write(self) -> None:
        """Best effort: a cache that cannot be written only costs time."""
        from leakcli.engine import parse as sql
        from leakcli.files import write_atomic
        from leakcli.render import renderer as render

        self.doc.written_ns = time.time_ns()
        self.doc.engine = sql.duckdb_version()
        self.doc.clean_sql = sorted(sql.CLEAN.used)
        self.doc.sql_digests = dict(sorted(sql.DIGESTS.used.items()))
        self.doc.rendered = dict(sorted(render.RENDERED.used.items()))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, self.doc.model_dump_json())
        except OSError:
            pass


class _Known:
    def __init__(self, stats: TableStats | None, reject: Reject | None,
                 relations: dict[str, RelationResult]) -> None:
        self.stats, self.reject, self.relations = stats, reject, relations
