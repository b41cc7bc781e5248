"""`leakcli test --create MODEL --where EXPR`: a unit test written from the published build (read-only,
file access limited to the data it was made from). The rows of MODEL where EXPR are what the test
expects; each input gives only the rows those rows were made from:

1. an input that shares columns of MODEL's grain gives the rows with the same values there (the
   pageviews of a session, the refunds of an order, the outcomes of a segment in a month); a staging
   model's source table gives the rows of the file with the same key (the data directory the build
   was made from is read, typed as the manifest says);
2. the join contracts of MODEL lead from such an input to the others (an order's refunds);
3. an input that shares none (the priority list's summary) gives the rows of the same segment, by the
   catalog's segment keys, a key that holds the catalog's `(all)` label matching any value.

MODEL runs on those rows. When a selected row does not come back (found by MODEL's grain, else by the
segment keys: a rank is no identity), or comes back with columns that differ from the published ones
(they depend on rows not given: a month's baseline, the priority window, the family of tests), every row
of every input is tried instead (at most MAX_ROWS), and taken when it reproduces more columns. The test
expects every row MODEL returns on the given rows, in the columns whose value on every selected row
equals the published one (DOUBLE within 1e-9); the others are left out and named in its description,
with a request to say there the rule it pins. The test is run before it is written and is written only
when it passes, appended to contracts/unit-tests.json without touching the tests already there; an id
is never reused."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli.commands.unitcompare import same
from leakcli.contracts.load import UNIT_TESTS, parse_json
from leakcli.errors import ExecutionError, UsageError
from leakcli.files import read_bytes, write_atomic
from leakcli.jsonout import did_you_mean
from leakcli.plan.unittests import Input, inputs_of

if TYPE_CHECKING:
    from leakcli.commands.unitrun import UnitResult
    from leakcli.context import Project
    from leakcli.contracts.load import Contracts
    from leakcli.contracts.unittests import UnitTest
    from leakcli.engine.connection import Connection

MAX_ROWS = 5000  # given rows a created test may hold: past it, narrow --where or --limit
Rows = list[dict[str, object]]


def create_test(project: Project, model: str, where: str | None, *, limit: int = 5, test_id: str | None = None
                ) -> tuple[UnitTest, list[UnitResult]]:
    """Write a test of `model` on its rows where `where` holds (at most `limit`, with the id `test_id` or
    the next free one) into contracts/unit-tests.json, once it passes; return it and its result."""
    from leakcli.engine.connection import connect, lockdown, reading
    from leakcli.store import state

    c, paths = project.contracts, project.paths
    if model not in c.models:
        raise UsageError(f"model '{model}' is not in the registry{did_you_mean(model, list(c.models))}",
                         file="--create", hint="name one of the models leakcli plan lists")
    if where is None or not where.strip():
        raise UsageError("needs --where: the rows of the model the test expects", file="--create",
                         hint="e.g. --where \"website_session_id = 1\"")
    test_id = _new_id(c, test_id)
    shown = paths.rel(paths.database)
    if not paths.published.exists():
        raise UsageError("nothing is built yet", file=shown, hint="run `leakcli apply` first")
    data = state.published_dataset(paths.published, paths.root, c.ir.final_models,
                                   trust_summary=project.cache.enabled)
    inputs = inputs_of(c, model)
    tables = [inp for inp in inputs.values() if inp.source]
    con = connect(paths.published, read_only=True, shown=shown, memory_limit=c.phase_plan.engine.limit())
    try:
        allowed = [data] if tables and data is not None else []
        lockdown(con, allowed, [d / c.tables[t.name].file for d in allowed for t in tables])
        with reading(shown):
            selected = _selected(con, c, model, where, limit)
            test = _made(project, con, model, selected, inputs, data, where, test_id)
    finally:
        con.close()
    from leakcli.commands.unitrun import run_unit_tests

    results = run_unit_tests(project, tests=[test])
    if any(r.status != "pass" for r in results):  # it cannot, being what the model returns: never written then
        raise ExecutionError(f"the test made from the build does not pass ({results[0].message}); nothing was "
                             f"written", file=UNIT_TESTS, hint="write the test by hand")
    _append(paths.root / UNIT_TESTS, test)
    return test, results


def _new_id(c: Contracts, wanted: str | None) -> str:
    ids = {t.id for t in c.unit_tests.tests}
    if wanted is not None:
        if not re.fullmatch(r"UT-[0-9]{2,}", wanted):
            raise UsageError(f"'{wanted}' is not a unit test id", file="--id", hint="give one such as UT-42")
        if wanted in ids:
            raise UsageError(f"{wanted} is already a test of {UNIT_TESTS}; an id is never written over", file="--id",
                             hint="give another id, or leave --id out for the next free one")
        return wanted
    n = max([int(i.split("-")[1]) for i in ids] + [0]) + 1
    return f"UT-{n:02d}"


def _selected(con: Connection, c: Contracts, model: str, where: str, limit: int) -> Rows:
    """The rows of `model` where `where` holds (checked as one SELECT over it), in grain order."""
    from leakcli.engine.connection import QueryError, StorageError, rows_as_tuples, user_tables
    from leakcli.engine.parse import select_problem
    from leakcli.engine.sqltext import quote_ident

    if model not in user_tables(con):
        raise UsageError(f"model '{model}' is not in the published build", file="--create",
                         hint="build it with `leakcli apply`")
    sql = f"select * from {quote_ident(model)} where {where}"
    problem = select_problem(sql)
    if problem:
        raise UsageError(f"must be an expression over '{model}': the query {problem}", file="--where",
                         hint="give a DuckDB expression over the model's columns")
    order = ", ".join(quote_ident(g) for g in c.models[model].grain)
    try:
        names, rows = rows_as_tuples(con, f"{sql} order by {order} limit $n", {"n": limit})
    except StorageError:
        raise
    except QueryError as exc:
        raise UsageError(exc.detail, file="--where", hint="fix the expression") from None
    if not rows:
        raise UsageError(f"no row of '{model}' matches", file="--where", hint="check it with `leakcli show`")
    return [dict(zip(names, r, strict=True)) for r in rows]


def _made(project: Project, con: Connection, model: str, selected: Rows, inputs: dict[str, Input],
          data: Path | None, where: str, test_id: str) -> UnitTest:
    """The test: the inputs reduced, widened once when the selected rows need more, its columns chosen."""
    c = project.contracts
    columns = [name for name, _ in c.models[model].declared]
    given = _reduced(con, c, model, selected, inputs, data)
    out = _output(project, model, given)
    keys = _keys(c, model, selected, out)
    kept = _kept(columns, selected, out, keys)
    if len(kept) < len(columns) and any(not inp.source for inp in inputs.values()):
        try:  # every row of the inputs (a window, a family of tests): taken when it reproduces more
            wide = {name: _all_rows(con, name) if not inp.source else given[name] for name, inp in inputs.items()}
        except UsageError:
            wide = None
        if wide is not None:
            wide_out = _output(project, model, wide)
            wide_keys = _keys(c, model, selected, wide_out)
            wide_kept = _kept(columns, selected, wide_out, wide_keys)
            if len(wide_kept) > len(kept):
                given, out, keys, kept = wide, wide_out, wide_keys, wide_kept
    if keys is None:
        raise UsageError(f"the selected rows of '{model}' do not come back from the rows they were made from",
                         file="--where", hint="select other rows, or write the test by hand")
    dropped = [col for col in columns if col not in kept]
    where = " ".join(where.split())
    description = (f"Created by `leakcli test --create {model} --where \"{where}\"` from the published build: the "
                   f"rows it was made from, and what {model} returns on them"
                   + (f" (left out, as they depend on rows not given: {', '.join(dropped)})" if dropped else "")
                   + ". Say here, in words, the rule it pins.")
    doc = {"id": test_id, "model": model, "description": description,
           "given": {name: {"rows": [_compact(r) for r in rows]} for name, rows in given.items()},
           "expect": {"rows": [{col: _json(r[col]) for col in kept} for r in out]}}
    from leakcli.contracts.unittests import UnitTest

    return UnitTest.model_validate(doc)


def _kept(columns: list[str], selected: Rows, out: Rows, keys: list[str] | None) -> list[str]:
    """The columns whose value on every selected row is the published one (none when a row is not back)."""
    if keys is None:
        return []
    back = [(row, _match(out, row, keys)) for row in selected]
    return [col for col in columns if col in keys or all(
        found is not None and same(found.get(col), _json(row[col]), 1e-9) for row, found in back)]


def _keys(c: Contracts, model: str, selected: Rows, out: Rows) -> list[str] | None:
    """The columns that find every selected row among what the model returned: its grain, else (a rank
    is no identity: the priority list's) the catalog's segment keys; None when neither does."""
    from leakcli.commands.unitrun import key_columns

    segment = [k for k in c.catalog.segment.keys if k in selected[0]]
    for keys in (key_columns(c, model, list(selected[0])), segment):
        if keys and all(_match(out, row, keys) is not None for row in selected):
            return keys
    return None


def _match(rows: Rows, row: dict[str, object], keys: list[str]) -> dict[str, object] | None:
    return next((r for r in rows if all(same(r.get(k), _json(row[k]), 0.0) for k in keys)), None)


def _output(project: Project, model: str, given: dict[str, Rows]) -> Rows:
    """What `model` returns on the `given` rows."""
    from leakcli.commands.unitrun import ModelRunner, RunError
    from leakcli.contracts.unittests import UnitTest

    probe = UnitTest.model_validate({"id": "UT-00", "model": model, "description": "probe", "expect": {"rows": []},
                                     "given": {n: {"rows": [_compact(r) for r in rows]} for n, rows in given.items()}})
    try:
        with ModelRunner(project) as runner:
            names, rows = runner.rows(probe)
    except RunError as exc:
        raise UsageError(f"'{model}' does not run on the rows it was made from: {exc}", file="--create") from None
    return [dict(zip([n for n, _ in names], r, strict=True)) for r in rows]


def _reduced(con: Connection, c: Contracts, model: str, selected: Rows, inputs: dict[str, Input],
             data: Path | None) -> dict[str, Rows]:
    """Each input's rows the selected rows were made from (the module's docstring, steps 1 to 3)."""
    grain = c.models[model].grain
    found: dict[str, Rows] = {}
    for name, inp in inputs.items():
        shared = [g for g in grain if g in dict(inp.columns)]
        if shared:
            values = [[row[g] for g in shared] for row in selected]
            found[name] = _source_rows(con, c, inp, shared, values, data) if inp.source else \
                _rows_where(con, name, shared, values)
    joins = [j for j in c.joins.joins if j.model == model]
    grown = True
    while grown:
        grown = False
        for j in joins:
            for a, b in ((j.left, j.right), (j.right, j.left)):
                if a.model in found and b.model in inputs and b.model not in found:
                    values = [[row[k] for k in a.keys] for row in found[a.model]]
                    found[b.model] = _rows_where(con, b.model, list(b.keys), values)
                    grown = True
    label = c.catalog.priority.all_label
    for name, inp in inputs.items():
        if name in found or inp.source:
            continue
        keys = [k for k in c.catalog.segment.keys if k in dict(inp.columns) and k in selected[0]]
        rows = _all_rows(con, name)
        found[name] = [r for r in rows if not keys or any(all(s[k] == label or r[k] == s[k] for k in keys)
                                                          for s in selected)]
    total = sum(len(rows) for rows in found.values())
    if total > MAX_ROWS:
        raise UsageError(f"the selected rows were made from {total:,} input rows, more than a test should hold "
                         f"({MAX_ROWS:,})", file="--where", hint="select fewer rows (--where, --limit)")
    return {name: found.get(name, []) for name in inputs}


def _rows_where(con: Connection, relation: str, columns: list[str], values: list[list[object]]) -> Rows:
    """The rows of `relation` whose `columns` hold one of the `values` (compared as text)."""
    from leakcli.engine.connection import rows_as_tuples
    from leakcli.engine.sqltext import quote_ident

    if not values:
        return []
    probe = ", ".join(f"cast({quote_ident(col)} as varchar)" for col in columns)
    names, rows = rows_as_tuples(con, f"select * from {quote_ident(relation)} where list_contains("
                                      f"cast($keys as varchar[][]), [{probe}]) order by all",
                                 {"keys": [[_text(v) for v in vs] for vs in values]})
    return [dict(zip(names, r, strict=True)) for r in rows]


def _all_rows(con: Connection, relation: str) -> Rows:
    from leakcli.engine.connection import count_rows, rows_as_tuples
    from leakcli.engine.sqltext import quote_ident

    if count_rows(con, quote_ident(relation)) > MAX_ROWS:
        raise UsageError(f"the selected rows depend on every row of '{relation}', more than a test should hold "
                         f"({MAX_ROWS:,})", file="--where", hint="select other rows, or write the test by hand")
    names, rows = rows_as_tuples(con, f"select * from {quote_ident(relation)} order by all")
    return [dict(zip(names, r, strict=True)) for r in rows]


def _source_rows(con: Connection, c: Contracts, inp: Input, columns: list[str], values: list[list[object]],
                 data: Path | None) -> Rows:
    """The rows of a source file (of the data the build was made from) whose `columns` hold `values`."""
    from leakcli.engine.connection import QueryError, rows_as_tuples
    from leakcli.engine.load import read_csv_sql
    from leakcli.engine.sqltext import quote_ident

    table = c.tables[inp.name]
    path = data / table.file if data is not None else None
    if path is None or not path.is_file():
        raise UsageError(f"the data the published build was made from is gone ({table.file})", file="--create",
                         hint="build again with `leakcli apply --data-dir DIR`")
    call, params = read_csv_sql(table, c.manifest.dialect, rejects=False)
    probe = ", ".join(f"cast({quote_ident(col)} as varchar)" for col in columns)
    try:
        names, rows = rows_as_tuples(con, f"select * from {call} where list_contains(cast($keys as varchar[][]), "
                                          f"[{probe}]) order by all",
                                     {**params, "path": str(path), "keys": [[_text(v) for v in vs] for vs in values]})
    except QueryError as exc:
        raise UsageError(f"cannot read {table.file}: {exc.message}", file="--create") from None
    return [dict(zip(names, r, strict=True)) for r in rows]


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _json(value: object) -> object:
    """A value as the test file writes it: exact decimals as numbers, dates and times as ISO text."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _compact(row: dict[str, object]) -> dict[str, object]:
    """A given row without its NULL cells (a column left out is NULL)."""
    return {k: _json(v) for k, v in row.items() if v is not None}


