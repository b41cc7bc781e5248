"""The acceptance tests of contracts/acceptance-tests.json (LEAK-SPEC §8), run on a build: each
kind is a small generic check driven by its contract entry. `apply` audits a new build with the
error-severity ones before it publishes it; `verify` runs them all on the published build."""

from __future__ import annotations

import decimal
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli.commands.records import CheckResult
from leakcli.contracts.load import TESTS
from leakcli.engine.connection import QueryError, StorageError, count_rows, one_row, rows_as_dicts, user_tables
from leakcli.engine.load import load_columns
from leakcli.engine.parse import select_problem, sql_memo
from leakcli.engine.sqltext import quote_ident, sql_literal
from leakcli.errors import ContractError, LeakError
from leakcli.jsonout import jsonable
from leakcli.render.renderer import render_memo, renderer_for

if TYPE_CHECKING:
    from leakcli.cache import Cache, Section
    from leakcli.context import Project
    from leakcli.contracts.documents import AcceptanceTest, Table
    from leakcli.engine.connection import Connection

SAMPLE_ROWS = 5


class Runner:
    """Runs acceptance tests on one connection: one method per test kind, each a CheckResult."""

    def __init__(self, project: Project, con: Connection, data_dir: Path,
                 known: KnownResults | None = None) -> None:
        self.c, self.con, self.data_dir, self.paths = project.contracts, con, data_dir, project.paths
        self.renderer = renderer_for(self.c, render_memo(project.cache))
        self.memo: Section | None = sql_memo(project.cache)
        self.loaded: set[str] = set()  # source tables whose every column can be read
        self.narrow: dict[str, frozenset[str]] = {}  # source tables loaded with some columns only
        self.known = known  # results of queries that read only source files, by their files' sha256
        self.answers: dict[str, object] = {}  # rendered SQL -> its value, found while its sources were loaded

    # -- helpers ----------------------------------------------------------------------------------
    def rel(self, model: str) -> str:
        """How a query names a built model."""
        return quote_ident(model)

    def sql(self, label: str, text: str) -> str:
        """Render a test query; load the columns it reads of the sources it reads (with those an
        earlier query loaded) from the build's data directory."""
        rendered = self.renderer.render_sql(label, text)
        for table in dict.fromkeys(t for _, t in rendered.sources if t not in self.loaded):
            wanted = read_columns(self.c.tables[table], rendered.sql) | self.narrow.get(table, frozenset())
            if wanted != self.narrow.get(table):
                path = self.data_dir / self.c.tables[table].file
                load_columns(self.con, self.c, table, path, wanted, self.paths.rel(path))
                self.narrow[table] = wanted
        return rendered.sql

    def value(self, test_id: str, text: str) -> object:
        """The one value a query returns; a query of source files alone is answered from the known
        results when its files are unchanged, and remembered otherwise."""
        rendered = self.renderer.render_sql(test_id, text)
        key = self.known.key(rendered.sql, [t for _, t in rendered.sources]) \
            if self.known is not None and rendered.sources and not rendered.refs else None
        if key is not None and self.known is not None:
            stored = self.known.memo.get(key)
            if isinstance(stored, list) and len(stored) == 1:  # [value]: a value may be null
                return stored[0]
        if rendered.sql in self.answers:
            found = self.answers[rendered.sql]
        else:
            (found,) = one_row(self.con, self.checked(test_id, self.sql(test_id, text)))
        if key is not None and self.known is not None:
            self.known.memo.put(key, [jsonable(found)])
        return found

    def checked(self, test_id: str, query: str) -> str:
        """`query` if it is exactly one SELECT that reads no file; a ContractError otherwise."""
        problem = select_problem(query, self.memo)
        if problem:
            raise ContractError(f"the SQL of acceptance test {test_id} {problem}", file=TESTS)
        return query

    def failing(self, query: str) -> tuple[int, list[dict[str, object]]]:
        return (count_rows(self.con, f"({query})"),
                rows_as_dicts(self.con, f"select * from ({query}) limit {SAMPLE_ROWS}"))

    def rows_result(self, test: AcceptanceTest, query: str, what: str) -> CheckResult:
        count, sample = self.failing(self.checked(test.id, query))
        return CheckResult(*_base(test), observed=count, expected=0, failing_rows=count,
                          sample=sample, message=f"{count} {what}" if count else "")

    # -- kinds ------------------------------------------------------------------------------------
    def relation_set(self, test: AcceptanceTest) -> CheckResult:
        found = sorted(user_tables(self.con))
        expected = sorted(self.c.ir.models)
        bad = [{"relation": n, "problem": "not in the stage IR"} for n in found if n not in expected]
        bad += [{"relation": n, "problem": "missing"} for n in expected if n not in found]
        return CheckResult(*_base(test), observed=found, expected=expected, failing_rows=len(bad),
                          sample=bad[:SAMPLE_ROWS],
                          message=f"{len(bad)} relation(s) differ from the stage IR" if bad else "")

    def ref_discipline(self, test: AcceptanceTest) -> CheckResult:
        from leakcli.contracts.questions import Group, Questions
        from leakcli.plan.checks import check_templates

        q = Questions()
        check_templates(self.c, {name: self.renderer.render_model(name) for name in self.c.models}, q)
        bad = [{"location": a.location, "problem": a.question} for a in q.in_group(Group.REF)]
        return CheckResult(*_base(test), observed=len(bad), expected=0, failing_rows=len(bad),
                           sample=bad[:SAMPLE_ROWS],
                           message=f"{len(bad)} dependency(ies) bypass or contradict ref()" if bad else "")

    def unique(self, test: AcceptanceTest) -> CheckResult:
        cols = ", ".join(quote_ident(c) for c in test.columns or [])
        q = (f"select {cols}, count(*) as n from {self.rel(test.model)} "
             f"group by {cols} having count(*) > 1")
        return self.rows_result(test, q, "duplicated grain value(s)")

    def not_blank(self, test: AcceptanceTest) -> CheckResult:
        blanks = ", ".join(sql_literal(b) for b in test.blank_values)
        cond = " or ".join(f"{quote_ident(c)} is null or trim(cast({quote_ident(c)} as varchar)) in ({blanks})"
                           for c in test.columns or [])
        cols = ", ".join(quote_ident(c) for c in test.columns or [])
        return self.rows_result(test, f"select {cols} from {self.rel(test.model)} where {cond}",
                                "row(s) with a null or blank key")

    def row_condition(self, test: AcceptanceTest) -> CheckResult:
        cond = self.sql(test.id, test.condition or '')
        q = f"select * from {self.rel(test.model)} where not coalesce(({cond}), false)"
        return self.rows_result(test, q, "row(s) break the condition")

    def failing_rows(self, test: AcceptanceTest) -> CheckResult:
        return self.rows_result(test, self.sql(test.id, test.query or ''), "failing row(s)")

    def relationship(self, test: AcceptanceTest) -> CheckResult:
        cols = test.columns or []
        match = " and ".join(f"t.{quote_ident(c)} is not distinct from m.{quote_ident(c)}" for c in cols)
        q = (f"select {', '.join('m.' + quote_ident(c) for c in cols)} from {self.rel(test.model)} as m "
             f"where not exists (select 1 from {self.rel(test.to or '')} as t where {match})")
        return self.rows_result(test, q, f"row(s) missing from {test.to}")

    def join_cardinality(self, test: AcceptanceTest) -> CheckResult:
        join = next((j for j in self.c.joins.joins if j.name == test.join), None)
        if join is None:
            index = self.c.tests.tests.index(test)
            raise ContractError(f"join '{test.join}' is not in contracts/join-contracts.json",
                                file="contracts/acceptance-tests.json", pointer=f"/tests/{index}/join")
        card = join.cardinality or ""
        side = join.left if card == "one_to_many" else join.right
        keys = ", ".join(quote_ident(k) for k in side.keys)
        q = (f"select {keys}, count(*) as n from {self.rel(side.model)} "
             f"where ({keys}) is not null group by {keys} having count(*) > 1")
        return self.rows_result(test, q, f"key(s) of {side.model} match more than once ({card})")

    def accepted_values(self, test: AcceptanceTest) -> CheckResult:
        parts = []
        for t in test.targets or []:
            values = ", ".join(sql_literal(v) for v in t.values)
            col = quote_ident(t.column)
            parts.append(f"select {sql_literal(t.model)} as model, {sql_literal(t.column)} as "
                         f"column_name, cast({col} as varchar) as value, count(*) as n "
                         f"from {self.rel(t.model)} where {col} is null or {col} not in ({values}) "
                         f"group by all")
        return self.rows_result(test, " union all ".join(parts), "value(s) outside the accepted list")

    def reconcile(self, test: AcceptanceTest) -> CheckResult:
        observed, expected, bad = {}, {}, []
        for check in test.checks or []:
            o, e = self.value(test.id, check.observed), self.value(test.id, check.expected)
            observed[check.name], expected[check.name] = jsonable(o), jsonable(e)
            tolerance = decimal.Decimal(str(check.tolerance))
            if o is None or e is None or abs(decimal.Decimal(str(o)) - decimal.Decimal(str(e))) > tolerance:
                entry: dict[str, object] = {"check": check.name, "observed": jsonable(o),
                                         "expected": jsonable(e)}
                if check.sample:
                    entry["rows"] = self.failing(self.checked(test.id, self.sql(test.id, check.sample)))[1]
                bad.append(entry)
        return CheckResult(*_base(test), observed=observed, expected=expected, failing_rows=len(bad),
                          sample=bad, message="; ".join(
                              f"{b['check']}: {b['observed']} != {b['expected']}" for b in bad))


