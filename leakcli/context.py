"""One project as a command sees it, made once at the command line's edge and handed down: where it
is (its root and target/, paths.py), its contracts (read and checked once, when first needed), and
what it remembers between runs (cache.py, or nothing with --no-cache). Nothing below the command line
builds paths or loads the contracts again."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli.cache import Cache
from leakcli.paths import Paths

if TYPE_CHECKING:
    from leakcli.contracts.load import Contracts


@dataclass(frozen=True, eq=False)  # one object per command: hashed by identity
class Project:
    """A project: where it is, its contracts (read once) and its cache."""

    paths: Paths
    cache: Cache

    @classmethod
    def at(cls, root: Path, target_dir: Path | None = None, *, no_cache: bool = False) -> Project:
        paths = Paths(root, target_dir)
        return cls(paths, Cache.at(paths.target, no_cache=no_cache))

    @functools.cached_property
    def contracts(self) -> Contracts:
        """Every contract of the project, read and validated on first use (a ContractError otherwise)."""
        from leakcli.contracts.load import load

        return load(self.paths.root)

    @property
    def root(self) -> Path:
        return self.paths.root

    def rel(self, path: Path) -> str:
        return self.paths.rel(path)
