"""`apply`: write, audit, publish, as one straight line. Plan answers once what to do (plan_for_apply);
then the stages of stages.py run in order over one build context, into a new build under
target/builds/<id>/, and the build is published with one atomic step only when its audit passes. A
failure, a failed audit, Ctrl-C, SIGTERM or SIGKILL at any moment leaves the published build, all of
it, as it was; whatever happens, target/run_results.json records this apply.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from leakcli.commands import runresults
from leakcli.commands.published import published_growth, published_rows, status_line, top_rows
from leakcli.commands.records import WRITE_ACTIONS, ModelResult, Progress
from leakcli.commands.runresults import Invocation
from leakcli.commands.stages import STAGES, BuildContext, release
from leakcli.commands.unitrun import passed_memo, run_unit_tests
from leakcli.context import Project
from leakcli.contracts.actions import Action
from leakcli.contracts.questions import Question, refuse_blocked
from leakcli.contracts.records import Growth, Plan, SourceSummary
from leakcli.contracts.results import ApplyOutput, ModelOutcome
from leakcli.engine.connection import StorageError, no_space, written_file
from leakcli.errors import (
    AuditFailure,
    BlockingAmbiguity,
    ExecutionError,
    Interrupted,
    LeakError,
    UnitTestFailure,
    UsageError,
    is_interrupt,
)
from leakcli.paths import DEFAULT_RAW, Paths
from leakcli.plan.planner import PlanRequest
from leakcli.plan.saved import plan_for_apply
from leakcli.sources.checks import SourceChecks
from leakcli.sources.generate import ensure_synthetic
from leakcli.store.layout import Layout, own_target
from leakcli.store.lock import build_lock


@dataclass(frozen=True, kw_only=True)
class ApplyRequest:
    """What `leakcli apply` was asked: what to plan (or a saved plan), --force, and where progress goes."""

    plan: PlanRequest = field(default_factory=PlanRequest)
    plan_file: Path | None = None
    force: bool = False  # take over a target/ that leakcli did not create
    progress: Progress | None = None
    notice: Callable[[str], None] | None = None


@dataclass(frozen=True)
class ApplyResult:
    """What one apply did: its plan, each model's result, and the top of the published answer."""

    plan: Plan
    results: list[ModelResult]
    seconds: float
    database: str
    artifacts: list[str] = field(default_factory=list)
    top_actions: list[Action] = field(default_factory=list)
    priority_model: str = ""
    segment_keys: list[str] = field(default_factory=list)
    all_label: str = "(all)"
    lookback: int | None = None  # priority_lookback_months
    status_counts: dict[str, int] = field(default_factory=dict)
    status_line: str = ""  # "1 action to take now, 3 stopped leaks, 5 within noise"
    growth: Growth | None = None  # the answer's months and window, where the data ends, what was rebuilt
    sources: list[SourceSummary] = field(default_factory=list)  # what changed in each source file

    def to_dict(self) -> dict[str, object]:
        """`apply --json` (contracts/schemas/apply-output.schema.json)."""
        return ApplyOutput.model_validate({
            "status": "success", "dataset": self.plan.dataset, "database": self.database,
            "plan_fingerprint": self.plan.fingerprint, "elapsed_seconds": round(self.seconds, 3),
            "results": [ModelOutcome(model=r.name, action=r.action, status=r.status, rows=r.rows,
                                     seconds=round(r.seconds, 3), partitions=r.partitions) for r in self.results],
            "sources": self.sources, "growth": self.growth,
            "artifacts": self.artifacts, "top_actions": [dict(a.row) for a in self.top_actions],
            "status_counts": self.status_counts,
            "ambiguities": [a for a in self.plan.ambiguities if a.severity != "info"]}).document()


def apply(project: Project, req: ApplyRequest) -> ApplyResult:
    """Carry out the plan: build, audit and publish the models it creates or rebuilds, or change
    nothing when every model is unchanged. Whatever happens, target/run_results.json records it."""
    paths = project.paths
    record = Invocation()
    try:
        result = _apply(project, req, record)
    except BaseException as exc:
        status = ("interrupted" if is_interrupt(exc) or isinstance(exc, Interrupted) else
                  "rejected" if isinstance(exc, AuditFailure) else
                  "blocked" if isinstance(exc, BlockingAmbiguity) else "error")
        _record(paths, record.document(status, exc.one_line() if isinstance(exc, LeakError) else repr(exc)))
        raise
    _record(paths, record.document("success"))
    return result


