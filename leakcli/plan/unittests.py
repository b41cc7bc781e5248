"""What a unit test of contracts/unit-tests.json means against the other contracts (LEAK-SPEC §12):
the inputs of its model (the refs and sources the registry declares), each typed as the registry or
the manifest declares it, its given rows as text for DuckDB to cast, and plan's checks of every test
(each problem a blocking question at the test's JSON pointer) with its coverage of the models and the
decisions. Nothing here runs a model: commands/unitrun.py does."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from leakcli.contracts.load import DECISIONS, REGISTRY, UNIT_TESTS, Contracts
from leakcli.contracts.questions import Code, Questions
from leakcli.contracts.records import UnitCoverage
from leakcli.jsonout import closest, digest

if TYPE_CHECKING:
    from leakcli.cache import Cache, Section
    from leakcli.contracts.catalog import MetricCatalog
    from leakcli.contracts.unittests import UnitTest, Value
    from leakcli.engine.connection import Connection
    from leakcli.render.renderer import Rendered

Columns = list[tuple[str, str]]  # (name, DuckDB type), in declared order


@dataclass(frozen=True)
class Input:
    """One input of a model as a test gives it: a model it ref()s, or (a staging model) its source table."""

    name: str  # the key of `given`: the model's name, or the source table's
    source: str | None  # the source's name (maven) when it is a source table
    columns: Columns
    null_tokens: tuple[str, ...] = ()


def inputs_of(c: Contracts, model: str) -> dict[str, Input]:
    """The inputs of `model` as the registry declares them, typed by the registry and the manifest."""
    m = c.models[model]
    found: dict[str, Input] = {}
    for ref in m.depends_on.refs:
        if ref in c.models:
            found[ref] = Input(ref, None, c.models[ref].declared)
    for src in m.depends_on.sources:
        source, _, table = src.partition(".")
        if table in c.tables:
            t = c.tables[table]
            found[table] = Input(table, source, [(col.name, col.type) for col in t.columns], tuple(t.null_tokens))
    return found


def as_text(value: Value) -> str | None:
    """A JSON value as the text DuckDB casts to the column's type (None: NULL)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def given_rows(test: UnitTest, inp: Input) -> tuple[list[str], list[dict[str, str | None]]]:
    """The columns a given input names and its rows as text (a column left out is NULL); from `csv`,
    an empty field or one of the source table's null tokens is NULL. Raises ValueError for a CSV line
    whose fields do not match its header."""
    given = test.given[inp.name]
    if given.rows is not None:
        names = list(dict.fromkeys(k for row in given.rows for k in row))
        return names, [{k: as_text(v) for k, v in row.items()} for row in given.rows]
    try:
        lines = list(csv.reader(io.StringIO((given.csv or "").strip() + "\n")))
    except csv.Error as exc:
        raise ValueError(str(exc)) from None
    header = [h.strip() for h in lines[0]] if lines else []
    rows: list[dict[str, str | None]] = []
    for n, fields in enumerate(lines[1:], start=2):
        if not fields:
            continue
        if len(fields) != len(header):
            raise ValueError(f"line {n} has {len(fields)} fields where the header names {len(header)}")
        rows.append({h: None if f == "" or f in inp.null_tokens else f for h, f in zip(header, fields, strict=True)})
    return header, rows


def typed_rows(test: UnitTest, inp: Input) -> list[list[str | None]]:
    """The given rows of `inp` in its declared columns' order, as text (None: NULL)."""
    _, rows = given_rows(test, inp)
    return [[row.get(name) for name, _ in inp.columns] for row in rows]


