"""`verify`: run the acceptance tests of contracts/acceptance-tests.json against the built database.

Each test has a kind; a kind is a small generic check driven by the test's contract entry (LEAK-SPEC §8).
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli.contracts import load as contracts
from leakcli.store import state
from leakcli.contracts.load import Contracts, TESTS
from leakcli.engine.connection import one_row
from leakcli.errors import ContractError, LeakError, UsageError
from leakcli.jsonout import envelope, jsonable
from leakcli.project import Paths
from leakcli.render.renderer import renderer_for
from leakcli.engine.parse import select_problem
from leakcli.engine.sqltext import quote_ident, sql_literal

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

    from leakcli.contracts.documents import AcceptanceTest

SAMPLE_ROWS = 5


@dataclass(frozen=True)
class VerifyRequest:
    root: Path
    data_dir: str | None = None


@dataclass
class CheckResult:
    id: str
    model: str
    kind: str
    severity: str
    status: str  # pass | fail | warn | error
    description: str
    observed: object = None
    expected: object = None
    failing_rows: int = 0
    sample: Sequence[Mapping[str, object]] = field(default_factory=list)
    message: str = ""


@dataclass(frozen=True)
class VerifyReport:
    results: list[CheckResult]
    dataset: dict[str, object]
    database: str

    @property
    def summary(self) -> dict[str, int]:
        statuses = [r.status for r in self.results]
        return {"total": len(statuses), "passed": statuses.count("pass"),
                "failed": statuses.count("fail"), "warned": statuses.count("warn"),
                "errored": statuses.count("error")}

    @property
    def ok(self) -> bool:
        return not any(r.status in ("fail", "error") for r in self.results)

    def to_dict(self) -> dict[str, object]:
        keys = ("id", "model", "kind", "severity", "status", "observed", "expected",
                "failing_rows", "sample", "message")
        return {
            **envelope(),
            "summary": self.summary,
            "dataset": self.dataset,
            "database": self.database,
            "results": [{k: asdict(r)[k] for k in keys} for r in self.results],
        }


class Runner:
    def __init__(self, c: Contracts, con: DuckDBPyConnection, data_dir: Path, paths: Paths,
                 known: KnownResults | None = None) -> None:
        self.c, self.con, self.data_dir, self.paths = c, con, data_dir, paths
        self.renderer = renderer_for(c)
        self.loaded: set[str] = set()
        self.known = known  # results of queries that read only source files, by their files' sha256

    # -- helpers ----------------------------------------------------------------------------------
    def rel(self, model: str) -> str:
        """How a query names a built model."""
        return quote_ident(model)

    def sql(self, label: str, text: str) -> str:
        """Render a test query; load the sources it reads from the build's data directory."""
        from leakcli.engine.load import load_sources

        rendered = self.renderer.render_sql(label, text)
        wanted = [t for s, t in rendered.sources if t not in self.loaded]
        if wanted:
            load_sources(self.con, self.c, self.data_dir, wanted, display=self.paths.rel)
            self.loaded.update(wanted)
        return rendered.sql

    def value(self, test_id: str, text: str) -> object:
        """The one value a query returns; a query of source files alone is answered from the known
        results when its files are unchanged, and remembered otherwise."""
        rendered = self.renderer.render_sql(test_id, text)
        key = self.known.key(rendered.sql, [t for _, t in rendered.sources]) \
            if self.known is not None and rendered.sources and not rendered.refs else None
        if key is not None and self.known is not None:
            self.known.used.add(key)
            if key in self.known.values:
                return self.known.values[key]
        (found,) = one_row(self.con, self.checked(test_id, self.sql(test_id, text)))
        if key is not None and self.known is not None:
            self.known.values[key] = jsonable(found)
        return found

    def checked(self, test_id: str, query: str) -> str:
        """`query` if it is exactly one SELECT that reads no file; a ContractError otherwise."""
        problem = select_problem(query)
        if problem:
            raise ContractError(f"the SQL of acceptance test {test_id} {problem}", file=TESTS)
        return query

    def failing(self, query: str) -> tuple[int, list[dict[str, object]]]:
        from leakcli.engine.connection import count_rows, rows_as_dicts

        return (count_rows(self.con, f"({query})"),
                rows_as_dicts(self.con, f"select * from ({query}) limit {SAMPLE_ROWS}"))

    def rows_result(self, test: AcceptanceTest, query: str, what: str) -> CheckResult:
        count, sample = self.failing(self.checked(test.id, query))
        return CheckResult(*_base(test), observed=count, expected=0, failing_rows=count,
                          sample=sample, message=f"{count} {what}" if count else "")

    # -- kinds ------------------------------------------------------------------------------------
    def relation_set(self, test: AcceptanceTest) -> CheckResult:
        from leakcli.engine.connection import user_tables

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


