"""What leakcli remembers between runs, behind one object handed to whoever needs it.

One file, target/.cache/leakcli.json, in sections, each owned by one module and versioned by it:

    sql       engine/parse.py     DuckDB's verdicts on SQL texts (one clean SELECT; parse-tree digest)
    render    render/renderer.py  what each template rendered to, from the same text and contracts
    bind      plan/binding.py     the models and sources that last bound cleanly
    unit      plan/unittests.py   the unit tests whose values last cast cleanly to their columns' types
    passed    commands/unitrun.py the unit tests that passed on the same SQL, rows and versions (apply)
    sources   sources/inventory.py what the checks learnt of each source file, by identity and sha256
    queries   commands/audit.py   results of acceptance-test queries of source files alone

A section keeps what this run used or found, so what nothing asks for any more is dropped at the next
save. Only `apply` saves (plan stays pure). `Cache.off()` (`--no-cache`, `LEAKCLI_NO_CACHE=1`)
starts every section empty and saves nothing: every answer is the same, only slower. The summary a
build leaves beside its database (store/state.py) is trusted only while the cache is on.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

FILE = Path(".cache") / "leakcli.json"
VERSION = 3
NO_CACHE_ENV = "LEAKCLI_NO_CACHE"


class Section:
    """One owner's part of the cache: what earlier runs knew, and what this run used or found."""

    def __init__(self, known: dict[str, object] | None = None) -> None:
        self.known: dict[str, object] = dict(known or {})
        self.used: dict[str, object] = {}

    def get(self, key: str) -> object | None:
        value = self.known.get(key)
        if value is not None:
            self.used[key] = value
        return value

    def put(self, key: str, value: object) -> None:
        self.known[key] = self.used[key] = value


class Cache:
    """target/.cache/leakcli.json, read once when a section is first asked for; or, `off`, nothing."""

    def __init__(self, target: Path | None) -> None:
        self.path = target / FILE if target is not None else None
        self._stored: dict[str, object] | None = None
        self._sections: dict[str, tuple[str, Section]] = {}

    @classmethod
    def off(cls) -> Cache:
        """A cache that knows nothing and keeps nothing."""
        return cls(None)

    @classmethod
    def at(cls, target: Path, *, no_cache: bool = False) -> Cache:
        """The cache under `target`, unless `no_cache` or LEAKCLI_NO_CACHE (any value but 0 or empty) says off."""
        env = os.environ.get(NO_CACHE_ENV, "").strip()
        return cls.off() if no_cache or env not in ("", "0") else cls(target)

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def section(self, name: str, version: str = "1") -> Section:
        """The section `name` as this run sees it; what was stored under another version is unknown."""
        if name not in self._sections:
            stored = self._read().get(name)
            entries = stored.get("entries") if isinstance(stored, dict) and stored.get("version") == version else None
            self._sections[name] = (version, Section(entries if isinstance(entries, dict) else None))
        return self._sections[name][1]

    def save(self) -> None:
        """Write what each section used or found this run (sections not asked for stay as they were).
        Best effort: a cache that cannot be written only costs time next run."""
        if self.path is None or not self._sections:
            return
        from leakcli.files import write_atomic

        doc = dict(self._read())
        for name, (version, section) in self._sections.items():
            doc[name] = {"version": version, "entries": section.used}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, json.dumps({"version": VERSION, **doc}, sort_keys=True, allow_nan=False,
                                               separators=(",", ":")))
        except (OSError, ValueError):
            pass

    def _read(self) -> dict[str, object]:
        if self._stored is None:
            self._stored = {}
            if self.path is not None:
                from leakcli.files import read_json_file

                doc = read_json_file(self.path, limit=200_000_000)
                if isinstance(doc, dict) and doc.get("version") == VERSION:
                    self._stored = {k: v for k, v in doc.items() if k != "version"}
        return self._stored