class VarsError(ValueError):
    """A test's `vars` the catalog would refuse; `name` is the var at fault."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def with_vars(catalog: MetricCatalog, overrides: dict[str, object]) -> MetricCatalog:
    """The catalog with a test's `vars` in place of its thresholds and labels, validated as the
    catalog's own (a VarsError otherwise)."""
    from pydantic import ValidationError

    from leakcli.contracts.catalog import Thresholds

    thresholds = catalog.thresholds.model_dump()
    labels = dict(catalog.labels)
    for name, value in overrides.items():
        if name in thresholds:
            thresholds[name] = value
        elif name in labels:
            if not isinstance(value, str) or not value:
                raise VarsError(name, f"label '{name}' must be a text")
            labels[name] = value
        else:
            raise VarsError(name, f"'{name}' is neither a threshold nor a label of the metric catalog"
                                  f"{_close(name, [*thresholds, *labels])}")
    try:
        checked = Thresholds.model_validate(thresholds)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = str(first["loc"][0]) if first["loc"] else ""
        raise VarsError(where, f"{where}: {str(first['msg']).removeprefix('Value error, ')}") from None
    return catalog.model_copy(update={"thresholds": checked, "labels": labels})


def expected_columns(test: UnitTest) -> list[str]:
    return list(test.expect.rows[0]) if test.expect.rows else []


def coverage(c: Contracts) -> UnitCoverage:
    """How many tests pin each model of the registry and each decision of decisions.json."""
    tests = c.unit_tests.tests
    return UnitCoverage(tests=len(tests),
                        models={m.name: sum(t.model == m.name for t in tests) for m in c.registry.models},
                        decisions={d.id: sum(t.decision == d.id for t in tests) for d in c.decisions.decisions})


def unit_memo(cache: Cache) -> Section:
    """This module's section of the cache: `checked` -> the key of the tests whose values last cast cleanly."""
    return cache.section("unit", "1")


def _close(name: str, options: list[str]) -> str:
    found = closest(name, options)
    return f" (did you mean '{found}'?)" if found else ""


def _ptr(i: int, *parts: object) -> str:
    return f"{UNIT_TESTS}#/tests/{i}" + "".join(f"/{p}" for p in parts)


def check_unit_tests(c: Contracts, rendered: dict[str, Rendered], q: Questions, memo: Section | None = None,
                     only: set[str] | None = None, con: Connection | None = None) -> None:
    """Every test (or those of the `only` models) against the contracts, each problem a blocking
    question at its JSON pointer; the coverage of models and decisions, a warning for each without a
    test. What needs DuckDB (values that cast, a CTE's columns) is asked once per contracts and
    templates (`memo`), of `con` when given (an in-memory connection with file access off)."""
    tests = [(i, t) for i, t in enumerate(c.unit_tests.tests) if only is None or t.model in only]
    typed: list[tuple[int, UnitTest, Columns | None]] = []  # tests whose shape holds: their values to cast
    seen: dict[str, int] = {}
    for i, test in tests:
        if test.id in seen:
            q.ask(Code.UNIT_TEST, _ptr(i, "id"), f"Unit tests {seen[test.id]} and {i} are both {test.id}: "
                  f"which one keeps the id?")
        seen.setdefault(test.id, i)
        if _check_shape(c, i, test, rendered, q):
            typed.append((i, test, None if test.cte else c.models[test.model].declared))
    if only is None:
        _ask_coverage(c, q)
    ctes = {t.model for _, t, _ in typed if t.cte}  # their CTEs' columns come from their SQL
    key = digest({"duckdb": _duckdb(), "tests": [t.model_dump() for _, t, _ in typed],
                  "models": {m: (c.models[m].declared, [(n, i.columns) for n, i in inputs_of(c, m).items()],
                                 rendered[m].sql if m in ctes and m in rendered else None)
                             for m in sorted({t.model for _, t, _ in typed})}})
    if not typed or (memo is not None and memo.get("checked") == key):
        return
    before = len(q.items)
    _check_values(c, typed, rendered, q, con)
    if memo is not None and len(q.items) == before:
        memo.put("checked", key)


def _duckdb() -> str:
    from leakcli.engine.parse import duckdb_version

    return duckdb_version()


