"""`report`, the data of the page: everything the HTML report shows of the published build, read
from it read-only and locked down (the priority actions, the window, a month x segment heat map,
monthly trends against the device and site baselines, the acceptance tests, the DAG and where the
build came from), as JSON-ready values. outputs/report.py draws the page from them."""

from __future__ import annotations

import math
import re
import time
from typing import TYPE_CHECKING

from leakcli.contracts.actions import Action
from leakcli.engine.connection import rows_as_dicts
from leakcli.engine.parse import duckdb_version
from leakcli.engine.sqltext import quote_ident
from leakcli.errors import LeakError, UsageError
from leakcli.paths import Paths

if TYPE_CHECKING:
    from leakcli.context import Project
    from leakcli.contracts.catalog import Thresholds
    from leakcli.contracts.load import Contracts
    from leakcli.engine.connection import Connection

TOP_TRENDS = 3  # actions whose monthly trend is drawn (and every emerging one, up to MAX_TRENDS)
MAX_TRENDS = 6
HEATMAP_ROWS = 15  # segment actions in the heat map


def report_data(project: Project, *, data_dir: str | None = None) -> dict[str, object]:
    """The page's data, from the published build (its tests read `data_dir`, else the data it was made
    from); refuses (exit 2) when nothing is built."""
    from leakcli.engine.connection import reading

    paths = project.paths
    if not paths.published.exists():
        raise UsageError("nothing is built yet: run `leakcli apply` first", file=paths.rel(paths.database))
    with reading(paths.rel(paths.database)):
        return gather(project, data_dir=data_dir)


def gather(project: Project, *, data_dir: str | None = None) -> dict[str, object]:
    """Everything the page shows, as JSON-ready values, from the published build (read-only)."""
    from leakcli.commands.published import status_line
    from leakcli.engine.connection import connect, lockdown, user_tables

    c, paths = project.contracts, project.paths
    con = connect(paths.published, read_only=True, shown=paths.rel(paths.database))
    try:
        lockdown(con)
        built = user_tables(con)
        priority, summary = c.catalog.priority.model, _summary_model(c)
        for name in (priority, summary):
            if name not in built:
                raise UsageError(f"the published build has no '{name}': run `leakcli apply` first",
                                 file=paths.rel(paths.database))
        keys = list(c.catalog.segment.keys)
        month = c.catalog.segment.time_column
        actions = rows_as_dicts(con, f"select * from {quote_ident(priority)} order by priority_rank")
        months = [str(r["m"]) for r in rows_as_dicts(con, f"select distinct {quote_ident(month)} as m from "
                                                   f"{quote_ident(summary)} order by 1")]
        window = _window(actions, months, c.catalog.thresholds)
        data: dict[str, object] = {
            "keys": keys,
            "all_label": c.catalog.priority.all_label,
            "actions": actions,
            "window": window,
            "unpaid": _unpaid(project, con, priority),
            "heatmap": _heatmap(con, c, summary, actions, months, window),
            "trends": [_trend(con, summary, keys, a, month, c.catalog.priority.all_label)
                       for a in _trended(actions)],
        }
    finally:
        con.close()
    counts = {s.name: sum(1 for a in actions if a.get("action_status") == s.name) for s in c.catalog.priority.statuses}
    t = c.catalog.thresholds
    data["statuses"] = [{"name": s.name, "count": counts[s.name], "meaning": s.meaning}
                        for s in c.catalog.priority.statuses]
    data["thresholds"] = t.model_dump()
    data["words"] = c.catalog.report.model_dump() if c.catalog.report else None
    data["status_line"] = status_line(c, counts) if not actions or "action_status" in actions[0] else ""
    data["shop"] = _shop(c)
    data["dag"] = _dag(project)
    data["tests"] = _tests(project, data_dir)
    data["build"] = _build(c, paths, built)
    return data


def _summary_model(c: Contracts) -> str:
    for name in c.ir.final_models:
        if name != c.catalog.priority.model:
            return name
    raise UsageError("the stage IR names no summary mart beside the priority mart", file=c.ir_path)


def _shop(c: Contracts) -> str:
    """The shop's name as the source manifest describes its data ("Maven Fuzzy Factory CSV exports")."""
    found = re.match(r"\s*(.+?)\s+(?:CSV|csv|exports?|data|files?)\b", c.manifest.description or "")
    return found.group(1) if found else c.source_name


