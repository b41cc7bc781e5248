"""`report`: one self-contained HTML file of the published build for the people who act on it: the
priority actions and their gaps, the device gap beside the segment gaps, a month x segment heat map,
monthly trends against the device and site baselines, the acceptance tests, the DAG, and where it
all came from. Charts are drawn by Apache ECharts, inlined (no network at view time).

Reads the published build; writes only the report file."""

from __future__ import annotations

import html
import json
import os
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli.contracts import load as contracts
from leakcli.contracts.results import ReportOutput
from leakcli.engine.connection import rows_as_dicts
from leakcli.engine.parse import duckdb_version
from leakcli.engine.sqltext import quote_ident
from leakcli.errors import LeakError, UsageError
from leakcli.project import Paths

if TYPE_CHECKING:
    from leakcli.contracts.load import Contracts
    from leakcli.engine.connection import Connection

GENERATOR = '<meta name="generator" content="leakcli report">'
CHARTS = ("gaps", "split", "heatmap", "trend_conversion", "trend_revenue", "dag")
TOP_TRENDS = 3  # actions whose monthly trend is drawn
HEATMAP_ROWS = 15  # segment actions in the heat map
MAX_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class ReportRequest:
    root: Path
    out: Path | None = None
    force: bool = False


@dataclass(frozen=True)
class ReportResult:
    path: str
    bytes: int
    charts: list[str]
    build: str | None
    actions: int
    tests: dict[str, int]

    def to_dict(self) -> dict[str, object]:
        """`report --json` (contracts/schemas/report-output.schema.json)."""
        return ReportOutput(path=self.path, bytes=self.bytes, charts=self.charts, build=self.build,
                            actions=self.actions, tests=self.tests).document()


def is_report(path: Path) -> bool:
    from leakcli.files import head_holds

    return head_holds(path, GENERATOR.encode())


def write_report(req: ReportRequest) -> ReportResult:
    from leakcli.store.layout import guard_file, write_output

    paths = Paths(req.root)
    c = contracts.load(req.root)
    out = Path(os.path.abspath(Path.cwd() / req.out)) if req.out is not None else paths.target / "report.html"
    shown = paths.rel(out)
    if not paths.database.exists():
        raise UsageError("nothing is built yet: run `leakcli apply` first", file=paths.rel(paths.database))
    guard_file(out, shown, ours=is_report(out), force=req.force)
    data = gather(c, paths)
    page = render_page(data)
    write_output(paths.target, out, shown, page, "the report")
    tests = data["tests"]
    assert isinstance(tests, dict)
    return ReportResult(shown, len(page.encode("utf-8")), list(CHARTS), _str(data["build"], "id"),
                        len(_list(data["actions"])), dict(tests["summary"]))


def gather(c: Contracts, paths: Paths) -> dict[str, object]:
    """Everything the page shows, as JSON-ready values, from the published build (read-only)."""
    from leakcli.engine.connection import connect, lockdown, user_tables

    con = connect(paths.database, read_only=True, shown=paths.rel(paths.database))
    try:
        lockdown(con)
        built = user_tables(con)
        priority, summary = c.catalog.priority.model, _summary_model(c)
        for name in (priority, summary):
            if name not in built:
                raise UsageError(f"the published build has no '{name}': run `leakcli apply` first",
                                 file=paths.rel(paths.database))
        keys = list(c.catalog.segment.keys)
        actions = rows_as_dicts(con, f"select * from {quote_ident(priority)} order by priority_rank")
        data: dict[str, object] = {
            "keys": keys,
            "all_label": c.catalog.priority.all_label,
            "actions": actions,
            "heatmap": _heatmap(con, summary, keys, actions, c.catalog.segment.time_column),
            "trends": [_trend(con, summary, keys, a, c.catalog.segment.time_column, c.catalog.priority.all_label)
                       for a in actions[:TOP_TRENDS]],
        }
    finally:
        con.close()
    data["dag"] = _dag(c)
    data["tests"] = _tests(c, paths)
    data["build"] = _build(c, paths, built)
    return data


def _summary_model(c: Contracts) -> str:
    for name in c.ir.final_models:
        if name != c.catalog.priority.model:
            return name
    raise UsageError("the stage IR names no summary mart beside the priority mart", file=c.ir_path)


def _heatmap(con: Connection, summary: str, keys: list[str], actions: list[dict[str, object]],
             month: str) -> dict[str, object]:
    """segment_gap_usd by month for the segment actions of the priority list, in rank order."""
    segments = [a for a in actions if a["action_scope"] == "segment"][:HEATMAP_ROWS]
    labels = [" / ".join(str(a[k]) for k in keys) for a in segments]
    months = [str(r["m"]) for r in rows_as_dicts(con, f"select distinct {quote_ident(month)} as m from "
                                               f"{quote_ident(summary)} order by 1")]
    cells = []
    match = " and ".join(f"{quote_ident(k)} = ${k}" for k in keys)
    for i, a in enumerate(segments):
        for r in rows_as_dicts(con, f"select {quote_ident(month)} as m, segment_gap_usd as gap "
                                    f"from {quote_ident(summary)} where {match} order by 1", {k: a[k] for k in keys}):
            cells.append([months.index(str(r["m"])), i, round(float(str(r["gap"])), 2)])
    return {"months": months, "segments": labels, "cells": cells}


