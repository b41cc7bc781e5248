"""How the unit tests of contracts/unit-tests.json (LEAK-SPEC §12) run, for `leakcli test` and for
apply: each on its given rows in one in-memory DuckDB with file access off (no data file is read and
nothing is written).

Each input of a model is a table typed as the registry (a model) or the manifest (a source table)
declares it, filled with a test's given rows (cast by DuckDB from their text); the model's template is
rendered (with the test's `vars` in a copy of the catalog), its ref() and source() pointed at those
tables, and run (or the CTE the test names); what it returns is compared with the expected rows
(unitcompare.py). The final SELECT must also keep the registry's columns and types."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from leakcli.commands.unitcompare import Difference, compare
from leakcli.contracts.load import UNIT_TESTS
from leakcli.contracts.questions import Questions
from leakcli.engine.sqltext import quote_ident
from leakcli.errors import BlockingAmbiguity
from leakcli.jsonout import digest, jsonable
from leakcli.plan.unittests import check_unit_tests, inputs_of, typed_rows, with_vars

if TYPE_CHECKING:
    from leakcli.cache import Cache, Section
    from leakcli.context import Project
    from leakcli.contracts.load import Contracts
    from leakcli.contracts.unittests import UnitTest
    from leakcli.engine.connection import Connection
    from leakcli.render.renderer import Renderer


@dataclass
class UnitResult:
    """One unit test's outcome: pass, fail (the difference), or error (the model could not run on the rows)."""

    id: str
    model: str
    description: str
    decision: str | None
    location: str  # contracts/unit-tests.json#/tests/<i>
    status: str = "pass"  # pass | fail | error
    seconds: float = 0.0
    expected_rows: int = 0
    actual_rows: int = 0
    columns: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    difference: Difference = field(default_factory=Difference)
    problems: list[str] = field(default_factory=list)  # the model's columns against the registry
    message: str = ""

    def to_dict(self) -> dict[str, object]:
        d = self.difference
        return {"id": self.id, "model": self.model, "description": self.description, "decision": self.decision,
                "location": self.location, "status": self.status, "seconds": round(self.seconds, 4),
                "expected_rows": self.expected_rows, "actual_rows": self.actual_rows,
                "missing": jsonable(d.missing), "unexpected": jsonable(d.unexpected),
                "changed": [{"key": jsonable(ch.key), "position": ch.position,
                             "cells": [{"column": c.column, "expected": jsonable(c.expected),
                                        "actual": jsonable(c.actual)} for c in ch.cells]} for ch in d.changed],
                "problems": self.problems, "message": self.message}


def refuse_invalid(project: Project, models: set[str] | None, renderer: Renderer, con: Connection | None = None
                   ) -> None:
    """Stop (exit 2) on a test that is invalid against the contracts, named at its JSON pointer."""
    from leakcli.errors import RenderError

    c = project.contracts
    rendered = {}
    for name in {t.model for t in c.unit_tests.tests if t.cte and t.model in c.models
                 and (models is None or t.model in models)}:
        try:
            rendered[name] = renderer.render_model(name)
        except RenderError:
            pass  # the test errors when it runs
    q = Questions()
    check_unit_tests(c, rendered, q, only=models, con=con)
    blocking = q.blocking
    if blocking:
        first = blocking[0]
        raise BlockingAmbiguity(f"{len(blocking)} problem(s) with the unit tests. First: {first.question}",
                                [a.to_dict() for a in blocking], file=first.location)


def run_unit_tests(project: Project, models: Iterable[str] | None = None, tests: list[UnitTest] | None = None,
                   *, ids: Iterable[str] = (), checked: bool = False, passed: Section | None = None
                   ) -> list[UnitResult]:
    """Run the tests of `models` and the tests of `ids` (every test without either), or the `tests`
    given, after checking them (unless plan has: `checked`). With `passed` (apply's cache), a test that
    passed before on the same SQL, rows and versions is not run again."""
    c = project.contracts
    chosen, named = (None if models is None else set(models)), set(ids)
    every = chosen is None and not named
    shipped = list(enumerate(c.unit_tests.tests))  # a test given (one --create writes) comes after them
    picked = [(i, t) for i, t in shipped if every or t.model in (chosen or ()) or t.id in named] if tests is None \
        else [(len(shipped) + k, t) for k, t in enumerate(tests)]
    if not picked:
        return []
    with ModelRunner(project) as runner:
        if tests is None and not checked:
            refuse_invalid(project, None if every else {t.model for _, t in picked}, runner.base, runner.con)
        return [run_one(runner, test, index, passed) for index, test in picked]