def source_queries(runner: Runner, tests: list[AcceptanceTest]) -> list[tuple[str, str, frozenset[str]]]:
    """The queries of `tests` that read source files alone (a reconcile's side): test id, rendered SQL
    and the tables read, for the build to answer while those tables are loaded."""
    found = []
    for test in tests:
        for check in (test.checks or []) if test.kind == "reconcile" else []:
            for text in (check.observed, check.expected):
                try:
                    rendered = runner.renderer.render_sql(test.id, text)
                except LeakError:
                    continue  # the audit reports it
                if rendered.sources and not rendered.refs:
                    found.append((test.id, rendered.sql, frozenset(t for _, t in rendered.sources)))
    return found


def answer(runner: Runner, test_id: str, sql: str) -> None:
    """Answer one query of `source_queries` now; one that fails is left for the audit to report."""
    try:
        (runner.answers[sql],) = one_row(runner.con, runner.checked(test_id, sql))
    except StorageError:
        raise
    except LeakError:
        pass


class KnownResults:
    """Results of the queries that read only source files: this module's section of the cache, by the
    sha256 of the files they read (apply fills it; verify reads it)."""

    def __init__(self, shas: dict[str, str], cache: Cache) -> None:
        self.shas = shas
        self.memo = cache.section("queries", "1")

    @classmethod
    def for_files(cls, project: Project, data_dir: Path) -> KnownResults:
        """The known results of files whose identity the cache vouches for (no file is hashed)."""
        from leakcli.sources.inventory import Inventory

        files = Inventory(project.cache)
        shas = {name: sha for name, table in project.contracts.tables.items()
                if (sha := files.known_sha256(name, data_dir / table.file)) is not None}
        return cls(shas, project.cache)

    def key(self, sql: str, tables: list[str]) -> str | None:
        if any(t not in self.shas for t in tables):
            return None
        import hashlib
        import json

        return hashlib.sha256(json.dumps([sql, {t: self.shas[t] for t in sorted(tables)}]).encode()).hexdigest()