def _window(actions: list[dict[str, object]], months: list[str], t: Thresholds) -> dict[str, object]:
    """The months the priority list sums over (the actions' own window, else the summary's latest) and
    its recent months, the last `recent_months` of it (LEAK-SPEC §7 revision 4), as YYYY-MM."""
    if actions and actions[0].get("window_start_month") and actions[0].get("window_end_month"):
        start, end = str(actions[0]["window_start_month"]), str(actions[0]["window_end_month"])
    elif months:
        start, end = months[-t.priority_lookback_months:][0], months[-1]
    else:
        return {"start": None, "end": None, "months": 0, "recent_start": None, "recent_months": t.recent_months}
    inside = [m for m in months if start <= m <= end]
    return {"start": start[:7], "end": end[:7], "months": len(inside),
            "recent_start": max(start[:7], _months_before(end[:7], t.recent_months - 1)),
            "recent_months": t.recent_months}


def _months_before(month: str, n: int) -> str:
    """'2015-03' less 2 months: '2015-01'."""
    year, m = int(month[:4]), int(month[5:7])
    index = year * 12 + m - 1 - n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _unpaid(project: Project, con: Connection, priority: str) -> list[int]:
    """The ranks of the actions on unpaid traffic (the catalog's condition, as the build renders it)."""
    from leakcli.render.renderer import render_memo, renderer_for

    unpaid = project.contracts.catalog.priority.unpaid
    if unpaid is None:
        return []
    when = renderer_for(project.contracts, render_memo(project.cache)).render_sql("report: unpaid", unpaid.when)
    return [int(str(r["rank"])) for r in rows_as_dicts(
        con, f"select priority_rank as rank from {quote_ident(priority)} where coalesce(({when.sql.strip()}), false) "
             f"order by 1")]


def _heatmap(con: Connection, c: Contracts, summary: str, actions: list[dict[str, object]], months: list[str],
             window: dict[str, object]) -> dict[str, object]:
    """The segment gap by month of the priority list's segment actions, in rank order. Each cell is
    [month index, row, gap, z, tested]: z is the month's gap over its own standard error (the
    catalog's gap variance over that month alone), and tested is 1 in the months of a test that found
    the action's gap bigger than chance (the window's when is_significant, else the recent months'
    when is_recent_significant), 0 elsewhere."""
    priority = c.catalog.priority
    scope = next((s for s in priority.scopes if s.name == "segment"), None)
    variance = next((e for e in priority.expectation if e.column == "gap_variance"), None)
    if scope is None or variance is None:
        return {"months": months, "rows": [], "spans": [], "cells": []}
    prefix = next(b.prefix for b in c.catalog.baselines if b.name == scope.baseline)
    keys, month = list(c.catalog.segment.keys), c.catalog.segment.time_column
    segments = [a for a in actions if a["action_scope"] == scope.name][:HEATMAP_ROWS]
    match = " and ".join(f"{quote_ident(k)} = ${k}" for k in keys)
    sql = (f"select {quote_ident(month)} as m, sum({quote_ident(scope.gap)}) as gap, "
           f"{variance.sql.replace('{x}', prefix)} as variance from {quote_ident(summary)} where {match} "
           f"group by 1 order by 1")
    cells: list[list[object]] = []
    spans: list[str | None] = []
    for i, a in enumerate(segments):
        action = Action.of(a, keys)
        span = "window" if action.significant else "recent" if action.recent_significant else None
        first = window["start"] if span == "window" else window["recent_start"] if span == "recent" else None
        spans.append(span)
        for r in rows_as_dicts(con, sql, {k: a[k] for k in keys}):
            m, gap, var = str(r["m"])[:7], float(str(r["gap"])), float(str(r["variance"] or 0))
            z = round(gap / math.sqrt(var), 2) if var > 0 else None
            tested = int(first is not None and str(first) <= m <= str(window["end"]))
            cells.append([months.index(str(r["m"])), i, round(gap, 2), z, tested])
    return {"months": months, "rows": [a["priority_rank"] for a in segments], "spans": spans, "cells": cells}


