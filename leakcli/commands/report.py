"""`report`, the data of the page: everything the HTML report shows of the published build, read
from it read-only and locked down (the priority actions, the window, a month x segment heat map,
monthly trends against the device and site baselines, the acceptance tests, the DAG and where the
build came from), as JSON-ready values. outputs/report.py draws the page from them."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from leakcli.engine.connection import rows_as_dicts
from leakcli.engine.parse import duckdb_version
from leakcli.engine.sqltext import quote_ident
from leakcli.errors import LeakError, UsageError
from leakcli.paths import Paths

if TYPE_CHECKING:
    from leakcli.context import Project
    from leakcli.contracts.load import Contracts
    from leakcli.engine.connection import Connection

TOP_TRENDS = 3  # actions whose monthly trend is drawn
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
        data: dict[str, object] = {
            "keys": keys,
            "all_label": c.catalog.priority.all_label,
            "actions": actions,
            "window": _window(actions, months, c.catalog.thresholds.priority_lookback_months),
            "heatmap": _heatmap(con, summary, keys, actions, month, months),
            "trends": [_trend(con, summary, keys, a, month, c.catalog.priority.all_label)
                       for a in actions[:TOP_TRENDS]],
        }
    finally:
        con.close()
    counts = {s.name: sum(1 for a in actions if a.get("action_status") == s.name) for s in c.catalog.priority.statuses}
    t = c.catalog.thresholds
    data["statuses"] = [{"name": s.name, "count": counts[s.name], "meaning": s.meaning}
                        for s in c.catalog.priority.statuses]
    data["thresholds"] = t.model_dump()
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


def _window(actions: list[dict[str, object]], months: list[str], lookback: int) -> dict[str, object]:
    """The months the priority list sums over: the actions' own window, else the summary's latest."""
    if actions and actions[0].get("window_start_month") and actions[0].get("window_end_month"):
        start, end = str(actions[0]["window_start_month"]), str(actions[0]["window_end_month"])
    elif months:
        start, end = months[-lookback:][0], months[-1]
    else:
        return {"start": None, "end": None, "months": 0}
    inside = [m for m in months if start <= m <= end]
    return {"start": start[:7], "end": end[:7], "months": len(inside)}


def _label(action: dict[str, object], keys: list[str], all_label: str) -> str:
    """'#1 gsearch / nonbrand / mobile / /lander-5', or '#2 device mobile'."""
    if action.get("action_scope") == "device":
        return f"#{action['priority_rank']} device {action.get('device_type')}"
    return f"#{action['priority_rank']} " + " / ".join(str(action[k]) for k in keys if action[k] != all_label)


def _heatmap(con: Connection, summary: str, keys: list[str], actions: list[dict[str, object]],
             month: str, months: list[str]) -> dict[str, object]:
    """segment_gap_usd by month for the segment actions of the priority list, in rank order."""
    segments = [a for a in actions if a["action_scope"] == "segment"][:HEATMAP_ROWS]
    labels = [_label(a, keys, "") for a in segments]
    cells = []
    match = " and ".join(f"{quote_ident(k)} = ${k}" for k in keys)
    for i, a in enumerate(segments):
        for r in rows_as_dicts(con, f"select {quote_ident(month)} as m, segment_gap_usd as gap "
                                    f"from {quote_ident(summary)} where {match} order by 1", {k: a[k] for k in keys}):
            cells.append([months.index(str(r["m"])), i, round(float(str(r["gap"])), 2)])
    return {"months": months, "segments": labels, "statuses": [a.get("action_status") for a in segments],
            "cells": cells}


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
    return {"label": _label(action, keys, all_label), "device": action["device_type"],
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