def _apply(project: Project, req: ApplyRequest, record: Invocation) -> ApplyResult:
    if req.plan_file is not None:
        _refuse_options_beside(req)
    paths, c = project.paths, project.contracts
    layout = Layout(paths.target)
    layout.check_names()  # a file where a link of leakcli's belongs: refused before the plan reads anything

    made_up: list[str] = []

    def materialize() -> None:
        made_up.append(ensure_synthetic(paths, force=req.force))
        if req.notice:
            req.notice(f"no Maven CSVs found: made up the embedded synthetic dataset in {made_up[0]} to show the "
                       f"answer's shape; put the shop's CSVs in {DEFAULT_RAW}/ (or name their folder with "
                       f"--data-dir) for its real answer")

    plan, checks = plan_for_apply(project, req.plan, req.plan_file, materialize)
    record.plan = plan
    refuse_blocked(plan.blocking)
    _warn(req, plan.ambiguities)
    if req.notice and not made_up:  # just made up: the notice above said which data this is
        _say_dataset(req.notice, plan)
    _unit_tests(project, plan, record)
    layout.check(force=req.force)
    with build_lock(paths.lock, "apply", shown=paths.rel(paths.lock)):
        layout.prepare(force=req.force)
        if any(m.action in WRITE_ACTIONS for m in plan.models):
            plan = _build_and_publish(project, req, plan, checks, layout, record)
        else:  # nothing to build: the published build stays as it is, its own run results included
            record.sources, record.growth = plan.sources, published_growth(project)
            rows = published_rows(project, [m.name for m in plan.models if m.action == "unchanged"])
            record.results = [ModelResult(m.name, m.action, "unchanged" if m.action == "unchanged" else "skipped",
                                          rows.get(m.name), 0.0) for m in plan.models]
            current = layout.build_of("current")
            record.build = current.id if current else None
    top, counts = top_rows(project)
    return ApplyResult(plan=plan, results=record.results, seconds=time.perf_counter() - record.started,
                       database=paths.rel(paths.database),
                       artifacts=[paths.rel(paths.target / n) for n in ("leakcli.duckdb", "compiled", "exports",
                                                                        "run_results.json")],
                       top_actions=top, status_counts=counts, status_line=status_line(c, counts),
                       priority_model=c.catalog.priority.model, segment_keys=list(c.catalog.segment.keys),
                       all_label=c.catalog.priority.all_label, lookback=c.catalog.thresholds.priority_lookback_months,
                       growth=record.growth, sources=record.sources)


def _unit_tests(project: Project, plan: Plan, record: Invocation) -> None:
    """The unit tests of every model this apply writes (LEAK-SPEC §12), before anything is built: a
    failure refuses the build (exit 1); run_results.json records each test. A test that passed before on
    the same SQL, rows and versions (the cache remembers) is not run again: its outcome cannot differ."""
    writes = [m.name for m in plan.models if m.action in WRITE_ACTIONS]
    if writes:
        record.unit_tests = run_unit_tests(project, writes, checked=True,  # plan checked them: none is invalid
                                           passed=passed_memo(project.cache))
        failed = [r for r in record.unit_tests if r.status != "pass"]
        if failed:
            raise UnitTestFailure(failed)


def _refuse_options_beside(req: ApplyRequest) -> None:
    """A saved plan fixes the data, the models and what to rebuild (as Terraform refuses -target
    beside a saved plan): an option that would change them is a usage error, never ignored."""
    p = req.plan
    given = [("--data-dir", p.data_dir is not None), ("--select", bool(p.select)),
             ("--exclude", p.exclude is not None), ("--full-refresh", p.full_refresh),
             ("--synthetic", p.synthetic)]
    for flag, used in given:
        if used:
            raise UsageError(f"cannot be combined with a saved plan ({req.plan_file}): the plan fixes the data, "
                             f"the models and what to rebuild", file=flag,
                             hint=f"make a new plan with `leakcli plan {flag} ... --out {req.plan_file}`")


