"""What leakcli knows of each source file, in one place: the plan, the build and the checks share it.

Each file of a command is one SourceFacts record (facts.py), taken stock of here: its identity (size,
mtime_ns, ctime_ns, inode, device, as git's index keeps it), its sha256, and what the checks found
in it before. Across commands the record lives in this module's section of the cache (cache.py): while a
file's identity is unchanged its sha256 is not computed again, and while its sha256 and the checks
asked of it are unchanged their results are not computed again. apply keeps what it learnt (under
the build lock); plan only reads, so plan stays pure.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ValidationError

from leakcli.engine.load import Reject
from leakcli.progress import phase
from leakcli.sources.facts import RelationResult, SourceFacts, TableStats

if TYPE_CHECKING:
    from leakcli.cache import Cache, Section
    from leakcli.contracts.documents import Table

VERSION = "4"  # 4: one cache file in sections; each entry knows when its file was looked at
RACY_NS = 2_000_000_000  # a file modified less than 2 s before it was looked at is hashed again


class Entry(BaseModel):
    """One file as the cache keeps it."""

    identity: list[int]
    checked_ns: int  # when the identity was taken
    sha256: str
    check_key: str
    stats: TableStats | None = None
    reject: dict[str, object] | None = None
    relations: dict[str, RelationResult] = {}


def check_key(table: Table, null_like: list[str], known: dict[str, list[str]] | None) -> str:
    """Everything the checks of a file depend on besides its bytes."""
    doc = {"table": table.model_dump(mode="json"), "null_like": null_like, "known": known or {}}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


class Inventory:
    """The source files of one command: each taken stock of once, and kept in the cache by apply."""

    def __init__(self, cache: Cache) -> None:
        self.section: Section = cache.section("sources", VERSION)
        self.files: dict[str, SourceFacts] = {}
        self.keys: dict[str, str] = {}  # table -> the check key its results were looked up under

    def take(self, table: Table, path: Path, shown: str, key: str, *, later: bool = False) -> SourceFacts:
        """The record of `table`'s file at `path`: with what the cache holds for these very bytes under
        these very checks, else with its sha256 computed now (or, `later`, in the background)."""
        from leakcli.files import Hashing, file_identity, file_sha256

        checked_ns = time.time_ns()  # before the identity: a change after it is a change
        identity = file_identity(path)
        self.keys[table.name] = key
        entry = self._lookup(table.name, identity)
        if entry is not None:
            sha = entry.sha256
        elif later:
            fact = SourceFacts(table.name, shown, path, True, identity=identity, checked_ns=checked_ns,
                               hashing=Hashing(path))
            self.files[table.name] = fact
            return fact
        else:
            with phase(f"hashing {shown}"):
                sha = file_sha256(path)
        fact = SourceFacts(table.name, shown, path, True, sha256=sha, identity=identity, checked_ns=checked_ns)
        found = self._entry(table.name)
        if found is not None and found.sha256 == sha and found.check_key == key:
            fact.stats, fact.relations = found.stats, dict(found.relations)
            fact.reject = Reject(**found.reject) if found.reject else None  # type: ignore[arg-type]
        self.files[table.name] = fact
        return fact

    def missing(self, table: str, path: Path, shown: str) -> SourceFacts:
        """The record of a file that is not there (or not a regular file)."""
        fact = self.files[table] = SourceFacts(table, shown, path, False)
        return fact

    def keep(self) -> None:
        """Put what is known of every file hashed and checked into the cache (saved by its owner)."""
        for name, fact in self.files.items():
            if fact.exists and fact.sha256 and (fact.stats is not None or fact.reject is not None):
                entry = Entry(identity=list(fact.identity), checked_ns=fact.checked_ns, sha256=fact.sha256,
                              check_key=self.keys[name], stats=fact.stats,
                              reject=vars(fact.reject) if fact.reject else None, relations=fact.relations)
                self.section.put(name, entry.model_dump(mode="json"))

    def known_sha256(self, table: str, path: Path) -> str | None:
        """The sha256 the cache vouches for, for the file at `path` as it is now (no file is hashed)."""
        from leakcli.files import file_identity

        entry = self._lookup(table, file_identity(path)) if path.is_file() else None
        return entry.sha256 if entry is not None else None

    def _entry(self, table: str) -> Entry | None:
        raw = self.section.get(table)
        try:
            return Entry.model_validate(raw) if isinstance(raw, dict) else None
        except ValidationError:  # a damaged or forged entry is none
            return None

    def _lookup(self, table: str, identity: tuple[int, ...]) -> Entry | None:
        """The entry of a file whose identity is unchanged, unless it changed too close to when it
        was looked at to tell ("racy" as git calls it): then its sha256 is computed again."""
        entry = self._entry(table)
        if entry is None or tuple(entry.identity) != identity:
            return None
        changed = max(identity[1], identity[2])  # mtime, and ctime (which `touch -r` cannot set back)
        return entry if changed + RACY_NS < entry.checked_ns else None
