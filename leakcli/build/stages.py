"""Write and audit one build: the planned models in a new DuckDB file under target/builds/<id>/,
with its compiled SQL and exports, checked against the registry and audited with the error-severity
acceptance tests before anything is published (apply.py publishes it)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli.store import state
from leakcli.plan.changes import COMPILED_HEADER, SNAPSHOT, snapshot
from leakcli.contracts.load import Contracts
from leakcli.sources.datachecks import read_in_place
from leakcli.sources.facts import SourceFacts
from leakcli.errors import AuditFailure, ExecutionError, UsageError
from leakcli.files import write_atomic
from leakcli.store.layout import Build
from leakcli.contracts.questions import Question
from leakcli.contracts.records import BuildMeta, ModelStep, Plan
from leakcli.progress import phase
from leakcli.project import Paths
from leakcli.engine.sqltext import quote_ident, sql_literal

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

    from leakcli.plan.planner import DataChecks
    from leakcli.build.runresults import Invocation
    from leakcli.build.verify import CheckResult

BUILD_ACTIONS = ("create", "rebuild")
SOURCES_FILE = "sources.duckdb"  # the loaded sources, beside the build while it is written


@dataclass(frozen=True)
class ProgressInfo:
    index: int
    total: int
    status: str | None = None
    rows: int | None = None
    seconds: float | None = None


Progress = Callable[[str, ModelStep, ProgressInfo], None]


@dataclass(frozen=True)
class ModelResult:
    name: str
    action: str
    status: str  # success | copied | unchanged | skipped
    rows: int | None
    seconds: float


def write_build(plan: Plan, checks: DataChecks, c: Contracts, paths: Paths, build: Build, previous: Build | None,
                outcome: Invocation, progress: Progress | None = None,
                warn: Callable[[list[Question]], None] | None = None) -> None:
    """Build every planned model into `build`; raise ExecutionError, DataError, BlockingAmbiguity or
    AuditFailure. `outcome` records each model and audit result as it comes, so a failed attempt still
    says what it did."""
    from leakcli.engine.connection import connect, lockdown

    _write_compiled(plan, build, previous)
    write_atomic(build.path / SNAPSHOT, snapshot(c))
    previous_tables = _tables_of(previous, paths)
    _check_selection(plan, previous_tables)
    data_path = paths.root / plan.dataset.path  # an absolute path stays as it is
    kept = {m.name for m in plan.models if m.action not in BUILD_ACTIONS and m.name in previous_tables}
    if kept and previous is not None:  # start from a copy of the published build: reuse costs no query
        shutil.copyfile(previous.database, build.database)
    con = connect(build.database, memory_limit=c.phase_plan.engine.limit())
    try:
        for name in sorted(previous_tables - kept if kept else set()):
            con.execute(f"drop table if exists {quote_ident(name)}")
        con.execute("set checkpoint_on_detach = 'DISABLED'")  # the loaded sources are never checkpointed
        con.execute("attach $path as sources", {"path": str(build.path / SOURCES_FILE)})
        loaded = _load_and_check(con, plan, checks, c, paths, data_path, warn)
        # A table's rows have no order but its SQL's ORDER BY (kept even so): DuckDB then writes each
        # model in parallel, straight to the file, and reads of the marts name their order (grain).
        con.execute("set preserve_insertion_order = false")
        lockdown(con, [data_path, build.path])
        _run_models(con, plan, c, data_path, kept, progress, outcome)
        with phase("auditing the build"):
            outcome.audit.extend(_audit(con, c, paths, data_path, set(loaded), checks))
        failed = [r for r in outcome.audit if r.status in ("fail", "error")]
        if failed:
            raise AuditFailure(failed)
        with phase("exporting and writing the build"):
            _export(con, c, build)
            summary = _summary(con, c, outcome)
            con.execute("detach sources")
            con.execute("checkpoint")
    finally:
        con.close()
        for leftover in build.path.glob(SOURCES_FILE + "*"):
            leftover.unlink()
    state.write_summary(build.database, summary)


def _tables_of(previous: Build | None, paths: Paths) -> set[str]:
    """The tables of the published build to reuse; none when it is damaged (everything is rebuilt)."""
    from leakcli.engine.connection import DamagedDatabase

    if previous is None:
        return set()
    try:
        return set(state.read_state(previous.database, paths.rel(previous.database)))
    except DamagedDatabase:
        return set()


def _load_and_check(con: DuckDBPyConnection, plan: Plan, checks: DataChecks, c: Contracts, paths: Paths,
                    data_path: Path, warn: Callable[[list[Question]], None] | None) -> list[str]:
    """Load the sources the build reads (and those whose checks plan left to apply), finish the
    data checks on them, and stop on a blocking question as plan would have."""
    from leakcli.contracts.questions import Questions
    from leakcli.build.apply import refuse_blocked
    from leakcli.sources.cache import check_key
    from leakcli.sources.datachecks import check_loaded, check_relations
    from leakcli.sources.drift import compare_profiles
    from leakcli.engine.load import Reject, load_sources
    from leakcli.engine.sqltext import source_relation

    to_build = [m for m in plan.models if m.action in BUILD_ACTIONS]
    tables = {s.split(".", 1)[1] for m in to_build for s in m.sources}
    tables |= {t for t, f in checks.facts.items() if f.deferred}
    clean = {t for t in tables if _known_clean(checks.facts.get(t))}
    for t in sorted(clean):  # the checks vouch for these files: read them in place, as raw DuckDB would
        read, params = read_in_place(c, checks.facts[t].path)
        con.execute(f"create or replace temp view {quote_ident(source_relation(c.source_name, t))} as "
                    f"select * from {inline_params(read, params)}")
    rejects: dict[str, Reject | None] = {}
    loaded = load_sources(con, c, data_path, sorted(tables - clean), display=paths.rel, rejects=rejects,
                          into="sources")
    relation = {t: quote_ident(source_relation(c.source_name, t)) for t in loaded}
    q = Questions()
    check_loaded(con, c, checks.facts, lambda t: relation[t], rejects, checks.known, q)
    check_relations(c, checks.facts, q, con=con, relation_of=lambda t: (relation[t], {}) if t in relation
                    else read_in_place(c, checks.facts[t].path))
    compare_profiles(c, paths, {t: f for t, f in checks.facts.items() if t in rejects}, checks.profiles, q)
    checks.cache.remember(checks.facts, {t: check_key(c.tables[t], c.manifest.checks.null_like, checks.known.get(t))
                                         for t in checks.facts})
    checks.cache.write()
    refuse_blocked(q.blocking)
    if warn:
        warn(q.items)
    return sorted(set(loaded) | clean)


def _known_clean(fact: SourceFacts | None) -> bool:
    return fact is not None and fact.stats is not None and fact.reject is None and not fact.deferred


def inline_params(call: str, params: dict[str, object]) -> str:
    """A read_csv call with its parameters written as literals (a view cannot hold parameters)."""
    for name in sorted(params, key=len, reverse=True):
        call = call.replace(f"${name}", _literal(params[name]))
    return call


def _literal(value: object) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{sql_literal(k)}: {sql_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(sql_literal(v) for v in value) + "]"
    return sql_literal(value)


def _write_compiled(plan: Plan, build: Build, previous: Build | None) -> None:
    """The SQL each table of the build was made from: a model it keeps keeps its published SQL."""
    build.compiled.mkdir(parents=True, exist_ok=True)
    for step in plan.models:
        old = previous.compiled / f"{step.name}.sql" if previous is not None else None
        if step.action not in BUILD_ACTIONS and old is not None and old.is_file():
            shutil.copyfile(old, build.compiled / old.name)
        else:
            write_atomic(build.compiled / f"{step.name}.sql",
                         f"{COMPILED_HEADER}{step.template}; do not edit\n{step.sql}")


def _check_selection(plan: Plan, previous: set[str]) -> None:
    building = {m.name for m in plan.models if m.action in BUILD_ACTIONS}
    for step in plan.models:
        if step.name in building:
            for up in step.depends_on:
                if up not in building and up not in previous:
                    raise UsageError(f"model '{step.name}' needs '{up}', which is neither selected "
                                     f"nor built; select it too (--select +{step.name})")


def _run_models(con: DuckDBPyConnection, plan: Plan, c: Contracts, data_path: Path, kept: set[str],
                progress: Progress | None, outcome: Invocation) -> None:
    """Build each planned model in order; a model kept from the published build is already there."""
    from leakcli.engine.connection import count_rows, describe, run_model

    dataset = plan.dataset.model_copy(update={"path": str(data_path.resolve())})
    total = len(plan.models)
    for i, step in enumerate(plan.models, start=1):
        if progress:
            progress("start", step, ProgressInfo(i, total))
        t0 = time.perf_counter()
        ident = quote_ident(step.name)
        meta: BuildMeta | None
        if step.action in BUILD_ACTIONS:
            rows = run_model(con, step.name, step.sql, f"target/rejected/compiled/{step.name}.sql")
            _enforce_contract(c, step.name, describe(con, f"select * from {ident}"))
            status = "success"
            assert step.parts is not None
            meta = BuildMeta(fingerprint=step.fingerprint, parts=step.parts, plan=plan.fingerprint,
                             built_at=time.strftime("%Y-%m-%dT%H:%M:%S"), dataset=dataset, template=step.template)
        elif step.name in kept:
            rows, status, meta = count_rows(con, ident), "copied", None  # its metadata came with it
        else:
            outcome.results.append(ModelResult(step.name, step.action, "skipped", None, 0.0))
            continue
        if meta is not None:
            con.execute(f"comment on table {ident} is {sql_literal(state.encode(meta))}")
        seconds = time.perf_counter() - t0
        outcome.results.append(ModelResult(step.name, step.action, status, rows, seconds))
        if progress:
            progress("done", step, ProgressInfo(i, total, status, rows, seconds))


def _enforce_contract(c: Contracts, name: str, found: list[tuple[str, str]]) -> None:
    declared = c.models[name].declared
    if found != declared:
        from leakcli.plan.planner import columns_diff

        raise ExecutionError(f"model '{name}' returns {columns_diff(found, declared)}",
                             model=name, file=c.models[name].template)


def _audit(con: DuckDBPyConnection, c: Contracts, paths: Paths, data_dir: Path, loaded: set[str],
           checks: DataChecks) -> list[CheckResult]:
    """The error-severity acceptance tests whose models this build holds, run on the build itself;
    the results of queries of unchanged source files alone come from the cache, and go back to it."""
    from leakcli.engine.connection import user_tables
    from leakcli.build.verify import KnownResults, Runner, run_tests

    built = set(user_tables(con))
    tests = [t for t in c.tests.tests
             if t.severity == "error" and all(m in built for m in t.models_read(c.ir.models))]
    known = KnownResults({t: f.sha256 for t, f in checks.facts.items() if f.sha256}, dict(checks.cache.doc.queries))
    runner = Runner(c, con, data_dir, paths, known)
    runner.loaded.update(loaded)
    results = run_tests(runner, tests)
    checks.cache.doc.queries = {k: known.values[k] for k in known.used if k in known.values}
    checks.cache.write()
    return results


def _summary(con: DuckDBPyConnection, c: Contracts, outcome: Invocation) -> state.Summary:
    from leakcli.engine.connection import user_tables

    tables = user_tables(con)
    rows = {r.name: r.rows for r in outcome.results if r.rows is not None and r.name in tables}
    model = c.catalog.priority.model
    head = {model: priority_head(con, c)} if model in tables else {}
    statuses = status_counts(con, c) if model in tables else {}
    return state.Summary(tables, rows, head, c.catalog.thresholds.top_actions, statuses)


STATUS_COLUMN = "action_status"  # of the priority model (LEAK-SPEC §7, revision 3)


def priority_head(con: DuckDBPyConnection, c: Contracts) -> list[dict[str, object]]:
    """The first `top_actions` rows of the built priority model, in grain order."""
    from leakcli.engine.connection import rows_as_dicts

    model = c.catalog.priority.model
    return rows_as_dicts(con, f"select * from {quote_ident(model)} order by {grain_order(c, model)} limit $n",
                         {"n": c.catalog.thresholds.top_actions})


def status_counts(con: DuckDBPyConnection, c: Contracts) -> dict[str, int]:
    """How many actions of the built priority model have each status (none for a model without one)."""
    from leakcli.engine.connection import describe, rows_as_dicts

    model = quote_ident(c.catalog.priority.model)
    if STATUS_COLUMN not in dict(describe(con, f"select * from {model}")):
        return {}
    rows = rows_as_dicts(con, f"select {STATUS_COLUMN} as s, count(*) as n from {model} group by 1 order by 1")
    return {str(r["s"]): int(str(r["n"])) for r in rows}


def status_line(c: Contracts, counts: dict[str, int]) -> str:
    """"1 action to take now, 3 stopped leaks, 5 within noise", in the catalog's words and order."""
    return ", ".join(s.counted(counts.get(s.name, 0)) for s in c.catalog.priority.statuses) if counts else ""


def grain_order(c: Contracts, model: str) -> str:
    """An ORDER BY list of a model's grain: the order its rows are read in."""
    return ", ".join(quote_ident(k) for k in c.models[model].grain)


def _export(con: DuckDBPyConnection, c: Contracts, build: Build) -> None:
    """Both marts as CSV and Parquet, into the build."""
    from leakcli.engine.connection import user_tables

    build.exports.mkdir(parents=True, exist_ok=True)
    built = user_tables(con)
    for name in (m for m in c.ir.final_models if m in built):
        for options, suffix in (("format csv, header true", "csv"), ("format parquet", "parquet")):
            con.execute(f"copy (select * from {quote_ident(name)} order by {grain_order(c, name)}) "
                        f"to $path ({options})",
                        {"path": str(build.exports / f"{name}.{suffix}")})
