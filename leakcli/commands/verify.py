"""`verify`: run every acceptance test of contracts/acceptance-tests.json on the published build,
read-only and locked down, with the data directory the build was made from (or the one named)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli.commands.audit import KnownResults, Runner, run_tests
from leakcli.commands.published import status_line, top_rows
from leakcli.commands.records import CheckResult
from leakcli.contracts.actions import Action
from leakcli.contracts.load import TESTS
from leakcli.contracts.results import VerifyOutput
from leakcli.engine.connection import QueryError, connect, lockdown, reading
from leakcli.errors import ContractError, LeakError, UsageError
from leakcli.jsonout import jsonable
from leakcli.paths import named_data_dir
from leakcli.store import state

if TYPE_CHECKING:
    from leakcli.commands.fullcheck import ModelCheck
    from leakcli.context import Project


@dataclass(frozen=True)
class VerifyReport:
    """Every acceptance test's result on the published build, the dataset it read and the database."""

    results: list[CheckResult]
    dataset: dict[str, object]
    database: str
    actions: list[Action] = field(default_factory=list)  # the top of the answer, for a summary
    status_line: str = ""  # "1 action to take now, 3 stopped leaks, 5 within noise"
    segment_keys: list[str] = field(default_factory=list)
    all_label: str = "(all)"
    broken: LeakError | None = None  # the first test that could not run: the contract is wrong (exit 2)
    full_check: list[ModelCheck] | None = None  # --full-check: every model against its build from scratch

    @property
    def summary(self) -> dict[str, int]:
        statuses = [r.status for r in self.results]
        return {"total": len(statuses), "passed": statuses.count("pass"),
                "failed": statuses.count("fail"), "warned": statuses.count("warn"),
                "errored": statuses.count("error")}

    @property
    def ok(self) -> bool:
        return not any(r.status in ("fail", "error") for r in self.results) and all(
            m.same for m in self.full_check or [])

    def to_dict(self) -> dict[str, object]:
        """`verify --json` (LEAK-SPEC §10; contracts/schemas/verify-output.schema.json)."""
        keys = ("id", "model", "kind", "severity", "status", "observed", "expected", "failing_rows", "sample",
                "message")
        checked = None if self.full_check is None else [
            {"model": m.model, "same": m.same, "rows_published": m.rows_published, "rows_rebuilt": m.rows_rebuilt,
             "differing_rows": m.differing, "months": m.months, "sample": m.sample} for m in self.full_check]
        return VerifyOutput.model_validate(jsonable({
            "summary": self.summary, "dataset": self.dataset, "database": self.database,
            "results": [{k: getattr(r, k) for k in keys} for r in self.results], "full_check": checked})).document()


def verify(project: Project, *, data_dir: str | None = None, full_check: bool = False) -> VerifyReport:
    """Every acceptance test on the published build, reading the data it was made from (or `data_dir`);
    with `full_check`, every model also against a build from scratch (fullcheck.py)."""
    c, paths = project.contracts, project.paths
    if not paths.published.exists():
        raise UsageError("nothing is built yet", file=paths.rel(paths.database), hint="run `leakcli apply` first")
    built = state.read_state(paths.published, paths.rel(paths.database), trust_summary=project.cache.enabled)
    meta = state.built_from(built, c.ir.final_models)
    dataset = meta.dataset if meta else None
    files = [t.file for t in c.tables.values() if t.required]
    if data_dir is not None:
        if not data_dir.strip():
            raise UsageError("is empty", file="--data-dir", hint="name the folder of the Maven CSVs, or leave it out")
        data = named_data_dir(Path(data_dir), "--data-dir", files)
    else:
        data = paths.root / (dataset.path if dataset else "")  # a relative path is the project's
        missing = [f for f in files if not (data / f).is_file()] if data.is_dir() else [""]
        if missing:
            raise UsageError("the data the published build was made from is gone"
                             + (f" ({len(missing)} of {len(files)} required files)" if missing[0] else ""),
                             file=paths.rel(data / missing[0]) if missing[0] else paths.rel(data),
                             hint="name it with --data-dir (or rebuild with leakcli apply)")
    con = connect(paths.published, read_only=True, shown=paths.rel(paths.database),
                  memory_limit=c.phase_plan.engine.limit())
    try:
        lockdown(con, [data, paths.target], [data / t.file for t in c.tables.values()])
        known = KnownResults.for_files(project, data)
        with reading(paths.rel(paths.database)):
            results = run_tests(Runner(project, con, data, known), c.tests.tests)
    finally:
        con.close()
    absent = {m for m in c.models if m not in built}  # built with --select: a build's error, not a contract's
    results = [_not_built(r) if r.status == "error" and r.model in absent else r for r in results]
    top, counts = top_rows(project)
    broken = next((_cause(r, i) for i, r in enumerate(results) if r.status == "error" and r.model not in absent),
                  None)
    checked = None
    if full_check:
        from leakcli.commands.fullcheck import full_check as run_full_check

        checked = run_full_check(project, data)
    return VerifyReport(broken=broken, actions=top, full_check=checked, status_line=status_line(c, counts),
                        segment_keys=list(c.catalog.segment.keys), all_label=c.catalog.priority.all_label,
                        results=results, dataset={**(dataset.to_dict() if dataset else {}), "path": str(data)},
                        database=paths.rel(paths.database))


def _not_built(result: CheckResult) -> CheckResult:
    """A test of a model the published build does not hold (it was built with --select): an error of
    the build, not of the contract (exit 1, as a failed test)."""
    return replace(result, message=f"{result.model} is not in the published build (it was built with "
                                   f"--select or --exclude); run `leakcli apply` to build it", error=None)


def _cause(result: CheckResult, index: int) -> LeakError:
    """Why the test at `index` could not run: its own error when that names a file, else its query's."""
    exc = result.error
    if exc is not None and exc.file and not isinstance(exc, QueryError):
        return exc
    return ContractError(f"{result.id} could not run: {result.message}", file=TESTS, pointer=f"/tests/{index}")