def format_test(test: dict[str, object], indent: str = "    ") -> str:
    """One test as contracts/unit-tests.json writes it: a key per line, a row per line."""
    inner = indent + "  "
    lines = [indent + "{"]
    order = ("id", "model", "decision", "description", "given", "vars", "cte", "expect")
    items = sorted(test.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))
    for n, (key, value) in enumerate(items):
        comma = "," if n < len(items) - 1 else ""
        if key == "given" and isinstance(value, dict):
            lines.append(f'{inner}"given": {{')
            for m, (name, inp) in enumerate(value.items()):
                lines += _rows_block(f'{inner}  {json.dumps(name)}: {{', inp, inner + "    ", "}")
                lines[-1] += "," if m < len(value) - 1 else ""
            lines.append(inner + "}" + comma)
        elif key == "expect" and isinstance(value, dict):
            lines += _rows_block(f'{inner}"expect": {{', value, inner + "  ", "}")
            lines[-1] += comma
        else:
            lines.append(f"{inner}{json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{comma}")
    return "\n".join(lines + [indent + "}"])


def _rows_block(head: str, block: object, indent: str, close: str) -> list[str]:
    assert isinstance(block, dict)
    rows = block.get("rows")
    rest = {k: v for k, v in block.items() if k != "rows"}
    if not isinstance(rows, list):
        return [head.rstrip("{") + json.dumps(block, ensure_ascii=False)]
    extra = "".join(f", {json.dumps(k)}: {json.dumps(v)}" for k, v in rest.items())
    if not rows:
        return [f'{head}"rows": []{extra}{close}']
    body = [indent + json.dumps(r, ensure_ascii=False) + ("," if i < len(rows) - 1 else "") for i, r in enumerate(rows)]
    return [f'{head}"rows": [', *body, f"{indent[:-2]}]{extra}{close}"]


def _append(path: Path, test: UnitTest) -> None:
    """Append `test` to the file's tests, every byte before it kept as it was (the whole file written
    in this module's layout only when its own does not allow that)."""
    raw = read_bytes(path)
    old = parse_json(raw, UNIT_TESTS)
    assert isinstance(old, dict) and isinstance(old.get("tests"), list)
    doc = test.model_dump(mode="json", exclude_defaults=True)
    text = raw.decode("utf-8")
    end = text.rfind("]")
    head = text[:end].rstrip()
    new = f"{head}{',' if old['tests'] else ''}\n{format_test(doc)}\n  {text[end:]}"
    try:
        same_doc = json.loads(new) == {**json.loads(text), "tests": [*old["tests"], doc]}
    except ValueError:
        same_doc = False
    if not same_doc:
        tests = ",\n".join(format_test(t) for t in [*old["tests"], doc])
        rest = "".join(f'  {json.dumps(k)}: {json.dumps(v)},\n' for k, v in old.items() if k != "tests")
        new = "{\n" + rest + '  "tests": [\n' + tests + "\n  ]\n}\n"
    write_atomic(path, new)