def _check_shape(c: Contracts, i: int, test: UnitTest, rendered: dict[str, Rendered], q: Questions) -> bool:
    """The test's model, decision, inputs, columns, vars and CTE exist; True when its values can be cast."""
    ok = True
    if test.model not in c.models:
        q.ask(Code.UNIT_TEST, _ptr(i, "model"), f"Unit test {test.id} tests model '{test.model}', which is not in "
              f"{REGISTRY}: which model is meant?{_close(test.model, list(c.models))}")
        return False
    decisions = [d.id for d in c.decisions.decisions]
    if test.decision is not None and test.decision not in decisions:
        q.ask(Code.UNIT_TEST, _ptr(i, "decision"), f"Unit test {test.id} pins decision {test.decision}, which "
              f"{DECISIONS} does not hold: which decision is meant?{_close(test.decision, decisions)}")
    inputs = inputs_of(c, test.model)
    for name in test.given:
        if name not in inputs:
            q.ask(Code.UNIT_TEST, _ptr(i, "given", name), f"Unit test {test.id} gives rows for '{name}', which is "
                  f"not an input of '{test.model}' (its inputs: {', '.join(inputs)}): which input is meant?"
                  f"{_close(name, list(inputs))}")
            ok = False
    for name in inputs:
        if name not in test.given:
            q.ask(Code.UNIT_TEST, _ptr(i, "given"), f"Unit test {test.id} gives no rows for '{name}', an input of "
                  f"'{test.model}': what are they (an empty list of rows, if none)?")
            ok = False
    for name, inp in inputs.items():
        if name in test.given:
            ok = _check_given(i, test, inp, q) and ok
    if test.vars:
        try:
            with_vars(c.catalog, dict(test.vars))
        except VarsError as exc:
            q.ask(Code.UNIT_TEST, _ptr(i, "vars", exc.name) if exc.name in test.vars else _ptr(i, "vars"),
                  f"Unit test {test.id} sets vars the catalog would refuse: {exc}. Which value is meant?")
    columns = expected_columns(test)
    for j, row in enumerate(test.expect.rows):
        if list(row) != columns:
            q.ask(Code.UNIT_TEST, _ptr(i, "expect", "rows", j), f"Unit test {test.id} expects a row with the columns "
                  f"{', '.join(row) or 'none'} where its first row names {', '.join(columns)}: every expected row "
                  f"names the same columns, in the same order; which are checked?")
            ok = False
    if test.cte is not None:
        if test.model not in rendered:  # its template is asked about: its CTEs, once it renders
            return False
        from leakcli.engine.sqltext import with_clause

        names = with_clause(rendered[test.model].sql)[0]
        if test.cte not in names:
            q.ask(Code.UNIT_TEST, _ptr(i, "cte"), f"Unit test {test.id} checks CTE '{test.cte}', which the "
                  f"template of '{test.model}' does not define: which CTE is meant?{_close(test.cte, names)}")
            ok = False
        return ok
    declared = dict(c.models[test.model].declared)
    for col in columns:
        if col not in declared:
            q.ask(Code.UNIT_TEST, _ptr(i, "expect", "rows", 0, col), f"Unit test {test.id} expects column '{col}', "
                  f"which model '{test.model}' does not declare: which column is meant?{_close(col, list(declared))}")
            ok = False
    return ok


def _check_given(i: int, test: UnitTest, inp: Input, q: Questions) -> bool:
    where = "rows" if test.given[inp.name].rows is not None else "csv"
    try:
        names, rows = given_rows(test, inp)
    except ValueError as exc:
        q.ask(Code.UNIT_TEST, _ptr(i, "given", inp.name, "csv"), f"Unit test {test.id} gives CSV rows for "
              f"'{inp.name}' that do not read: {exc}. How should they read?")
        return False
    declared = [n for n, _ in inp.columns]
    ok = True
    for col in names:
        if col not in declared:
            j = next((j for j, row in enumerate(rows) if col in row), 0)
            at = _ptr(i, "given", inp.name, "rows", j, col) if where == "rows" else _ptr(i, "given", inp.name, "csv")
            q.ask(Code.UNIT_TEST, at, f"Unit test {test.id} gives column '{col}' of '{inp.name}', which "
                  f"{'the manifest' if inp.source else REGISTRY} does not declare: which column is meant?"
                  f"{_close(col, declared)}")
            ok = False
    return ok


