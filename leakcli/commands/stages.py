"""The stages of one build, each run once, in order, over one BuildContext: the planned models go into
a new DuckDB file under target/builds/<id>/ with the compiled SQL they were made from, are checked
against the registry, audited with the error-severity acceptance tests and exported, before
apply.py publishes the build. A stage that fails leaves the attempt for apply to keep or discard.

    write_compiled -> open_database -> prepare_updates -> run_models -> finish_checks -> audit -> export -> close
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli.commands.audit import KnownResults, Runner, run_tests
from leakcli.commands.feed import Feed
from leakcli.commands.increment import Increment
from leakcli.commands.published import grain_order, growth_of, priority_head, status_counts
from leakcli.commands.records import BUILD_ACTIONS, WRITE_ACTIONS, ModelResult, Progress, ProgressInfo
from leakcli.contracts.questions import Question, refuse_blocked
from leakcli.contracts.records import BuildMeta, MonthRows, SourceSummary
from leakcli.engine.connection import (
    DamagedDatabase,
    connect,
    count_rows,
    describe,
    execute,
    lockdown,
    run_model,
    user_tables,
)
from leakcli.engine.sqltext import quote_ident, sql_literal
from leakcli.errors import AuditFailure, ExecutionError, UsageError
from leakcli.files import write_atomic
from leakcli.plan.binding import columns_diff
from leakcli.plan.changes import COMPILED_HEADER, SNAPSHOT, snapshot
from leakcli.progress import checkpoint, phase
from leakcli.store import state

if TYPE_CHECKING:
    from leakcli.commands.runresults import Invocation
    from leakcli.context import Project
    from leakcli.contracts.load import Contracts
    from leakcli.contracts.records import Growth, Plan
    from leakcli.engine.connection import Connection
    from leakcli.paths import Paths
    from leakcli.sources.checks import SourceChecks
    from leakcli.store.layout import Build


@dataclass
class BuildContext:
    """Everything one build reads and what its stages hand on to the next."""

    project: Project
    plan: Plan
    checks: SourceChecks
    build: Build
    previous: Build | None  # the published build to reuse tables from (none with --full-refresh)
    record: Invocation  # each model and audit result as it comes: a failed attempt still says what it did
    progress: Progress | None = None
    warn: Callable[[list[Question]], None] | None = None
    con: Connection | None = None
    kept: set[str] = field(default_factory=set)  # tables copied unchanged from the published build
    runner: Runner | None = None  # runs the audit; answers its queries of sources while they are loaded
    feed: Feed | None = None  # the source files, each read once
    summary: state.Summary | None = None
    checks_finished: bool = False  # what the checks learnt is in the cache, to keep
    increment: Increment | None = None  # the changed rows of an incremental build
    growth: Growth | None = None  # the built answer's months, window and end of data

    @property
    def c(self) -> Contracts:
        return self.project.contracts

    @property
    def paths(self) -> Paths:
        return self.project.paths

    @property
    def data_path(self) -> Path:
        return self.paths.root / self.plan.dataset.path  # an absolute path stays as it is

    @property
    def db(self) -> Connection:
        assert self.con is not None, "the database is not open"
        return self.con


def write_compiled(ctx: BuildContext) -> None:
    """The SQL each table of the build is made from (a model it keeps keeps its published SQL), and
    the contracts it is built from."""
    build, previous = ctx.build, ctx.previous
    build.compiled.mkdir(parents=True, exist_ok=True)
    for step in ctx.plan.models:
        old = previous.compiled / f"{step.name}.sql" if previous is not None else None
        if step.action not in WRITE_ACTIONS and old is not None and old.is_file():
            shutil.copyfile(old, build.compiled / old.name)
        else:
            write_atomic(build.compiled / f"{step.name}.sql",
                         f"{COMPILED_HEADER}{step.template}; do not edit\n{step.sql}")
    write_atomic(build.path / SNAPSHOT, snapshot(ctx.c))


def open_database(ctx: BuildContext) -> None:
    """The build's database: a copy of the published one when it keeps tables from it (reuse costs
    no query), locked down to the data and the build's own folder."""
    previous_tables = _tables_of(ctx.previous, ctx.project)
    building = {m.name for m in ctx.plan.models if m.action in BUILD_ACTIONS}
    for step in ctx.plan.models:
        for up in step.depends_on if step.name in building else []:
            if up not in building and up not in previous_tables:
                raise UsageError(f"model '{step.name}' needs '{up}', which is neither selected "
                                 f"nor built; select it too (--select +{step.name})")
    ctx.kept = {m.name for m in ctx.plan.models if m.action not in BUILD_ACTIONS and m.name in previous_tables}
    if ctx.kept and ctx.previous is not None:
        shutil.copyfile(ctx.previous.database, ctx.build.database)
    ctx.con = connect(ctx.build.database, memory_limit=ctx.c.phase_plan.engine.limit())
    for name in sorted(previous_tables - ctx.kept if ctx.kept else set()):
        execute(ctx.db, f"drop table if exists {quote_ident(name)}")
    execute(ctx.db, "set preserve_insertion_order = false")
    if any(m.action == "update" for m in ctx.plan.models):  # a pipe of new rows is no data file: before the lockdown
        ctx.increment = Increment.load(ctx.project, ctx.db, ctx.checks)
    lockdown(ctx.db, [ctx.data_path, ctx.build.path], [f.path for f in ctx.checks.facts.values() if f.exists])


