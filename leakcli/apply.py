"""`apply`: build the planned models into a fresh DuckDB file and swap it in atomically.

The new database is written next to the old one as `target/.leakcli.duckdb.building`; models the
plan leaves unchanged are copied from the previous build. Only when every model has been built,
checked against its contract and exported does the file replace `target/leakcli.duckdb` (one
rename), so a failure, Ctrl-C or SIGKILL at any moment leaves the previous build as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli import contracts, state
from leakcli.errors import (
    BlockingAmbiguity,
    DataError,
    ExecutionError,
    ExitCode,
    Interrupted,
    LockedError,
    StalePlanError,
    UsageError,
    is_interrupt,
)
from leakcli.jsonout import envelope, write_atomic
from leakcli.lock import build_lock
from leakcli.model import BuildMeta, ModelStep, Plan
from leakcli.plan import PlanRequest, build_plan, load_saved
from leakcli.project import Paths
from leakcli.sql import quote_ident, sql_literal

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

BUILD_ACTIONS = ("create", "rebuild")


@dataclass(frozen=True)
class ProgressInfo:
    index: int
    total: int
    status: str | None = None
    rows: int | None = None
    seconds: float | None = None


Progress = Callable[[str, ModelStep, ProgressInfo], None]


@dataclass(frozen=True)
class ApplyRequest:
    root: Path
    data_dir: str | None = None
    select: tuple[str, ...] = ()
    full_refresh: bool = False
    plan_file: Path | None = None
    progress: Progress | None = None
    notice: Callable[[str], None] | None = None


@dataclass(frozen=True)
class ModelResult:
    name: str
    action: str
    status: str  # success | copied | unchanged | skipped
    rows: int | None
    seconds: float

    def to_dict(self) -> dict[str, object]:
        return {"model": self.name, "action": self.action, "status": self.status,
                "rows": self.rows, "seconds": round(self.seconds, 3)}


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

    def to_dict(self) -> dict[str, object]:
        return {
            **envelope(),
            "status": "success",
            "dataset": self.plan.dataset.to_dict(),
            "database": self.database,
            "plan_fingerprint": self.plan.fingerprint,
            "elapsed_seconds": round(self.seconds, 3),
            "results": [r.to_dict() for r in self.results],
            "artifacts": self.artifacts,
            "top_actions": self.top_actions,
            "ambiguities": [a.to_dict() for a in self.plan.ambiguities if a.severity != "info"],
        }


def _plan_request(req: ApplyRequest) -> PlanRequest:
    return PlanRequest(req.root, req.data_dir, req.select, req.full_refresh)


def _saved_request(saved: Plan, root: Path) -> PlanRequest:
    data = saved.dataset
    data_dir = None
    if data.origin in ("option", "environment"):
        data_dir = str(root / data.path)  # an absolute path stays as it is
    return PlanRequest(root, data_dir, tuple(saved.select), saved.full_refresh)


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


def prepare(req: ApplyRequest, c: contracts.Contracts) -> Plan:
    """The plan apply will carry out: made now, or a saved one that is still current."""
    from leakcli.generate import ensure_synthetic

    if req.plan_file is not None:
        saved = load_saved(req.plan_file)
        fresh_req = _saved_request(saved, req.root)
    else:
        saved, fresh_req = None, _plan_request(req)
    plan = build_plan(fresh_req, c)
    if plan.dataset.pending:
        generated = ensure_synthetic(req.root)
        if req.notice:
            req.notice(f"no Maven CSVs found: generated the synthetic default dataset in {generated}")
        plan = build_plan(fresh_req, c)
    if saved is not None:
        reasons = stale_reasons(saved, plan)
        if reasons:
            raise StalePlanError(f"saved plan is stale: {'; '.join(reasons)}; run `leakcli plan` again",
                                 file=str(req.plan_file))
    return plan


def apply(req: ApplyRequest) -> ApplyResult:
    started = time.perf_counter()
    c = contracts.load(req.root)
    plan = prepare(req, c)
    bad_rows = [a for a in plan.blocking if a.rule.exit_code is ExitCode.EXECUTION]
    if bad_rows:  # a row that cannot be read is an execution failure (exit 3), not a question
        raise DataError(f"{bad_rows[0].question} (apply changed nothing)", file=bad_rows[0].location)
    if plan.blocking:
        first = plan.blocking[0]
        raise BlockingAmbiguity(
            f"{len(plan.blocking)} blocking question(s) open; apply changed nothing. First: "
            f"{first.question}",
            [a.to_dict() for a in plan.blocking], file=first.location,
        )
    for a in plan.ambiguities:
        if a.severity == "warning" and req.notice:
            req.notice(f"warning: {a.location}: {a.question}")
    if req.notice and plan.dataset.kind == "synthetic":
        req.notice(f"using the embedded synthetic dataset in {plan.dataset.path} (not real data)")
    paths = Paths(req.root)
    with build_lock(paths.lock, "apply"):
        if any(m.action in BUILD_ACTIONS for m in plan.models):
            results, exports = _build(plan, paths, c, req.progress)
        else:  # nothing to build: the database, its exports and its metadata stay as they are
            results = [ModelResult(m.name, m.action, "unchanged" if m.action == "unchanged" else "skipped",
                                   None, 0.0) for m in plan.models]
            exports = []
        artifacts = _finish(plan, paths, results, exports, time.perf_counter() - started)
    return ApplyResult(plan=plan, results=results, seconds=time.perf_counter() - started,
                       database=paths.rel(paths.database), artifacts=artifacts,
                       top_actions=top_rows(paths, c.catalog.priority.model, c.catalog.thresholds.top_actions),
                       priority_model=c.catalog.priority.model, segment_keys=list(c.catalog.segment.keys))


def top_rows(paths: Paths, model: str, limit: int) -> list[dict[str, object]]:
    """The first rows of a built model, as JSON-ready dicts (empty when it was not built)."""
    from leakcli.engine import connect, rows_as_dicts, user_tables

    con = connect(paths.database, read_only=True)
    try:
        if model not in user_tables(con):
            return []
        return rows_as_dicts(con, f"select * from {quote_ident(model)} limit $n", {"n": limit})
    finally:
        con.close()


def _write_compiled(plan: Plan, paths: Paths) -> None:
    paths.compiled.mkdir(parents=True, exist_ok=True)
    for step in plan.models:
        out = paths.compiled / f"{step.name}.sql"
        write_atomic(out, f"-- compiled by leakcli from {step.template}; do not edit\n{step.sql}")


def _check_selection(plan: Plan, previous: set[str]) -> None:
    building = {m.name for m in plan.models if m.action in BUILD_ACTIONS}
    for step in plan.models:
        if step.name in building:
            for up in step.depends_on:
                if up not in building and up not in previous:
                    raise UsageError(f"model '{step.name}' needs '{up}', which is neither selected "
                                     f"nor built; select it too (--select +{step.name})")


def _build(plan: Plan, paths: Paths, c: contracts.Contracts,
           progress: Progress | None) -> tuple[list[ModelResult], list[tuple[Path, Path]]]:
    from leakcli.engine import connect, count_rows, describe, load_sources, run_model

    building = paths.target / ".leakcli.duckdb.building"
    staging = paths.target / ".exports.building"
    try:
        paths.target.mkdir(parents=True, exist_ok=True)
        _write_compiled(plan, paths)
    except OSError as exc:
        raise ExecutionError(f"cannot write the target directory: {exc.strerror}",
                             file=paths.rel(paths.target)) from None
    _remove(building, staging)
    previous = set(state.read_state(paths.database))
    _check_selection(plan, previous)
    data_path = paths.root / plan.dataset.path  # an absolute path stays as it is
    con = connect(building)
    results: list[ModelResult] = []
    exports: list[tuple[Path, Path]] = []
    try:
        if previous:
            attach_previous(con, paths)
        to_build = [m for m in plan.models if m.action in BUILD_ACTIONS]
        tables = sorted({s.split(".", 1)[1] for m in to_build for s in m.sources})
        load_sources(con, c, data_path, tables, display=paths.rel)
        dataset = plan.dataset.model_copy(update={"path": str(data_path.resolve())})
        for i, step in enumerate(plan.models):
            if progress:
                progress("start", step, ProgressInfo(i + 1, len(plan.models)))
            t0 = time.perf_counter()
            ident = quote_ident(step.name)
            if step.action in BUILD_ACTIONS:
                rows = run_model(con, step.name, step.sql, paths.rel(paths.compiled / f"{step.name}.sql"))
                _enforce_contract(c, step.name, describe(con, f"select * from {ident}"))
                status = "success"
                assert step.parts is not None
                meta: BuildMeta | None = BuildMeta(
                    fingerprint=step.fingerprint, parts=step.parts, built_at=time.strftime("%Y-%m-%dT%H:%M:%S"),
                    plan=plan.fingerprint, dataset=dataset, template=step.template)
            elif step.name in previous:
                con.execute(f"create table {ident} as select * from previous.main.{ident}")
                rows = count_rows(con, ident)
                status = "copied"
                meta = _previous_meta(con, step.name)
            else:
                results.append(ModelResult(step.name, step.action, "skipped", None, 0.0))
                continue
            if meta is not None:
                con.execute(f"comment on table {ident} is {sql_literal(state.encode(meta))}")
            seconds = time.perf_counter() - t0
            results.append(ModelResult(step.name, step.action, status, rows, seconds))
            if progress:
                progress("done", step, ProgressInfo(i + 1, len(plan.models), status, rows, seconds))
        exports = _export(con, c, staging, paths)
        if previous:
            con.execute("detach previous")
        con.execute("checkpoint")
        con.close()
        _fsync(building)
        os.replace(building, paths.database)
        _fsync(paths.target)
    except BaseException as exc:
        con.close()
        _remove(building, staging)
        if is_interrupt(exc):
            raise Interrupted("interrupted; the previous build is unchanged") from None
        raise
    return results, exports


def attach_previous(con: DuckDBPyConnection, paths: Paths) -> None:
    import duckdb

    try:
        con.execute("attach $path as previous (read_only)", {"path": str(paths.database)})
    except duckdb.Error as exc:
        raise LockedError(f"cannot read the previous build: {' '.join(str(exc).split())}",
                          file=paths.rel(paths.database)) from None


def _previous_meta(con: DuckDBPyConnection, name: str) -> BuildMeta | None:
    row = con.execute(
        "select comment from duckdb_tables() where database_name = 'previous' and table_name = $n",
        {"n": name},
    ).fetchone()
    return state.decode(row[0]) if row else None


def _enforce_contract(c: contracts.Contracts, name: str, found: list[tuple[str, str]]) -> None:
    declared = [(col.name, col.type) for col in c.models[name].columns]
    if found != declared:
        from leakcli.plan import columns_diff

        raise ExecutionError(f"model '{name}' returns {columns_diff(found, declared)}",
                             model=name, file=c.models[name].template)


def _export(con: DuckDBPyConnection, c: contracts.Contracts, staging: Path, paths: Paths) -> list[tuple[Path, Path]]:
    """Write both marts as CSV and Parquet into a staging directory; return (staged, final) pairs."""
    from leakcli.engine import user_tables

    staging.mkdir(parents=True, exist_ok=True)
    pairs = []
    built = user_tables(con)
    for name in (m for m in c.ir.final_models if m in built):
        for fmt, suffix in (("csv", "csv"), ("parquet", "parquet")):
            staged = staging / f"{name}.{suffix}"
            options = "format csv, header true" if fmt == "csv" else "format parquet"
            con.execute(f"copy (select * from {quote_ident(name)}) to $path ({options})",
                        {"path": str(staged)})
            pairs.append((staged, paths.exports / f"{name}.{suffix}"))
    return pairs


def _finish(plan: Plan, paths: Paths, results: list[ModelResult],
            exports: list[tuple[Path, Path]], seconds: float) -> list[str]:
    paths.exports.mkdir(parents=True, exist_ok=True)
    for staged, final in exports:
        os.replace(staged, final)
    _remove(paths.target / ".exports.building")
    run_results = {
        **envelope(),
        "command": "apply",
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "elapsed_seconds": round(seconds, 3),
        "dataset": plan.dataset.to_dict(),
        "plan_fingerprint": plan.fingerprint,
        "results": [r.to_dict() for r in results],
    }
    write_atomic(paths.run_results, json.dumps(run_results, indent=2) + "\n")
    return [paths.rel(p) for p in [paths.database, paths.run_results, paths.compiled]
            + [final for _, final in exports]]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(*paths: Path) -> None:
    for p in paths:
        for q in (p, p.with_name(p.name + ".wal")):
            if q.is_dir():
                shutil.rmtree(q, ignore_errors=True)
            elif q.exists():
                q.unlink()