def _trended(actions: list[dict[str, object]]) -> list[dict[str, object]]:
    """The actions whose monthly trend the page draws: the first TOP_TRENDS, and every emerging one
    (its recent months are the point), at most MAX_TRENDS."""
    later = [a for a in actions[TOP_TRENDS:] if Action.of(a, []).status == "emerging"]
    return (actions[:TOP_TRENDS] + later)[:MAX_TRENDS]


def _trend(con: Connection, summary: str, keys: list[str], action: dict[str, object], month: str,
           all_label: str) -> dict[str, object]:
    """The action's monthly conversion and net revenue per session, its device's and the site's (a
    device action is its own device: the page compares it with the site only)."""
    chosen = [k for k in keys if action[k] != all_label]
    match = " and ".join(f"{quote_ident(k)} = ${k}" for k in chosen) or "true"
    rows = rows_as_dicts(con, f"""
        select {quote_ident(month)} as month,
               sum(orders) / nullif(sum(sessions), 0) as conversion_rate,
               sum(net_revenue_usd) / nullif(sum(sessions), 0) as net_revenue_per_session_usd,
               any_value(device_conversion_rate) as device_conversion_rate,
               any_value(device_net_revenue_per_session_usd) as device_net_revenue_per_session_usd,
               any_value(baseline_conversion_rate) as baseline_conversion_rate,
               any_value(baseline_net_revenue_per_session_usd) as baseline_net_revenue_per_session_usd
        from {quote_ident(summary)} where {match} group by 1 order by 1""", {k: action[k] for k in chosen})
    if action["action_scope"] == "device":  # its device baseline is itself
        rows = [{k: v for k, v in r.items() if not k.startswith("device_")} for r in rows]
    return {"rank": action["priority_rank"], "device": action["device_type"],
            "scope": action["action_scope"], "status": action.get("action_status"), "rows": rows}


def _dag(project: Project) -> dict[str, object]:
    """Models, their refs and sources as rendering finds them (no data read)."""
    from leakcli.render.renderer import render_memo, renderer_for

    c = project.contracts
    renderer = renderer_for(c, render_memo(project.cache))
    nodes: list[dict[str, object]] = [{"name": f"{c.source_name}.{t}", "layer": "source"} for t in c.tables
                                      if c.tables[t].required]
    edges: list[list[str]] = []
    for name, model in c.models.items():
        nodes.append({"name": name, "layer": model.layer})
        try:
            r = renderer.render_model(name)
        except LeakError:
            continue
        edges += [[p, name] for p in r.refs] + [[f"{s}.{t}", name] for s, t in r.sources]
    known = {str(n["name"]) for n in nodes}
    nodes += [{"name": a, "layer": "source"} for a in sorted({a for a, _ in edges} - known)]
    return {"nodes": nodes, "edges": edges}


def _tests(project: Project, data_dir: str | None) -> dict[str, object]:
    """The acceptance tests on the published build (as `leakcli verify` runs them); when they cannot
    run (the data is gone), why, in one line, and no summary (nothing passed)."""
    from leakcli.commands.verify import verify

    try:
        report = verify(project, data_dir=data_dir)
    except LeakError as exc:
        return {"summary": {}, "results": [], "error": exc.one_line()}
    return {"summary": report.summary, "data": report.dataset.get("path"),
            "results": [{"id": r.id, "status": r.status, "severity": r.severity, "model": r.model,
                         "failing_rows": r.failing_rows, "detail": r.message or r.description}
                        for r in report.results]}


def _build(c: Contracts, paths: Paths, built: dict[str, str | None]) -> dict[str, object]:
    """The build the report shows: its id, when, from which dataset (kind `files` or `synthetic`)."""
    from leakcli import __version__
    from leakcli.store import state

    metas = {name: state.decode(comment) for name, comment in built.items()}
    meta = state.built_from(metas, c.ir.final_models)
    current = (paths.target / "current").resolve()
    return {"id": current.name if current.is_dir() else None,
            "built_at": max((m.built_at for m in metas.values() if m is not None), default=None),
            "dataset": meta.dataset.to_dict() if meta else None,
            "plan": meta.plan if meta else None,
            "models": len(built), "leakcli": __version__, "duckdb": duckdb_version(),
            "generated_at": time.strftime("%Y-%m-%d %H:%M:%S")}