def prepare_updates(ctx: BuildContext) -> None:
    """The changed rows of an incremental build, made by the staging models and traced to the
    partitions they touch (increment.py); a blocking question about them stops the build first."""
    if ctx.increment is None:
        return
    refuse_blocked(ctx.checks.q.blocking)
    from leakcli.render.renderer import render_memo, renderer_for

    renderer = renderer_for(ctx.c, render_memo(ctx.project.cache))
    with phase("tracing the changed rows"):
        ctx.increment.prepare(ctx.plan.models, {m.name: renderer.render_model(m.name) for m in ctx.plan.models
                                                if m.action == "update"})


def _tables_of(previous: Build | None, project: Project) -> set[str]:
    """The tables of the published build to reuse; none when it is damaged (everything is rebuilt)."""
    if previous is None:
        return set()
    try:
        return set(state.read_state(previous.database, project.rel(previous.database),
                                    trust_summary=project.cache.enabled))
    except DamagedDatabase:
        return set()


def run_models(ctx: BuildContext) -> None:
    """Build each planned model in order, each source file read once (feed.py); a model kept from
    the published build is already there. A table's rows have no order but its SQL's ORDER BY (kept
    even so): DuckDB then writes each model in parallel, straight to the file, and reads of the
    marts name their order. A blocking question about a file stops the models; the other files are
    still checked, so that every question is asked at once."""
    plan, c = ctx.plan, ctx.c
    ctx.runner = Runner(ctx.project, ctx.db, ctx.data_path)
    ctx.feed = feed = Feed.of(plan, ctx.checks, ctx.kept, ctx.runner, ctx.paths.rel)
    total = len(plan.models)
    for i, step in enumerate(plan.models, start=1):
        feed.before(step)
        if ctx.checks.q.blocking:
            break
        if ctx.progress:
            ctx.progress("start", step, ProgressInfo(i, total))
        checkpoint(f"model {step.name}")
        t0 = time.perf_counter()
        if step.action == "update":
            assert ctx.increment is not None
            from leakcli.render.renderer import render_memo, renderer_for

            rendered = renderer_for(c, render_memo(ctx.project.cache)).render_model(step.name)
            rows, status = ctx.increment.update(step, rendered), "success"
        elif step.action in BUILD_ACTIONS:
            kept_at = ctx.paths.rel(ctx.paths.target / "rejected" / "compiled" / f"{step.name}.sql")
            rows = run_model(ctx.db, step.name, step.sql, kept_at)
            found, declared = describe(ctx.db, f"select * from {quote_ident(step.name)}"), c.models[step.name].declared
            if found != declared:
                raise ExecutionError(f"model '{step.name}' returns {columns_diff(found, declared)}",
                                     model=step.name, file=c.models[step.name].template)
            status = "success"
        elif step.name in ctx.kept:
            rows, status = count_rows(ctx.db, quote_ident(step.name)), "copied"  # its metadata came with it
        else:
            ctx.record.results.append(ModelResult(step.name, step.action, "skipped", None, 0.0))
            continue
        feed.after(step)
        seconds = time.perf_counter() - t0
        parts = ctx.increment.updated.get(step.name) if ctx.increment is not None else None
        ctx.record.results.append(ModelResult(step.name, step.action, status, rows, seconds, parts))
        if ctx.progress:
            ctx.progress("done", step, ProgressInfo(i, total, status, rows, seconds))


def finish_checks(ctx: BuildContext) -> None:
    """The checks of the files no model read, the sha256 of the files hashed while they loaded (the
    plan's fingerprints are then those `plan` computes), the drift against the profiles, and the
    source cache; then stop on a blocking question as plan would have, or label each built table."""
    checks, feed = ctx.checks, ctx.feed
    assert feed is not None
    feed.finish()
    hashed = checks.finish(feed.done)
    ctx.plan = ctx.record.plan = ctx.plan.with_sources(hashed, str(ctx.data_path))
    ctx.checks_finished = True
    refuse_blocked(checks.q.blocking)
    if ctx.warn:
        ctx.warn(checks.q.items)
    # inside the project, relative to it: a copy of the project reads its own data, not the original's
    dataset = ctx.plan.dataset.model_copy(update={"path": ctx.paths.rel(ctx.data_path.resolve())})
    built_at = time.strftime("%Y-%m-%dT%H:%M:%S")
    for step in ctx.plan.models:
        if step.action in WRITE_ACTIONS:
            assert step.parts is not None
            meta = BuildMeta(fingerprint=step.fingerprint, parts=step.parts, plan=ctx.plan.fingerprint,
                             built_at=built_at, dataset=dataset, template=step.template)
            execute(ctx.db, f"comment on table {quote_ident(step.name)} is {sql_literal(state.encode(meta))}")


