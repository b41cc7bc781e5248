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
    from leakcli.contracts.records import FileRecord

VERSION = "5"  # 5: an entry knows its file's lines, and the sha256 of the part a build read before
RACY_NS = 2_000_000_000  # a file modified less than 2 s before it was looked at is hashed again


class Entry(BaseModel):
    """One file as the cache keeps it."""

    identity: list[int]
    checked_ns: int  # when the identity was taken
    sha256: str
    lines: int
    newline_at_end: bool
    prefix: tuple[int, str] | None = None  # the size and sha256 of the file a build read before, when it began so
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
        self.prefixes: dict[str, tuple[int, str]] = {}  # table -> the size and sha256 its published record has

    def take(self, table: Table, path: Path, shown: str, key: str, *,
             previous: FileRecord | None = None) -> SourceFacts:
        """The record of `table`'s file at `path`, against what the published build read of it
        (`previous`): with what the cache holds for these very bytes under these very checks, else
        being read in the background for its sha256 (settle() waits for it)."""
        from leakcli.files import Digest, Hashing, file_identity

        checked_ns = time.time_ns()  # before the identity: a change after it is a change
        identity = file_identity(path)
        self.keys[table.name] = key
        fact = self.files[table.name] = SourceFacts(table.name, shown, path, True, identity=identity,
                                                    checked_ns=checked_ns, previous=previous)
        entry = self._lookup(table.name, identity)
        grown = previous is not None and previous.newline_at_end and identity[0] > previous.size
        if entry is not None and (not grown or previous is None or previous.sha256 == entry.sha256
                                  or (entry.prefix is not None and entry.prefix[0] == previous.size)):
            head = entry.prefix[1] if entry.prefix is not None else None
            if entry.prefix is not None:
                self.prefixes[table.name] = entry.prefix
            fact.digested(Digest(identity[0], entry.sha256, entry.lines, entry.newline_at_end, head))
            self._results(fact, key)
        else:
            fact.hashing = (Hashing(path, previous.size, (previous.sha256, previous.lines))
                            if grown and previous is not None else Hashing(path))
        return fact

    def settle(self, fact: SourceFacts) -> None:
        """Wait for the file's sha256 (read in the background); an unreadable file is a DataError."""
        from leakcli.errors import DataError

        if fact.hashing is None:
            return
        with phase(f"hashing {fact.file}"):
            try:
                digest = fact.hashing.result()
            except OSError as exc:
                raise DataError(f"cannot be read: {exc.strerror or exc}", file=fact.file) from None
        fact.hashing = None
        fact.digested(digest)
        if fact.previous is not None and digest.prefix_sha256 is not None:
            self.prefixes[fact.table] = (fact.previous.size, digest.prefix_sha256)
        if fact.stats is None and fact.reject is None:  # not checked this run yet: what the cache knows
            self._results(fact, self.keys[fact.table])

    def _results(self, fact: SourceFacts, key: str) -> None:
        found = self._entry(fact.table)
        if (found is not None and fact.previous is not None and found.sha256 == fact.previous.sha256
                and found.check_key == key and found.reject is None):
            fact.previous_stats = found.stats  # of the bytes the published build read: an append adds to them
        if found is not None and found.sha256 == fact.sha256 and found.check_key == key:
            fact.stats, fact.relations = found.stats, dict(found.relations)
            fact.reject = Reject(**found.reject) if found.reject else None  # type: ignore[arg-type]

    def missing(self, table: str, path: Path, shown: str, previous: FileRecord | None = None) -> SourceFacts:
        """The record of a file that is not there (or not a regular file)."""
        fact = self.files[table] = SourceFacts(table, shown, path, False, previous=previous)
        fact.change = "removed" if previous is not None else "new"
        return fact

    def keep(self) -> None:
        """Put what is known of every file hashed (and checked) into the cache (saved by its owner)."""
        for name, fact in self.files.items():
            if fact.exists and fact.sha256 and fact.lines is not None and fact.newline_at_end is not None:
                entry = Entry(identity=list(fact.identity), checked_ns=fact.checked_ns, sha256=fact.sha256,
                              lines=fact.lines, newline_at_end=fact.newline_at_end, prefix=self.prefixes.get(name),
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
