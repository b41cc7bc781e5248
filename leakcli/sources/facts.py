"""What the data checks learn of a source file: row and key counts, per-column nulls and flagged
values, cross-file relations. Plain records, kept in the source cache between commands."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from leakcli.engine.load import Reject

if TYPE_CHECKING:
    from leakcli.contracts.records import Change, FileRecord
    from leakcli.files import Digest, Hashing


class ValueCount(BaseModel):
    value: str
    n: int

    def __str__(self) -> str:
        return f"{self.value!r} ({self.n})"


class Hits(BaseModel):
    """Rows of a column that a check flags, and the most common of their values."""

    count: int = 0
    values: list[ValueCount] = []


class ColumnStats(BaseModel):
    nulls: int = 0
    null_like: Hits = Hits()  # undeclared null-like text (text columns)
    outside: Hits = Hits()  # values outside the accepted values
    new: Hits = Hits()  # values the profile never saw
    out_of_range: Hits = Hits()  # far outside the range its profile saw (a timestamp in 1969 or 9999)
    below: Hits = Hits()  # below the column's minimum (a negative price)


class RelationResult(BaseModel):
    """A relation checked on a child file: how many parent rows break it, the first line, its figures."""

    parent_sha256: str
    n: int
    line: int
    total: str
    limit: str


class TableStats(BaseModel):
    rows: int
    dup_pk: int
    columns: dict[str, ColumnStats]

    def plus(self, more: TableStats, repeated: int = 0) -> TableStats:
        """The stats of a file whose rows are this one's and `more`'s (rows appended to it; `repeated`
        of them repeat a key of the rows before)."""
        from collections import Counter

        def hits(a: Hits, b: Hits) -> Hits:
            counts = Counter({v.value: v.n for v in a.values})
            counts.update({v.value: v.n for v in b.values})
            ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
            return Hits(count=a.count + b.count, values=[ValueCount(value=v, n=n) for v, n in ranked])

        columns = {}
        for name, a in self.columns.items():
            b = more.columns.get(name, ColumnStats())
            kinds = ("null_like", "outside", "new", "out_of_range", "below")
            columns[name] = ColumnStats(nulls=a.nulls + b.nulls, **{k: hits(getattr(a, k), getattr(b, k))
                                                                     for k in kinds})
        return TableStats(rows=self.rows + more.rows, dup_pk=self.dup_pk + more.dup_pk + repeated, columns=columns)


@dataclass
class SourceFacts:
    """What the checks know of one source file."""

    table: str
    file: str  # as shown to the user
    path: Path
    exists: bool
    sha256: str = ""
    identity: tuple[int, ...] = ()
    checked_ns: int = 0  # when the identity was taken (a change within 2 s of it is hashed again)
    stats: TableStats | None = None
    reject: Reject | None = None
    deferred: bool = False  # apply computes the stats from the loaded table
    hashing: Hashing | None = None  # apply hashes the file while it loads: sha256 is "" until then
    relations: dict[str, RelationResult] = field(default_factory=dict)  # of the relations it is the child of
    lines: int | None = None  # newline characters, the header's included
    newline_at_end: bool | None = None
    previous: FileRecord | None = None  # what the published build read of this file
    previous_stats: TableStats | None = None  # what the checks found in it then (when the cache knows)
    change: Change = "new"  # against `previous` (LEAK-SPEC §11)

    @property
    def rows(self) -> int | None:
        return self.stats.rows if self.stats else None

    @property
    def size(self) -> int:
        return self.identity[0] if self.identity else 0

    def digested(self, digest: Digest) -> None:
        """What one read of the file found: its sha256, its lines, and against `previous` its change."""
        self.sha256, self.lines, self.newline_at_end = digest.sha256, digest.lines, digest.newline_at_end
        prev = self.previous
        if prev is None:
            self.change = "new"
        elif digest.sha256 == prev.sha256:
            self.change = "unchanged"
        elif digest.prefix_sha256 == prev.sha256 and prev.newline_at_end and digest.size > prev.size:
            self.change = "appended"
        else:
            self.change = "rewritten"

    def record(self) -> FileRecord | None:
        """What a build keeps of this file for the next plan (None while it is not known whole)."""
        from leakcli.contracts.records import FileRecord

        if not self.exists or not self.sha256 or self.lines is None or self.newline_at_end is None:
            return None
        return FileRecord(size=self.size, sha256=self.sha256, rows=self.rows, lines=self.lines,
                          newline_at_end=self.newline_at_end)