def _check_values(c: Contracts, typed: list[tuple[int, UnitTest, Columns | None]],
                  rendered: dict[str, Rendered], q: Questions, shared: Connection | None) -> None:
    """Every given and expected value casts to its column's declared type (a CTE's columns as DuckDB
    binds them against typed empty inputs), by DuckDB; the file access of the connection is off."""
    from leakcli.engine.connection import QueryError, connect, lockdown
    from leakcli.engine.rows import cast_failures

    con = shared or connect()
    try:
        if shared is None:
            lockdown(con)
        values: list[tuple[str, str | None]] = []
        where: list[tuple[str, str, str, str]] = []  # pointer, column, type, test id of each value
        for i, test, declared in typed:
            for name, inp in inputs_of(c, test.model).items():
                types = dict(inp.columns)
                given = test.given[name]
                _, rows = given_rows(test, inp)
                for j, row in enumerate(rows):
                    for col, text in row.items():
                        at = _ptr(i, "given", name, "rows", j, col) if given.rows is not None else \
                            _ptr(i, "given", name, "csv")
                        values.append((types[col], text))
                        where.append((at, col, types[col], test.id))
            if declared is None:
                try:
                    declared = _cte_columns(con, c, test, rendered)
                except QueryError as exc:
                    q.ask(Code.UNIT_TEST, _ptr(i, "cte"), f"Unit test {test.id} checks CTE '{test.cte}', which "
                          f"does not bind against the typed inputs: {exc.detail} Which CTE is meant?")
                    continue
            returned = dict(declared)
            for col in expected_columns(test):
                if col not in returned:
                    q.ask(Code.UNIT_TEST, _ptr(i, "expect", "rows", 0, col), f"Unit test {test.id} expects column "
                          f"'{col}', which CTE '{test.cte}' does not return: which column is meant?"
                          f"{_close(col, list(returned))}")
            for j, expected in enumerate(test.expect.rows):
                for col, value in expected.items():
                    if col not in returned:
                        continue
                    values.append((returned[col], as_text(value)))
                    where.append((_ptr(i, "expect", "rows", j, col), col, returned[col], test.id))
        for k in cast_failures(con, values):
            at, col, typ, tid = where[k]
            q.ask(Code.UNIT_TEST, at, f"Unit test {tid} gives {json.dumps(values[k][1])} for column '{col}', which "
                  f"does not cast to its declared type {typ}: which value is meant?")
    finally:
        if shared is None:
            con.close()


def _cte_columns(con: Connection, c: Contracts, test: UnitTest, rendered: dict[str, Rendered]) -> Columns:
    """The columns of the test's CTE, bound against empty inputs typed as declared."""
    from leakcli.engine.rows import columns_of, create_rows
    from leakcli.engine.sqltext import select_from_cte, source_relation

    for inp in inputs_of(c, test.model).values():
        create_rows(con, source_relation(inp.source, inp.name) if inp.source else inp.name, inp.columns, [])
    return columns_of(con, select_from_cte(rendered[test.model].sql, test.cte or "") or "")


def _ask_coverage(c: Contracts, q: Questions) -> None:
    cov = coverage(c)
    for i, m in enumerate(c.registry.models):
        if not cov.models.get(m.name):
            q.ask(Code.UNTESTED, f"{REGISTRY}#/models/{i}", f"Model '{m.name}' has no unit test in {UNIT_TESTS}: "
                  f"which of its rules should a few rows pin?")
    for i, d in enumerate(c.decisions.decisions):
        if not cov.decisions.get(d.id):
            q.ask(Code.UNTESTED, f"{DECISIONS}#/decisions/{i}", f"Decision {d.id} ({d.key}) has no unit test in "
                  f"{UNIT_TESTS}: which rows show that the models follow it?")
