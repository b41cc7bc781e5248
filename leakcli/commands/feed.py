"""The source files of one build, each read once. A file the checks already vouch for (the cache or
a profile of the very same bytes) is read in place by the models, as raw DuckDB would read it. Any
other is loaded into memory when a model first needs it, checked from what was loaded, and dropped
as soon as no model, cross-file rule or audit query still needs it. Smaller files are loaded before
a larger one, so the checks across files (the manifest's relations, the audit's queries of sources
alone) run while every file they read is loaded, and at most one large file is held at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from leakcli.commands.audit import Runner, answer, source_queries
from leakcli.commands.records import BUILD_ACTIONS
from leakcli.engine.connection import execute
from leakcli.engine.load import Reject, load_sources
from leakcli.engine.sqltext import inline_params, quote_ident, source_relation
from leakcli.sources.relations import read_in_place

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from leakcli.contracts.load import Contracts
    from leakcli.contracts.records import ModelStep, Plan
    from leakcli.engine.connection import Connection
    from leakcli.sources.checks import SourceChecks
    from leakcli.sources.facts import SourceFacts


@dataclass
class _Rule:
    """A check that reads several source tables: a relation of the manifest, or an audit query."""

    tables: frozenset[str]
    relation: str | None = None  # the relation's name
    query: tuple[str, str] | None = None  # test id, rendered SQL


@dataclass
class Feed:
    db: Connection
    c: Contracts
    checks: SourceChecks
    data_path: Path
    display: Callable[[Path], str]
    runner: Runner
    to_load: list[str]  # smallest file first
    readers: dict[str, set[str]]  # loaded table -> models still to build that read it
    rules: list[_Rule]
    in_place: set[str]  # read in place by the models (a view over the file)
    clean: set[str]  # every file the checks vouch for (a relation reads one in place)
    loaded: set[str] = field(default_factory=set)
    done: set[str] = field(default_factory=set)  # loaded, checked and dropped
    rejects: dict[str, Reject | None] = field(default_factory=dict)

    @classmethod
    def of(cls, plan: Plan, checks: SourceChecks, kept: set[str], runner: Runner,
           display: Callable[[Path], str]) -> Feed:
        """The feed of the models `plan` builds (beside the `kept` ones), on the runner's connection."""
        c, facts, clean = runner.c, checks.facts, checks.clean
        to_build = [m for m in plan.models if m.action in BUILD_ACTIONS]
        wanted = {t for m in to_build for t in _tables(m)} | set(checks.deferred)
        in_place = wanted & clean
        to_load = sorted(wanted - in_place, key=lambda t: (_size(facts[t]), t))
        readers = {t: {m.name for m in to_build if t in _tables(m)} for t in to_load}
        loading = set(to_load)
        rules = [_Rule(tables, relation=name) for name, tables in checks.relations_to_check(loading).items()]
        in_build = {m.name for m in to_build} | kept
        tests = [t for t in c.tests.tests if t.severity == "error" and all(m in in_build for m in t.models_read(
            c.ir.models))]
        rules += [_Rule(tables, query=(test_id, sql)) for test_id, sql, tables in source_queries(runner, tests)
                  if tables & loading and tables <= loading | in_place]  # the others come from the cache
        feed = cls(runner.con, c, checks, runner.data_dir, display, runner, to_load, readers, rules, in_place, clean)
        feed.read_in_place(in_place)
        return feed

    def read_in_place(self, tables: set[str]) -> None:
        """Each of `tables` (files the checks vouch for) a view over its file, as raw DuckDB reads it."""
        for t in sorted(tables):
            read, params = read_in_place(self.c, self.checks.facts[t].path)
            execute(self.db, f"create or replace temp view {self._relation(t)} as "
                             f"select * from {inline_params(read, params)}")
        self.in_place |= tables

    def _ready(self, rule: _Rule) -> bool:
        """Every table the rule reads can be read now: loaded, or read in place."""
        return rule.tables <= self.loaded | (self.clean if rule.relation is not None else self.in_place)

    def before(self, step: ModelStep) -> None:
        """Load the tables `step` reads (and every smaller file still to load, first)."""
        needed = [t for t in _tables(step) if t in self.readers and t not in self.loaded]
        if needed:
            largest = max(self.to_load.index(t) for t in needed)
            for t in self.to_load[:largest + 1]:
                if t not in self.loaded and t not in self.done:
                    self._load(t)

    def after(self, step: ModelStep) -> None:
        for readers in self.readers.values():
            readers.discard(step.name)
        self._drop_unneeded()

    def finish(self) -> None:
        """Load and check the files no built model read (their checks were deferred too), then drop all."""
        for t in self.to_load:
            if t not in self.loaded and t not in self.done:
                self._load(t)
        for readers in self.readers.values():
            readers.clear()
        self._drop_unneeded()

    def _load(self, table: str) -> None:
        load_sources(self.db, self.c, self.data_path, [table], display=self.display, rejects=self.rejects)
        self.loaded.add(table)
        self.checks.loaded(self.db, table, self._relation(table), self.rejects.get(table))
        for rule in [r for r in self.rules if self._ready(r)]:
            self.rules.remove(rule)
            if rule.relation is not None:
                self.checks.relation(self.db, rule.relation, self._relation_of)
            elif rule.query is not None:
                answer(self.runner, *rule.query)
        self._drop_unneeded()

    def _relation(self, table: str) -> str:
        return quote_ident(source_relation(self.c.source_name, table))

    def _relation_of(self, table: str) -> tuple[str, dict[str, object]]:
        if table in self.loaded:
            return self._relation(table), {}
        return read_in_place(self.c, self.checks.facts[table].path)

    def _drop_unneeded(self) -> None:
        waiting = {t for r in self.rules for t in r.tables}
        for t in sorted(self.loaded):
            if not self.readers.get(t) and t not in waiting:
                execute(self.db, f"drop table {self._relation(t)}")
                self.loaded.discard(t)
                self.done.add(t)


def _tables(step: ModelStep) -> list[str]:
    return [s.split(".", 1)[1] for s in step.sources]


def _size(fact: SourceFacts) -> int:
    return fact.identity[0] if fact.identity else 0
