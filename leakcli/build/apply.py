"""`apply`: write, audit, publish. The planned models are built into a new build under
target/builds/<id>/ (database, compiled SQL, exports, run results), audited with the error-severity
acceptance tests, and published with one atomic step only when they pass. A failure, a failed audit,
Ctrl-C, SIGTERM or SIGKILL at any moment leaves the published build, all of it, as it was.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from leakcli.build import runresults
from leakcli.contracts import load as contracts
from leakcli.store import state
from leakcli.build.stages import BUILD_ACTIONS, ModelResult, Progress, priority_head, status_counts, status_line, write_build
from leakcli.errors import (
    AuditFailure,
    BlockingAmbiguity,
    DataError,
    ExecutionError,
    ExitCode,
    Interrupted,
    LeakError,
    StalePlanError,
    is_interrupt,
)
from leakcli.jsonout import envelope
from leakcli.store.layout import Layout
from leakcli.store.lock import build_lock
from leakcli.contracts.questions import Question
from leakcli.contracts.records import Plan
from leakcli.plan.planner import DataChecks, PlanRequest, load_saved, plan_and_checks
from leakcli.project import Paths
from leakcli.build.runresults import Invocation
from leakcli.engine.sqltext import quote_ident


@dataclass(frozen=True)
class ApplyRequest:
    root: Path
    data_dir: str | None = None
    select: tuple[str, ...] = ()
    full_refresh: bool = False
    plan_file: Path | None = None
    progress: Progress | None = None
    notice: Callable[[str], None] | None = None
    force: bool = False  # take over a target/ that leakcli did not create
    exclude: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ApplyResult:
    plan: Plan
    results: list[ModelResult]
    seconds: float
    database: str
    artifacts: list[str] = field(default_factory=list)
    top_actions: list[dict[str, object]] = field(default_factory=list)
    priority_model: str = ""
    segment_keys: list[str] = field(default_factory=list)
    status_counts: dict[str, int] = field(default_factory=dict)
    status_line: str = ""  # "1 action to take now, 3 stopped leaks, 5 within noise"

    def to_dict(self) -> dict[str, object]:
        return {
            **envelope(),
            "status": "success",
            "dataset": self.plan.dataset.to_dict(),
            "database": self.database,
            "plan_fingerprint": self.plan.fingerprint,
            "elapsed_seconds": round(self.seconds, 3),
            "results": [{"model": r.name, "action": r.action, "status": r.status, "rows": r.rows,
                         "seconds": round(r.seconds, 3)} for r in self.results],
            "artifacts": self.artifacts,
            "top_actions": self.top_actions,
            "status_counts": self.status_counts,
            "ambiguities": [a.to_dict() for a in self.plan.ambiguities if a.severity != "info"],
        }


def _plan_request(req: ApplyRequest) -> PlanRequest:
    return PlanRequest(req.root, req.data_dir, req.select, req.full_refresh, req.exclude)


def _saved_request(saved: Plan, root: Path) -> PlanRequest:
    data = saved.dataset
    data_dir = None
    if data.origin in ("option", "environment"):
        data_dir = str(root / data.path)  # an absolute path stays as it is
    return PlanRequest(root, data_dir, tuple(saved.select), saved.full_refresh,
                       None if saved.exclude is None else tuple(saved.exclude))


def stale_reasons(saved: Plan, fresh: Plan) -> list[str]:
    reasons = []
    for path in sorted(set(saved.inputs) | set(fresh.inputs)):
        before, now = saved.inputs.get(path), fresh.inputs.get(path)
        if before == now or before == "pending":
            continue
        if before is None:
            reasons.append(f"{path} is new")
        elif now is None:
            reasons.append(f"{path} is gone")
        else:
            reasons.append(f"{path} changed")
    was = [(m.name, m.action) for m in saved.models]
    now_actions = [(m.name, m.action) for m in fresh.models]
    if not reasons and was != now_actions:
        reasons.append("the built database changed since the plan")
    return reasons


def prepare(req: ApplyRequest, c: contracts.Contracts) -> tuple[Plan, DataChecks]:
    """The plan apply will carry out, made now (a saved one must still be current), with the data
    checks it leaves for the build to finish on the tables it loads."""
    from leakcli.sources.generate import ensure_synthetic

    if req.plan_file is not None:
        saved = load_saved(req.plan_file)
        fresh_req = _saved_request(saved, req.root)
    else:
        saved, fresh_req = None, _plan_request(req)
    plan, checks = plan_and_checks(fresh_req, c, defer=True)
    if plan.dataset.pending:
        generated = ensure_synthetic(req.root)
        if req.notice:
            req.notice(f"no Maven CSVs found: generated the synthetic default dataset in {generated}")
        plan, checks = plan_and_checks(fresh_req, c, defer=True)
    if saved is not None:
        reasons = stale_reasons(saved, plan)
        if reasons:
            raise StalePlanError(f"saved plan is stale: {'; '.join(reasons)}; run `leakcli plan` again",
                                 file=str(req.plan_file))
    return plan, checks


def apply(req: ApplyRequest) -> ApplyResult:
    """Carry out the plan; whatever happens, target/run_results.json records this apply."""
    paths = Paths(req.root)
    inv = Invocation()
    try:
        result = _apply(req, paths, inv)
    except BaseException as exc:
        status = ("interrupted" if is_interrupt(exc) or isinstance(exc, Interrupted) else
                  "rejected" if isinstance(exc, AuditFailure) else
                  "blocked" if isinstance(exc, BlockingAmbiguity) else "error")
        _record(paths, inv.document(status, exc.one_line() if isinstance(exc, LeakError) else repr(exc)))
        raise
    _record(paths, inv.document("success"))
    return result


def _apply(req: ApplyRequest, paths: Paths, inv: Invocation) -> ApplyResult:
    c = contracts.load(req.root)
    plan, checks = prepare(req, c)
    inv.plan = plan
    refuse_blocked(plan.blocking)
    _warn(req, plan.ambiguities)
    if req.notice and plan.dataset.kind == "synthetic":
        req.notice(f"using the embedded synthetic dataset in {plan.dataset.path} (not real data)")
    layout = Layout(paths.target)
    layout.check(force=req.force)
    with build_lock(paths.lock, "apply"):
        layout.prepare(force=req.force)
        if any(m.action in BUILD_ACTIONS for m in plan.models):
            _write_and_publish(req, plan, checks, c, paths, layout, inv)
        else:  # nothing to build: the published build stays as it is, its own run results included
            rows = published_rows(paths, [m.name for m in plan.models if m.action == "unchanged"])
            inv.results = [ModelResult(m.name, m.action, "unchanged" if m.action == "unchanged" else "skipped",
                                       rows.get(m.name), 0.0) for m in plan.models]
            current = layout.build_of("current")
            inv.build = current.id if current else None
    top, counts = top_rows(paths, c)
    return ApplyResult(plan=plan, results=inv.results, seconds=time.perf_counter() - inv.started,
                       database=paths.rel(paths.database),
                       artifacts=[paths.rel(paths.target / n) for n in ("leakcli.duckdb", "compiled", "exports",
                                                                        "run_results.json")],
                       top_actions=top, status_counts=counts, status_line=status_line(c, counts),
                       priority_model=c.catalog.priority.model, segment_keys=list(c.catalog.segment.keys))


def _record(paths: Paths, doc: dict[str, object]) -> None:
    """target/run_results.json: the last apply, as dbt keeps it; never in a target/ leakcli does not own."""
    from leakcli.store.layout import own_target

    with contextlib.suppress(OSError, LeakError):  # best effort: the disk may be full
        own_target(paths.target)
        runresults.write(paths.run_results, doc)


def refuse_blocked(blocking: list[Question]) -> None:
    bad_rows = [a for a in blocking if a.rule.exit_code is ExitCode.EXECUTION]
    if bad_rows:  # a row that cannot be read is an execution failure (exit 3), not a question
        raise DataError(f"{bad_rows[0].question} (apply changed nothing)", file=bad_rows[0].location)
    if blocking:
        first = blocking[0]
        raise BlockingAmbiguity(
            f"{len(blocking)} blocking question(s) open; apply changed nothing. First: {first.question}",
            [a.to_dict() for a in blocking], file=first.location)


def _warn(req: ApplyRequest, questions: list[Question]) -> None:
    for a in questions:
        if a.severity == "warning" and req.notice:
            req.notice(f"warning: {a.location}: {a.question}")


def _write_and_publish(req: ApplyRequest, plan: Plan, checks: DataChecks, c: contracts.Contracts, paths: Paths,
                       layout: Layout, inv: Invocation) -> None:
    """Build, audit and publish, recording into `inv`; on any failure keep the attempt as
    target/rejected and re-raise."""
    previous = None if req.full_refresh else layout.build_of("current")
    build = layout.new_build()
    inv.build, inv.building = build.id, True
    try:
        with _write_errors(paths):
            write_build(plan, checks, c, paths, build, previous, inv, req.progress,
                        lambda questions: _warn(req, questions))
            runresults.write(build.run_results, inv.document("success"))
    except BaseException as exc:
        if is_interrupt(exc):
            layout.discard(build)
            raise Interrupted("interrupted; the previous build is unchanged") from None
        if not isinstance(exc, LeakError):
            layout.discard(build)
            raise
        with contextlib.suppress(OSError, LeakError):  # best effort: the disk may be full
            runresults.write(build.run_results, inv.document(
                "rejected" if isinstance(exc, AuditFailure) else "error", exc.one_line()))
            layout.reject(build)
        exc.hint = exc.hint or "the published build is unchanged; the attempt is kept in target/rejected/"
        raise
    with _write_errors(paths):
        layout.publish(build)


@contextlib.contextmanager
def _write_errors(paths: Paths) -> Iterator[None]:
    """A full disk, no inodes left, a file that cannot be written: one ExecutionError (exit 3)."""
    import duckdb

    try:
        yield
    except OSError as exc:
        where = paths.rel(Path(exc.filename)) if exc.filename else "target"
        raise ExecutionError(f"cannot write the build: {exc.strerror or exc}", file=where) from None
    except duckdb.IOException as exc:
        raise ExecutionError(f"cannot write the build: {' '.join(str(exc).split())}", file="target") from None


def published_rows(paths: Paths, models: list[str]) -> dict[str, int]:
    """Row counts of published tables (a no-op apply still reports what its tables hold)."""
    from leakcli.engine.connection import connect, count_rows, user_tables

    if not models or not paths.database.exists():
        return {}
    summary = state.read_summary(paths.database)
    if summary is not None:
        return {m: summary.rows[m] for m in models if m in summary.rows}
    con = connect(paths.database, read_only=True, shown=paths.rel(paths.database))
    try:
        built = user_tables(con)
        return {m: count_rows(con, quote_ident(m)) for m in models if m in built}
    finally:
        con.close()


def top_rows(paths: Paths, c: contracts.Contracts) -> tuple[list[dict[str, object]], dict[str, int]]:
    """The first rows of the priority model in grain order, as JSON-ready dicts, and how many actions
    it holds of each status (none when it was not built)."""
    from leakcli.engine.connection import connect, user_tables

    model, limit = c.catalog.priority.model, c.catalog.thresholds.top_actions
    summary = state.read_summary(paths.database)
    if summary is not None and (model not in summary.tables or (model in summary.head and summary.statuses is not None
                                                                and limit <= summary.head_limit)):
        return summary.head.get(model, [])[:limit], summary.statuses or {}
    con = connect(paths.database, read_only=True, shown=paths.rel(paths.database))
    try:
        if model not in user_tables(con):
            return [], {}
        return priority_head(con, c), status_counts(con, c)
    finally:
        con.close()