def audit(ctx: BuildContext) -> None:
    """The error-severity acceptance tests whose models this build holds, on the build itself; the
    results of queries of unchanged source files alone come from the cache, and go back to it. A
    failed test rejects the build."""
    c = ctx.c
    with phase("auditing the build"):
        built = set(user_tables(ctx.db))
        tests = [t for t in c.tests.tests
                 if t.severity == "error" and all(m in built for m in t.models_read(c.ir.models))]
        runner = ctx.runner or Runner(ctx.project, ctx.db, ctx.data_path)
        runner.known = KnownResults({t: f.sha256 for t, f in ctx.checks.facts.items() if f.sha256}, ctx.project.cache)
        runner.loaded = ctx.feed.in_place | ctx.feed.loaded if ctx.feed else set()
        ctx.record.audit.extend(run_tests(runner, tests))
    failed = [r for r in ctx.record.audit if r.status in ("fail", "error")]
    if failed:
        raise AuditFailure(failed)


def export(ctx: BuildContext) -> None:
    """Both marts as CSV and Parquet, in grain order, into the build; and the build's summary."""
    c, dataset = ctx.c, ctx.plan.dataset
    with phase("exporting and writing the build"):
        ctx.build.exports.mkdir(parents=True, exist_ok=True)
        tables = user_tables(ctx.db)
        about = {"dataset_kind": dataset.kind, "dataset_path": str(ctx.data_path.resolve()),
                 "build": ctx.build.id, "plan_fingerprint": ctx.plan.fingerprint}
        kv = ", ".join(f"{k}: {sql_literal(v)}" for k, v in about.items())  # where the answer came from
        for name in (m for m in c.ir.final_models if m in tables):
            for options, suffix in (("format csv, header true", "csv"), (f"format parquet, kv_metadata {{{kv}}}",
                                                                         "parquet")):
                execute(ctx.db, f"copy (select * from {quote_ident(name)} order by {grain_order(c, name)}) "
                                f"to $path ({options})", {"path": str(ctx.build.exports / f"{name}.{suffix}")})
        finals = [m for m in c.ir.final_models if m in tables]
        state.write_sources(ctx.build.path, {t: r for t, f in ctx.checks.facts.items() if (r := f.record())})
        write_atomic(ctx.build.exports / "metadata.json", json.dumps(
            {**about, "synthetic": dataset.kind == "synthetic", "models": finals}, indent=2) + "\n")
        rows = {r.name: r.rows for r in ctx.record.results if r.rows is not None and r.name in tables}
        model = c.catalog.priority.model
        head = {model: priority_head(ctx.db, c)} if model in tables else {}
        statuses = status_counts(ctx.db, c) if model in tables else {}
        before = state.read_summary(ctx.previous.database) if ctx.previous is not None else None
        ctx.growth = growth_of(ctx.db, c, ctx.increment.months() if ctx.increment is not None else None,
                               before.growth if before is not None else None)
        ctx.summary = state.Summary.model_validate({"identity": [], "tables": tables, "rows": rows, "head": head,
                                                    "head_limit": c.catalog.thresholds.top_actions,
                                                    "statuses": statuses, "growth": ctx.growth})
        ctx.record.growth, ctx.record.sources = ctx.growth, _sources(ctx)


def _sources(ctx: BuildContext) -> list[SourceSummary]:
    """Each source file in the plan, with what an incremental build found changed in it, by key."""
    inc = ctx.increment
    found = []
    for summary in ctx.plan.sources:
        fact = ctx.checks.facts.get(summary.table)
        if fact is not None and fact.rows is not None:  # what the build's checks counted
            summary = summary.model_copy(update={"rows": fact.rows, "rows_after": fact.rows})
        delta = inc.files.get(summary.table) if inc is not None else None
        if inc is not None and delta is not None:
            months = [MonthRows(month=m, rows=n) for m, n in inc.traced.months.get(summary.table, {}).items()]
            summary = summary.model_copy(update={"rows_added": delta.added, "rows_removed": delta.removed,
                                                 "rows_changed": delta.changed, "months": months})
        found.append(summary)
    return found


def close(ctx: BuildContext) -> None:
    """Checkpoint and close the database; then write the summary readers use while the file stays
    as it is now."""
    execute(ctx.db, "checkpoint")
    release(ctx)
    if ctx.summary is not None:
        state.write_summary(ctx.build.database, ctx.summary)


def release(ctx: BuildContext) -> None:
    """Close the database (if open): after any stage, failed or not (the loaded sources go with it)."""
    if ctx.con is not None:
        ctx.con.close()
        ctx.con = None


STAGES: tuple[Callable[[BuildContext], None], ...] = (
    write_compiled, open_database, prepare_updates, run_models, finish_checks, audit, export, close)
