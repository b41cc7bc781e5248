"""What the data checks learn of a source file: row and key counts, per-column nulls and flagged
values, cross-file relations. Plain records, kept in the source cache between commands."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from leakcli.engine.load import Reject

if TYPE_CHECKING:
    from leakcli.files import Hashing


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

    @property
    def rows(self) -> int | None:
        return self.stats.rows if self.stats else None