def passed_memo(cache: Cache) -> Section:
    """This module's section of the cache: the key (ModelRunner.key) of each test that passed -> True."""
    return cache.section("passed", "1")


class RunError(Exception):
    """The model could not run on a test's rows: why, in a person's words."""


class ModelRunner:
    """Where unit tests run: one in-memory DuckDB with file access off, each input of a model a table
    of its own name (emptied and filled for each test), each model's SQL prepared once per catalog
    (a test's vars) and CTE, and run with DuckDB's optimizer off (on a handful of rows, planning the
    marts' queries costs ten times more than running them)."""

    def __init__(self, project: Project) -> None:
        from leakcli.render.renderer import render_memo, renderer_for

        self.c = project.contracts
        self.base = renderer_for(self.c, render_memo(project.cache))
        self._renderers: dict[str, Renderer] = {}
        self._tables: set[str] = set()
        self._prepared: dict[str, str | RunError] = {}
        self._con: Connection | None = None

    @property
    def con(self) -> Connection:
        """The in-memory database, opened when a test first runs."""
        if self._con is None:
            from leakcli.engine.connection import connect, execute, lockdown

            con = connect(memory_limit=self.c.phase_plan.engine.limit())
            try:
                execute(con, "set threads = 1")
                execute(con, "pragma disable_optimizer")
                lockdown(con)  # no file, no extension: the rows are all there is
            except BaseException:
                con.close()
                raise
            self._con = con
        return self._con

    def __enter__(self) -> ModelRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._con is not None:
            self._con.close()

    def renderer(self, test: UnitTest) -> Renderer:
        """The renderer of the test's catalog: the project's, or a copy with the test's vars."""
        if not test.vars:
            return self.base
        key = digest(dict(test.vars))
        if key not in self._renderers:
            catalog = with_vars(self.c.catalog, dict(test.vars))
            if catalog == self.c.catalog:  # vars that pin the catalog's own values: its renders serve
                self._renderers[key] = self.base
            else:
                changed = dataclasses.replace(self.c, catalog=catalog,
                                              digests={**self.c.digests, f"{UNIT_TESTS}#vars": key})
                self._renderers[key] = self.base.with_contracts(changed)
        return self._renderers[key]

    def sql(self, test: UnitTest) -> str:
        """The SQL the test runs: its model's (or CTE's), ref() and source() pointed at the test's tables; a
        RunError when the template does not render or reads an input the test does not give."""
        from leakcli.engine.sqltext import select_from_cte
        from leakcli.errors import RenderError

        try:
            r = self.renderer(test).render_model(test.model)
        except RenderError as exc:
            raise RunError(f"the template does not render: {exc.one_line()}") from None
        inputs = inputs_of(self.c, test.model)
        unknown: list[str] = []

        def relation(name: str, table: str | None) -> str:
            key = name if table is None else table
            if key not in inputs or (table is not None and inputs[key].source != name):
                unknown.append(key if table is None else f"{name}.{table}")
            return quote_ident(f"unit_input__{key}")

        sql = r.resolve(relation)
        if unknown:
            raise RunError(f"the template reads {', '.join(sorted(set(unknown)))}, which the test does not give "
                           f"(it gives {', '.join(test.given)})")
        if test.cte is not None:
            sql = select_from_cte(sql, test.cte) or ""
            if not sql:
                raise RunError(f"the template has no CTE '{test.cte}'")
        return sql

    def key(self, test: UnitTest, sql: str) -> str:
        """What the test's outcome depends on: the SQL it runs, the test itself, the columns its inputs
        and its model declare, and the versions of leakcli and DuckDB."""
        from leakcli import __version__
        from leakcli.engine.parse import duckdb_version

        inputs = inputs_of(self.c, test.model)
        return digest({"sql": sql, "test": test.model_dump(mode="json"),
                       "inputs": {n: [i.columns, i.null_tokens] for n, i in inputs.items()},
                       "declared": self.c.models[test.model].declared, "grain": self.c.models[test.model].grain,
                       "segment": [*self.c.catalog.segment.keys, self.c.catalog.segment.time_column],
                       "versions": [__version__, duckdb_version()]})

    def rows(self, test: UnitTest, sql: str | None = None) -> tuple[list[tuple[str, str]], list[tuple[object, ...]]]:
        """What the test's model (or its CTE) returns on the test's given rows: its columns (name, type)
        and rows; a RunError when the SQL cannot be made (sql) or fails on the rows."""
        from leakcli.engine.connection import QueryError, execute
        from leakcli.engine.rows import create_rows, refill, typed_query

        sql = self.sql(test) if sql is None else sql
        inputs = inputs_of(self.c, test.model)
        try:
            for name, inp in inputs.items():
                table = f"unit_input__{name}"
                if table not in self._tables:
                    create_rows(self.con, table, inp.columns, [])
                    self._tables.add(table)
            if sql not in self._prepared:
                statement = f"unit_test_{len(self._prepared)}"
                try:
                    execute(self.con, f"prepare {statement} as\n{sql}")
                    self._prepared[sql] = statement
                except QueryError as exc:
                    self._prepared[sql] = RunError(f"the model does not bind against its inputs: {exc.detail}")
            prepared = self._prepared[sql]
            if isinstance(prepared, RunError):
                raise prepared
            for name, inp in inputs.items():
                refill(self.con, f"unit_input__{name}", inp.columns, typed_rows(test, inp))
            return typed_query(self.con, f"execute {prepared}")
        except QueryError as exc:
            raise RunError(f"the model fails on the given rows: {exc.detail}") from None