def _record(paths: Paths, doc: dict[str, object]) -> None:
    """target/run_results.json: the last apply, as dbt keeps it; never in a target/ leakcli does not own."""
    with contextlib.suppress(OSError, LeakError):  # best effort: the disk may be full
        own_target(paths.target)
        runresults.write(paths.run_results, doc)


def _say_dataset(notice: Callable[[str], None], plan: Plan) -> None:
    """Which data this apply reads, when it was not named: never a silent swap."""
    d = plan.dataset
    if d.kind == "synthetic":
        embedded = d.origin in ("synthetic", "synthetic_option")
        notice(f"using {'the embedded' if embedded else 'a'} synthetic dataset in {d.path}: made-up data, not the "
               f"shop's (name the shop's CSVs with --data-dir)")
    elif d.origin == "published":
        notice(f"using the data the published build was made from: {d.path} (name --data-dir to change it)")


def _warn(req: ApplyRequest, questions: list[Question]) -> None:
    for a in questions:
        if a.severity == "warning" and req.notice:
            req.notice(f"warning: {a.location}: {a.question}")


def _build_and_publish(project: Project, req: ApplyRequest, plan: Plan, checks: SourceChecks, layout: Layout,
                       record: Invocation) -> Plan:
    """Run the stages into a new build and publish it; return the plan carried out (its files all
    hashed now). On any failure keep the attempt as target/rejected and re-raise."""
    paths = project.paths
    try:
        with _write_errors(paths):
            build = layout.new_build()
    except ExecutionError as exc:  # not even its folder could be made: nothing is left behind
        exc.hint = "the published build is unchanged"
        raise
    record.build, record.building = build.id, True
    # --full-refresh starts from nothing, unless models not selected are kept: they come from the published build
    keeps = any(m.action == "skip" for m in plan.models)
    ctx = BuildContext(project, plan, checks, build, layout.build_of("current") if keeps or not plan.full_refresh
                       else None, record, req.progress, lambda questions: _warn(req, questions))
    try:
        with _write_errors(paths):
            try:
                for stage in STAGES:
                    stage(ctx)
            finally:
                release(ctx)
                if ctx.checks_finished:  # what the checks learnt holds whatever became of the build
                    project.cache.save()
            runresults.write(build.run_results, record.document("success"))
    except BaseException as exc:
        if is_interrupt(exc):
            layout.discard(build)
            kept = "the previous build is unchanged" if layout.build_of("current") else "nothing was published"
            raise Interrupted(f"apply interrupted; {kept}", file=paths.rel(paths.database),
                              hint="run `leakcli apply` again") from None
        if not isinstance(exc, LeakError) or isinstance(exc, BlockingAmbiguity) or exc.blocked:
            layout.discard(build)  # a question stopped it: nothing in it is worth keeping
            raise
        with contextlib.suppress(OSError, LeakError):  # best effort: the disk may be full
            runresults.write(build.run_results, record.document(
                "rejected" if isinstance(exc, AuditFailure) else "error", exc.one_line()))
        try:
            layout.reject(build)
            kept = "; the attempt is kept in target/rejected/"
        except OSError:  # no room even for a link: nothing is left behind instead
            layout.discard(build)
            kept = ""
        exc.hint = exc.hint or f"the published build is unchanged{kept}"
        raise
    try:
        with _write_errors(paths, "publish the build"):
            layout.publish(build)
    except ExecutionError as exc:  # `current` is as it was: the new build is no one's, and goes
        layout.discard(build)
        exc.hint = "the published build is unchanged"
        raise
    return ctx.plan


@contextlib.contextmanager
def _write_errors(paths: Paths, doing: str = "write the build") -> Iterator[None]:
    """A full disk, no inodes left, a file that cannot be written: one ExecutionError (exit 3)
    naming the file, as the OS or DuckDB named it."""
    try:
        yield
    except OSError as exc:
        where = paths.rel(Path(exc.filename)) if exc.filename else paths.rel(paths.target)
        raise ExecutionError(f"cannot {doing}: {exc.strerror or exc}", file=where) from None
    except StorageError as exc:
        named = exc.file or written_file(exc.detail)
        where = paths.rel(Path(named)) if named else paths.rel(paths.target)
        what = exc.message if exc.model else no_space(exc.detail) or exc.message
        raise ExecutionError(f"cannot {doing}: {what}", file=where, model=exc.model) from None