def _trend(con: Connection, summary: str, keys: list[str], action: dict[str, object], month: str,
           all_label: str) -> dict[str, object]:
    """The action's monthly conversion and net revenue per session, its device's and the site's."""
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
    label = f"#{action['priority_rank']} " + " / ".join(str(action[k]) for k in chosen)
    return {"label": label, "device": action["device_type"], "rows": rows}


def _dag(c: Contracts) -> dict[str, object]:
    """Models, their refs and sources as rendering finds them (no data read)."""
    from leakcli.render.renderer import renderer_for

    renderer = renderer_for(c)
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


def _tests(c: Contracts, paths: Paths) -> dict[str, object]:
    """The acceptance tests on the published build (as `leakcli verify` runs them)."""
    from leakcli.build.verify import VerifyRequest, verify

    try:
        report = verify(VerifyRequest(paths.root), c)
    except LeakError as exc:
        return {"summary": {"total": 0}, "results": [], "error": exc.one_line()}
    return {"summary": report.summary,
            "results": [{"id": r.id, "status": r.status, "severity": r.severity, "model": r.model,
                         "failing_rows": r.failing_rows, "detail": r.message or r.description}
                        for r in report.results]}


def _build(c: Contracts, paths: Paths, built: dict[str, str | None]) -> dict[str, object]:
    from importlib.metadata import version

    from leakcli.store import state

    metas = {name: state.decode(comment) for name, comment in built.items()}
    meta = state.built_from(metas, c.ir.final_models)
    current = (paths.target / "current").resolve()
    return {"id": current.name if current.is_dir() else None,
            "built_at": max((m.built_at for m in metas.values() if m is not None), default=None),
            "dataset": meta.dataset.to_dict() if meta else None,
            "plan": meta.plan if meta else None,
            "models": len(built), "leakcli": version("leakcli"), "duckdb": duckdb_version(),
            "generated_at": time.strftime("%Y-%m-%d %H:%M:%S")}


def render_page(data: dict[str, object]) -> str:
    assets = resources.files("leakcli.outputs.report_assets")
    page = (assets / "report.html").read_text("utf-8")
    blob = json.dumps(data, default=str, separators=(",", ":")).replace("<", "\\u003c")
    parts = {
        "{{generator}}": GENERATOR,
        "{{css}}": (assets / "report.css").read_text("utf-8"),
        "{{echarts}}": (assets / "echarts.min.js").read_text("utf-8").replace("</script", "<\\/script"),
        "{{script}}": (assets / "report.js").read_text("utf-8"),
        "{{data}}": blob,
        "{{title}}": html.escape(f"Revenue leaks: {_str(data['build'], 'id') or 'published build'}"),
        "{{actions}}": _actions_table(data),
        "{{tests}}": _tests_table(data),
        "{{provenance}}": _provenance(data),
    }
    for key, value in parts.items():
        page = page.replace(key, value)
    if len(page.encode("utf-8")) > MAX_BYTES:  # a guard on the promise: self-contained and small
        raise UsageError(f"the report would be {len(page) / 1e6:.1f} MB, over the 5 MB it promises")
    return page


def _actions_table(data: dict[str, object]) -> str:
    keys = _list(data["keys"])
    rows = []
    for a in _list(data["actions"]):
        assert isinstance(a, dict)
        cells = [str(a["priority_rank"]), str(a["action_scope"]), *(str(a[k]) for k in keys),
                 f"${float(a['gap_usd']):,.0f}", f"{float(a['share_of_total_gap']):.1%}", str(a["primary_leak"]),
                 str(a["recommended_action"])]
        rows.append("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in cells) + "</tr>")
    head = ["rank", "scope", *map(str, keys), "gap", "share", "primary leak", "what to do"]
    return ("<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _tests_table(data: dict[str, object]) -> str:
    tests = data["tests"]
    assert isinstance(tests, dict)
    if tests.get("error"):
        return f"<p class='fail'>The acceptance tests could not run: {html.escape(str(tests['error']))}</p>"
    s = tests["summary"]
    rows = "".join(
        f"<tr class='{html.escape(str(r['status']))}'><td>{html.escape(str(r['id']))}</td>"
        f"<td>{html.escape(str(r['status']).upper())}</td><td>{html.escape(str(r['severity']))}</td>"
        f"<td>{html.escape(str(r['model']))}</td><td>{r['failing_rows']}</td>"
        f"<td>{html.escape(str(r['detail']))}</td></tr>" for r in tests["results"])
    return (f"<p>{s['passed']} of {s['total']} passed, {s['failed']} failed, {s['warned']} warned, "
            f"{s['errored']} errored.</p><table><thead><tr><th>id</th><th>status</th><th>severity</th>"
            f"<th>model</th><th>failing rows</th><th>detail</th></tr></thead><tbody>{rows}</tbody></table>")


def _provenance(data: dict[str, object]) -> str:
    b = data["build"]
    assert isinstance(b, dict)
    d = b.get("dataset") or {}
    items = [("build", b.get("id")), ("built at", b.get("built_at")),
             ("dataset", f"{d.get('kind')} at {d.get('path')}" if d else None), ("plan fingerprint", b.get("plan")),
             ("models", b.get("models")), ("leakcli", b.get("leakcli")), ("DuckDB", b.get("duckdb")),
             ("report generated", b.get("generated_at"))]
    return "<dl>" + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in items) + "</dl>"


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def _str(value: object, key: str) -> str | None:
    return str(value[key]) if isinstance(value, dict) and value.get(key) is not None else None