def run_one(runner: ModelRunner, test: UnitTest, index: int, passed: Section | None = None) -> UnitResult:
    """One test: its inputs filled, its model run, what it returns compared; with `passed`, a pass
    remembered for the same key instead, and a new pass remembered."""
    started = time.perf_counter()
    c = runner.c
    result = UnitResult(test.id, test.model, test.description, test.decision, f"{UNIT_TESTS}#/tests/{index}",
                        expected_rows=len(test.expect.rows))
    model = c.models[test.model]
    try:
        sql = runner.sql(test)
        key = runner.key(test, sql) if passed is not None else ""
        if passed is not None and passed.get(key):
            result.actual_rows = result.expected_rows
            result.message = "passed before on the same SQL, rows and versions: not run again"
            return result
        returned, rows = runner.rows(test, sql)
    except RunError as exc:
        result.status, result.message, result.seconds = "error", str(exc), time.perf_counter() - started
        return result
    names = [name for name, _ in returned]
    columns = list(test.expect.rows[0]) if test.expect.rows else []
    if test.cte is None and returned != model.declared:
        from leakcli.plan.binding import columns_diff

        result.problems.append(f"the model returns {columns_diff(returned, model.declared)}")
    absent = [col for col in columns if col not in names]
    if absent:
        result.problems.append(f"the model returns no column {', '.join(absent)}")
    actual = [dict(zip(names, row, strict=True)) for row in rows]
    result.keys = key_columns(c, test.model, columns)
    result.columns = columns
    result.actual_rows = len(actual)
    result.difference = compare([dict(row) for row in test.expect.rows], columns, actual, result.keys,
                                ordered=test.expect.ordered, tolerance=test.expect.tolerance)
    result.seconds = time.perf_counter() - started
    if result.difference.none and not result.problems:
        if passed is not None:
            passed.put(key, True)
        return result
    result.status = "fail"
    result.message = "; ".join([*result.problems, result.difference.summary()] if not result.difference.none
                               else result.problems)
    return result


def key_columns(c: Contracts, model: str, columns: list[str]) -> list[str]:
    """The columns that name a row of `model` among `columns`: its grain, else the segment keys and month."""
    grain = [g for g in c.models[model].grain if g in columns]
    segment = [k for k in (*c.catalog.segment.keys, c.catalog.segment.time_column) if k in columns]
    return grain or segment
