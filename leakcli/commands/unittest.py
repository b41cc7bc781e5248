"""`leakcli test`: the unit tests of contracts/unit-tests.json (LEAK-SPEC §12) of the selected models,
checked (an invalid one is a blocking question, exit 2) and run (unitrun.py); or, with `--create`, a
new test written from the published build (unitcreate.py) and run."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from leakcli.commands.unitrun import UnitResult, run_unit_tests
from leakcli.contracts.records import UnitCoverage
from leakcli.contracts.results import UnitTestOutput
from leakcli.errors import UsageError
from leakcli.plan.unittests import coverage

if TYPE_CHECKING:
    from leakcli.context import Project
    from leakcli.contracts.load import Contracts


@dataclass(frozen=True, kw_only=True)
class TestRequest:
    """What `leakcli test` was asked: the models whose tests run (dbt's grammar), or a test to create."""

    __test__ = False  # not a pytest class
    select: tuple[str, ...] = ()
    create: str | None = None  # --create MODEL
    where: str | None = None
    limit: int = 5
    test_id: str | None = None


@dataclass(frozen=True)
class UnitReport:
    """Every unit test run (in the file's order), the coverage of models and decisions, and the test
    `--create` wrote."""

    results: list[UnitResult]
    coverage: UnitCoverage
    seconds: float
    created: str | None = None

    @property
    def summary(self) -> dict[str, int]:
        statuses = [r.status for r in self.results]
        return {"total": len(statuses), "passed": statuses.count("pass"), "failed": statuses.count("fail"),
                "errored": statuses.count("error")}

    @property
    def ok(self) -> bool:
        return all(r.status == "pass" for r in self.results)

    def to_dict(self) -> dict[str, object]:
        """`leakcli test --json` (contracts/schemas/unit-test-output.schema.json)."""
        return UnitTestOutput.model_validate({
            "summary": self.summary, "seconds": round(self.seconds, 3), "coverage": self.coverage,
            "created": self.created, "results": [r.to_dict() for r in self.results]}).document()


def unit_test(project: Project, req: TestRequest) -> UnitReport:
    """`leakcli test`: every test of the selected models checked (an invalid one is a blocking
    question, exit 2) and run; or, with `create`, a new test written from the published build."""
    started = time.perf_counter()
    for option, given in (("--where", req.where), ("--id", req.test_id)):
        if given is not None and req.create is None:
            raise UsageError("is an option of --create", file=option, hint="add --create MODEL, or leave it out")
    c = project.contracts
    if req.create is not None:
        from leakcli.commands.unitcreate import create_test
        from leakcli.contracts.load import load

        created, results = create_test(project, req.create, req.where, limit=req.limit, test_id=req.test_id)
        return UnitReport(results, coverage(load(project.root)), time.perf_counter() - started, created.id)
    words = " ".join(req.select).split()
    ids = [w for w in words if re.fullmatch(r"UT-[0-9]{2,}", w)]
    known = {t.id for t in c.unit_tests.tests}
    for test_id in ids:
        if test_id not in known:
            raise UsageError(f"{test_id} is no test of contracts/unit-tests.json", file="--select",
                             hint="name a test id or a model")
    models = [w for w in words if w not in ids]
    results = run_unit_tests(project, _selected(c, models) if models else None, ids=ids)
    return UnitReport(results, coverage(c), time.perf_counter() - started)


def _selected(c: Contracts, select: list[str]) -> list[str]:
    """The models a selection in dbt's grammar names (graph.py)."""
    from leakcli.plan.graph import select as graph_select

    order = list(c.models)
    return sorted(graph_select(select, order, {n: list(c.models[n].depends_on.refs) for n in order}, None))