class KnownResults:
    """Results of the queries that read only source files, kept in the source cache by the sha256 of
    the files they read (apply fills it; verify reads it)."""

    def __init__(self, shas: dict[str, str], values: dict[str, object]) -> None:
        self.shas, self.values = shas, values
        self.used: set[str] = set()

    @classmethod
    def for_files(cls, paths: Paths, c: Contracts, data_dir: Path) -> KnownResults:
        """The known results of files whose identity the cache vouches for (no file is hashed)."""
        from leakcli.files import file_identity
        from leakcli.sources.cache import SourceCache

        cache = SourceCache.read(paths.target)
        shas = {}
        for name, table in c.tables.items():
            path = data_dir / table.file
            entry = cache.lookup(name, file_identity(path)) if path.is_file() else None
            if entry is not None:
                shas[name] = entry.sha256
        return cls(shas, dict(cache.doc.queries))

    def key(self, sql: str, tables: list[str]) -> str | None:
        if any(t not in self.shas for t in tables):
            return None
        import hashlib
        import json

        return hashlib.sha256(json.dumps([sql, {t: self.shas[t] for t in sorted(tables)}]).encode()).hexdigest()


def _base(test: AcceptanceTest) -> tuple[str, str, str, str, str, str]:
    """The leading fields of a CheckResult for `test`, status pass."""
    return test.id, test.model, test.kind, test.severity, "pass", test.description


def save_junit(report: VerifyReport, path: Path, root: Path, *, force: bool = False) -> None:
    """Write the JUnit XML of `report` to `path`: over a JUnit file leakcli wrote, never over
    anything else (a link, a database, a foreign file) without `force`."""
    from leakcli.store.layout import guard_file, write_output
    from leakcli.outputs.terminal import verify_junit

    paths = Paths(root)
    path = Path.cwd() / path
    guard_file(path, paths.rel(path), ours=_is_our_junit(path), force=force)
    write_output(paths.target, path, paths.rel(path), verify_junit(report), "the JUnit report")


def _is_our_junit(path: Path) -> bool:
    from leakcli.files import head_holds

    return head_holds(path, b'<testsuites name="leakcli"', within=300)


def run_tests(runner: Runner, tests: list[AcceptanceTest]) -> list[CheckResult]:
    """Run each test; a test that cannot run is an `error` result, not a crash."""
    import duckdb

    results = []
    for test in tests:
        kind: Callable[[AcceptanceTest], CheckResult] = getattr(runner, test.kind)
        try:
            result = kind(test)
        except (duckdb.Error, LeakError) as exc:
            msg = exc.one_line() if isinstance(exc, LeakError) else " ".join(str(exc).split())
            result = CheckResult(*_base(test), message=msg)
            result.status = "error"
        if result.failing_rows and result.status == "pass":
            result.status = "fail" if test.severity == "error" else "warn"
        results.append(result)
    return results


def verify(req: VerifyRequest, c: Contracts | None = None) -> VerifyReport:
    """`c`: the project's contracts when the caller loaded them already (they are parsed once a command)."""
    from leakcli.engine.connection import connect, lockdown

    c = c or contracts.load(req.root)
    paths = Paths(req.root)
    if not paths.database.exists():
        raise UsageError("nothing is built yet: run `leakcli apply` first",
                         file=paths.rel(paths.database))
    built = state.read_state(paths.database, paths.rel(paths.database))
    meta = state.built_from(built, c.ir.final_models)
    dataset = meta.dataset if meta else None
    if req.data_dir is not None and not req.data_dir.strip():
        raise UsageError("--data-dir is empty", hint="name the folder of the Maven CSVs, or leave the option out")
    data_dir = Path(req.data_dir).resolve() if req.data_dir else Path(dataset.path if dataset else "")
    con = connect(paths.database, read_only=True, shown=paths.rel(paths.database),
                  memory_limit=c.phase_plan.engine.limit())
    try:
        lockdown(con, [data_dir, paths.target])
        known = KnownResults.for_files(paths, c, data_dir)
        results = run_tests(Runner(c, con, data_dir, paths, known), c.tests.tests)
    finally:
        con.close()
    return VerifyReport(results=results, dataset={**(dataset.to_dict() if dataset else {}), "path": str(data_dir)},
                        database=paths.rel(paths.database))