def _base(test: AcceptanceTest) -> tuple[str, str, str, str, str, str]:
    """The leading fields of a CheckResult for `test`, status pass."""
    return test.id, test.model, test.kind, test.severity, "pass", test.description


def run_tests(runner: Runner, tests: list[AcceptanceTest]) -> list[CheckResult]:
    """Run each test; a test that cannot run is an `error` result, not a crash."""
    results = []
    for test in tests:
        kind: Callable[[AcceptanceTest], CheckResult] = getattr(runner, test.kind)
        try:
            result = kind(test)
        except StorageError:
            raise  # the database itself cannot be read: not this test's fault (verify names it damaged)
        except LeakError as exc:
            result = CheckResult(*_base(test), message=exc.detail if isinstance(exc, QueryError) else exc.one_line(),
                                 error=exc)
            result.status = "error"
        if result.failing_rows and result.status == "pass":
            result.status = "fail" if test.severity == "error" else "warn"
        results.append(result)
    return results


def read_columns(table: Table, sql: str) -> frozenset[str]:
    """The columns of `table` a query may read: each whose name is a word of the SQL (more than it
    reads, never fewer), all of them when the SQL has a star other than count(*), else the first (a
    count of rows needs one)."""
    names = [c.name for c in table.columns]
    if re.search(r"\*", re.sub(r"(?i)count\s*\(\s*\*\s*\)", "", sql)):
        return frozenset(names)
    words = {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql)}
    return frozenset(n for n in names if n.lower() in words) or frozenset(names[:1])
