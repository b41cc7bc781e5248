"""`plan`: read every contract, check them against each other and the data, bind every model, and
decide what `apply` will do with each. Pure: reads files and the built database, writes nothing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from leakcli.contracts.load import CATALOG, Contracts
from leakcli.contracts.questions import Code, Questions
from leakcli.contracts.records import (
    Action,
    BuildMeta,
    Dataset,
    ModelStep,
    Parts,
    Plan,
    SourceSummary,
    plan_fingerprint,
)
from leakcli.engine.parse import sql_digest, sql_memo
from leakcli.jsonout import digest
from leakcli.paths import DataSource, Paths, resolve_data
from leakcli.plan import checks
from leakcli.plan.binding import bind_memo, bind_models, build_order, render_all, required_tables
from leakcli.plan.changes import SNAPSHOT, contract_changes, published_sql, sql_diff
from leakcli.plan.growth import plan_growth
from leakcli.plan.unittests import check_unit_tests, coverage, unit_memo
from leakcli.render.renderer import Rendered
from leakcli.store import state

if TYPE_CHECKING:
    from collections.abc import Callable

    from leakcli.cache import Section
    from leakcli.context import Project
    from leakcli.contracts.records import Growth
    from leakcli.plan.growth import FileRows
    from leakcli.sources.checks import SourceChecks
    from leakcli.sources.facts import SourceFacts



@dataclass(frozen=True, kw_only=True)
class PlanRequest:
    """What `leakcli plan` (or the plan of an apply) was asked: the data, the selection, --full-refresh."""

    data_dir: str | None = None
    synthetic: bool = False  # --synthetic: the embedded synthetic dataset, asked for
    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] | None = None
    full_refresh: bool = False


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _actions(c: Contracts, rendered: dict[str, Rendered], order: list[str],
             source_shas: dict[str, str], built: dict[str, BuildMeta | None],
             chosen: set[str], full_refresh: bool, memo: Section, grown: dict[str, str]) -> list[ModelStep]:
    """Each model's action. `grown`: the source files that changed in a way an incremental build
    follows (table -> how: appended or rewritten)."""
    steps: list[ModelStep] = []
    fps: dict[str, str] = {}
    actions: dict[str, Action] = {}
    for name in order:
        model, r = c.models[name], rendered[name]
        parts = Parts(
            sql=sql_digest(r.sql, memo),
            # how a model is materialized does not change what its table holds ("table" kept as it was
            # digested before incremental models, so that builds made then stay current)
            contract=digest({**model.model_dump(include={"columns", "grain", "layer"}, exclude_none=True),
                             "materialized": "table"}),
            upstream={p: fps[p] for p in r.refs if p in fps},
            sources={t: source_shas.get(t, "") for s, t in r.sources},
        )
        fp = digest(parts.model_dump())
        exists = name in built
        old = built.get(name)
        action: Action
        pending: Action | None = None
        if not exists:
            action, reason = "create", "not built yet"
        elif full_refresh:
            action, reason = "rebuild", "--full-refresh"
        elif old is not None and old.fingerprint == fp:
            action, reason = "unchanged", "fingerprint matches the built table"
        elif old is not None and _updates(model.materialized, parts, old.parts, grown, actions):
            action, reason = "update", _what_grew(parts, old.parts, grown)
        else:
            action, reason = "rebuild", _why(parts, old.parts if old else None)
        if name not in chosen:  # left out: what apply would have done is said, and stays pending
            pending = action if action != "unchanged" else None
            action, reason = "skip", "not selected" + (f"; pending: {pending} ({reason})" if pending else "")
        actions[name] = action
        # what a downstream model is built from: a table this apply does not build stays as it was built
        fps[name] = (old.fingerprint if old is not None else "") if action == "skip" else fp
        steps.append(ModelStep(name=name, layer=model.layer, depends_on=list(r.refs),
                               sources=[f"{s}.{t}" for s, t in r.sources], action=action,
                               reason=reason, fingerprint=fp, template=r.template, sql=r.sql,
                               parts=parts, pending=pending))
    return steps


def _data_moved(c: Contracts, paths: Paths, data: DataSource, built: dict[str, BuildMeta | None]) -> str:
    """Why the marts rebuild when the data directory named holds the very files the published build
    read elsewhere: so the build records where its data now is, for a later plain apply and verify."""
    meta = state.built_from(built, c.ir.final_models)
    if meta is None or data.origin not in ("option", "environment"):
        return ""
    old = (paths.root / meta.dataset.path).resolve()
    if old == data.path.resolve():
        return ""
    return (f"its data directory moved from {paths.rel(old)} to {paths.rel(data.path)} (the same files); "
            f"rebuilt so the build records it")


def _updates(materialized: str, new: Parts, old: Parts, grown: dict[str, str], actions: dict[str, Action]) -> bool:
    """An incremental model whose SQL and contract are as built, and whose inputs changed only by rows
    an incremental build follows (a grown source file, an upstream model updated), is updated in place."""
    return (materialized == "incremental" and new.sql == old.sql and new.contract == old.contract
            and all(sha == old.sources.get(t) or t in grown for t, sha in new.sources.items())
            and all(fp == old.upstream.get(u) or actions.get(u) == "update" for u, fp in new.upstream.items()))


def _what_grew(new: Parts, old: Parts, grown: dict[str, str]) -> str:
    files = [f"{t} {grown[t]}" for t, sha in new.sources.items() if sha != old.sources.get(t)]
    ups = [u for u, fp in new.upstream.items() if fp != old.upstream.get(u)]
    what = "; ".join([*(f"source {f}" for f in files), *(f"upstream model {u} updated" for u in ups)])
    return f"only the partitions the change touches ({what})"


def _why(new: Parts, old: Parts | None) -> str:
    if old is None:
        return "the built table carries no leakcli metadata"
    reasons = []
    if new.sql != old.sql:
        reasons.append("its SQL changed")
    if new.contract != old.contract:
        reasons.append("its registry contract changed")
    for up, fp in new.upstream.items():
        if old.upstream.get(up) != fp:
            reasons.append(f"upstream model {up} changed")
    for table, sha in new.sources.items():
        if old.sources.get(table) != sha:
            reasons.append(f"source file of {table} changed" if sha else f"source {table} is pending")
    return "; ".join(reasons) or "its inputs changed"


def choose_data(project: Project, req: PlanRequest, tables: list[str],
                built: dict[str, BuildMeta | None] | None = None) -> tuple[DataSource, bool]:
    """The data directory of this request (paths.resolve_data, with the real data the published
    build was made from), and whether it is the embedded synthetic default not written yet."""
    paths, c = project.paths, project.contracts
    if built is None:
        built = _published_state(project, Questions())
    meta = state.built_from(built, c.ir.final_models)
    published = paths.root / meta.dataset.path if meta is not None else None
    data = resolve_data(paths, req.data_dir, [c.tables[t].file for t in tables], published=published,
                        synthetic=req.synthetic)
    embedded = data.origin in ("synthetic", "synthetic_option")
    return data, embedded and not all((data.path / c.tables[t].file).exists() for t in tables)


def build_plan(project: Project, req: PlanRequest) -> Plan:
    """Read, check and decide; raises ContractError when a contract cannot be read at all."""
    return plan_and_checks(project, req)[0]


def plan_and_checks(project: Project, req: PlanRequest, *, defer: bool = False, hash_later: bool = False,
                    materialize: Callable[[], None] | None = None) -> tuple[Plan, SourceChecks]:
    """The plan, and its data checks (sources/checks.py); with `defer` (apply), files the cache and
    the profiles know nothing of are left for apply to check from the tables it loads. With
    `hash_later` (apply, not of a saved plan), a new file whose sha256 changes no action (every model
    reading it is built anew) is hashed while it loads; Plan.with_sources then completes the plan.
    `materialize` (apply's) writes the embedded synthetic dataset when it is the data and not written yet."""
    from leakcli.sources.checks import SourceChecks

    paths, c = project.paths, project.contracts
    c.phase_plan.engine.limit()  # a memory limit that is not one is an error even when nothing runs
    sql = sql_memo(project.cache)
    q = Questions()
    rendered = render_all(project, q)
    checks.check_contracts(project, rendered, q)
    check_unit_tests(c, rendered, q, unit_memo(project.cache))
    order = [n for n in build_order(c, rendered, q) if n in rendered]
    tables = required_tables(c, rendered)
    built = _published_state(project, q)
    data, pending = choose_data(project, req, tables, built)
    if pending and materialize is not None:
        materialize()
        pending = False
    if data.synthetic:
        q.ask(Code.SYNTHETIC_FALLBACK, paths.rel(data.path), _synthetic_question(data, req, pending))
    later = frozenset(t for t in tables if hash_later and defer and not any(
        n in built and not req.full_refresh for n in order if t in {tt for _, tt in rendered[n].sources}))
    # what the published build read of each file, when this plan reads the same data directory again
    meta = state.built_from(built, c.ir.final_models)
    same = meta is not None and (paths.root / meta.dataset.path).resolve() == data.path.resolve()
    previous = state.read_sources(paths.target / "current") if same else {}
    data_checks = SourceChecks.plan(project, data.path, tables, q, expect_missing=pending, defer=defer,
                                    hash_later=later, previous=previous)
    facts = data_checks.facts
    rows, growth = ({}, None) if defer or q.blocking else plan_growth(project, data_checks, q)
    _window_fits(project, growth, built, q)
    if order and not q.blocking:
        bind_models(c, rendered, order, tables, q, bind_memo(project.cache))
    chosen = _selection(req.select, req.exclude, order, rendered)
    shas = {t: f.sha256 for t, f in facts.items()}
    grown: dict[str, str] = {f.table: f.change for f in data_checks.traceable()}
    steps = _actions(c, rendered, order, shas, built, chosen, req.full_refresh, sql, grown) if order else []
    moved = _data_moved(c, paths, data, built)
    if moved:
        steps = [s.model_copy(update={"action": "rebuild", "reason": moved})
                 if s.name in c.ir.final_models and s.action == "unchanged" else s for s in steps]
    if built:
        steps = [_with_diff(s, paths) for s in steps]
    inputs = dict(c.digests)
    inputs[c.prompt_path] = sha256_text(c.prompt)
    for r in rendered.values():
        inputs[r.template] = r.text_sha256
    for f in facts.values():
        inputs[f.file] = f.sha256 or ("pending" if pending or f.hashing else "missing")
    fingerprint = plan_fingerprint(inputs, steps, str(data.path), list(req.select),
                                   None if req.exclude is None else list(req.exclude))
    plan = Plan(
        read=list(c.read) + [r.template for r in rendered.values()]
        + [paths.rel(paths.profiles / f"{t}.json") for t in data_checks.profiles]
        + [f.file for f in facts.values() if f.exists],
        dataset=Dataset(kind=data.label, origin=data.origin, path=paths.rel(data.path), pending=pending),
        sources=[_summary(f, rows.get(f.table)) for f in facts.values()],
        ambiguities=q.items,
        order=order,
        models=steps,
        select=list(req.select),
        exclude=None if req.exclude is None else list(req.exclude),
        full_refresh=req.full_refresh,
        inputs=inputs,
        fingerprint=fingerprint,
        contract_changes=contract_changes(c, paths.target / "current" / SNAPSHOT) if built else None,
        growth=growth if any(s.action == "update" for s in steps) else None,
        unit_tests=coverage(c),
    )
    return plan, data_checks


def _summary(fact: SourceFacts, rows: FileRows | None) -> SourceSummary:
    """One file in the plan, with what changed in it since the published build."""
    before = fact.previous.rows if fact.previous is not None else None
    counted = {} if rows is None else {"rows_before": rows.before, "rows_after": rows.after,
                                       "rows_added": rows.added, "rows_removed": rows.removed,
                                       "rows_changed": rows.changed, "months": rows.months}
    return SourceSummary.model_validate({"table": fact.table, "file": fact.file, "exists": fact.exists,
                                         "sha256": fact.sha256, "rows": fact.rows, "change": fact.change,
                                         "rows_before": before, "rows_after": fact.rows, **counted})


def _window_fits(project: Project, growth: Growth | None, built: dict[str, BuildMeta | None], q: Questions) -> None:
    """A window longer than the data (priority_lookback_months 60 on 37 months) is all of it: said, as
    it is valid but probably not meant (the months as the change leaves them, else the published build's)."""
    c = project.contracts
    t, part = c.catalog.thresholds, c.joins.partition
    months = growth.months if growth is not None else None
    if months is None and built and part is not None:
        months = state.published_months(project.paths.published, part.month.model, part.month.column,
                                        trust_summary=project.cache.enabled)
    if months is not None and 0 < months < t.priority_lookback_months:
        q.ask(Code.WINDOW_SHORT, f"{CATALOG}#/thresholds/priority_lookback_months",
              f"priority_lookback_months is {t.priority_lookback_months}, but the data holds {months} months: "
              f"the window is all of them. Is a shorter window meant?")


def _synthetic_question(data: DataSource, req: PlanRequest, pending: bool) -> str:
    """What plan says of a synthetic dataset: why it is the one, and how to name the real files."""
    if data.origin not in ("synthetic", "synthetic_option"):
        return ("The data directory holds a synthetic dataset written by `leakcli generate`, so this build's "
                "answer is not the shop's. Name the real files with --data-dir or LEAKCLI_DATA_DIR?")
    why = ("--synthetic asks for the embedded synthetic dataset" if req.synthetic else
           "No Maven CSVs were found in datasets/maven-fuzzy-factory/raw/, no data directory was named and "
           "nothing real was built before, so this build runs on the embedded synthetic dataset")
    return why + (" (apply generates it first)" if pending else "") + \
        ". Name the real files with --data-dir or LEAKCLI_DATA_DIR?"


def _with_diff(step: ModelStep, paths: Paths) -> ModelStep:
    """A rebuild carries the diff of its SQL against the published build's; an unchanged model whose
    text moved only in comments or layout says so."""
    old = published_sql(paths.compiled, step.name)
    if old is None or old == step.sql:
        return step
    if step.action == "rebuild":
        return step.model_copy(update={"diff": sql_diff(old, step.sql, step.name)})
    if step.action == "unchanged":
        return step.model_copy(update={"reason": f"{step.reason} (its SQL text changed in comments or layout only)",
                                       "text_only": True})
    return step


def _published_state(project: Project, q: Questions) -> dict[str, BuildMeta | None]:
    """The published build's tables and metadata; a damaged one is a warning and counts as none."""
    from leakcli.engine.connection import DamagedDatabase

    paths = project.paths
    try:
        return state.read_state(paths.published, paths.rel(paths.database), trust_summary=project.cache.enabled)
    except DamagedDatabase as exc:
        q.ask(Code.DAMAGED_BUILD, paths.rel(paths.database),
              f"The published build {exc.message}; apply rebuilds every model from scratch. Is that what you want?")
        return {}


def _selection(select: tuple[str, ...], exclude: tuple[str, ...] | None, order: list[str],
               rendered: dict[str, Rendered]) -> set[str]:
    if not select and exclude is None:
        return set(order)
    from leakcli.plan.graph import select as graph_select

    parents = {n: [p for p in rendered[n].refs if p in rendered] for n in order}
    return graph_select(list(select) or ["*"], order, parents, None if exclude is None else list(exclude))
