"""`report`: one self-contained HTML file of the published build for the people who act on it: the
window and how many actions to take now, the priority actions with their status (act, stopped,
within noise), gaps, 95% intervals and texts, the device gap beside the segment gaps, a month x
segment heat map, monthly trends against the device and site baselines, the acceptance tests, the
DAG, and where it all came from. Charts are drawn by Apache ECharts, inlined (no network at view
time).

The page is a Jinja2 template (report_assets/report.html.j2) rendered with autoescape on: every
value of the data is text. Only the inlined assets (ECharts, the CSS, the page's script) and the
data blob (JSON with `<` escaped) go in as Markup.

Reads the published build; writes only the report file."""

from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, StrictUndefined
from markupsafe import Markup

from leakcli.contracts import load as contracts
from leakcli.contracts.results import ReportOutput
from leakcli.engine.connection import rows_as_dicts
from leakcli.engine.parse import duckdb_version
from leakcli.engine.sqltext import quote_ident
from leakcli.errors import LeakError, UsageError
from leakcli.project import Paths

if TYPE_CHECKING:
    from importlib.abc import Traversable

    from leakcli.contracts.load import Contracts
    from leakcli.engine.connection import Connection

GENERATOR = '<meta name="generator" content="leakcli report">'
TEMPLATE = "report.html.j2"
CHARTS = ("gaps", "split", "heatmap", "trend_conversion", "trend_revenue", "dag")
TOP_TRENDS = 3  # actions whose monthly trend is drawn
HEATMAP_ROWS = 15  # segment actions in the heat map
MAX_BYTES = 5 * 1024 * 1024
MINUS = "\u2212"  # money reads "−$50,000", never "$-50,000"
# What each status means, as the legend says it ({fdr}, {live}, {recent} filled from the catalog's thresholds).
STATUS_TEXT = {
    "act": ("act", "bigger than chance and still running: act on it now"),
    "emerging": ("emerging", "within noise over the window, but bigger than chance in the last {recent} months and "
                 "still running: find what changed then"),
    "stopped": ("stopped", "bigger than chance, but no sessions lately (none in the last {live} months of "
                "the window): fix before it runs again"),
    "noise": ("within noise", "a gap of this size is what chance alone gives a segment this size (q above "
              "the false-discovery rate, {fdr}): watch it, do not act"),
}


@dataclass(frozen=True)
class ReportRequest:
    """What `leakcli report` was asked: the project, where to write (target/report.html), overwrite."""

    root: Path
    out: Path | None = None
    force: bool = False
    target: Path | None = None  # --target-dir


@dataclass(frozen=True)
class ReportResult:
    """What it wrote: the file, its size, the charts, the build, how many actions, the tests' summary."""

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
    """The file at `path` is a report leakcli wrote (its generator tag is in the head)."""
    from leakcli.files import head_holds

    return head_holds(path, GENERATOR.encode())


def write_report(req: ReportRequest) -> ReportResult:
    """Write the report of the published build to `req.out` (target/report.html by default); refuses
    (exit 2) when nothing is built, or to overwrite a file it did not write without `force`."""
    from leakcli.store.layout import guard_file, write_output

    paths = Paths(req.root, req.target)
    c = contracts.load(req.root)
    out = Path(os.path.abspath(Path.cwd() / req.out)) if req.out is not None else paths.target / "report.html"
    shown = paths.rel(out)
    if not paths.published.exists():
        raise UsageError("nothing is built yet: run `leakcli apply` first", file=paths.rel(paths.database))
    guard_file(out, shown, ours=is_report(out), force=req.force, target=paths.target,
               what="a leakcli report")
    from leakcli.engine.connection import reading

    with reading(paths.rel(paths.database)):
        data = gather(c, paths)
    page = render_page(data)
    write_output(paths.target, out, shown, page, "the report")
    tests = data["tests"]
    assert isinstance(tests, dict)
    return ReportResult(shown, len(page.encode("utf-8")), list(CHARTS), _str(data["build"], "id"),
                        len(_list(data["actions"])), dict(tests["summary"]))


def gather(c: Contracts, paths: Paths) -> dict[str, object]:
    """Everything the page shows, as JSON-ready values, from the published build (read-only)."""
    from leakcli.build.published import status_line
    from leakcli.engine.connection import connect, lockdown, user_tables

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
    data["statuses"] = [{"name": s.name, "label": STATUS_TEXT.get(s.name, (s.name, ""))[0], "count": counts[s.name],
                         "meaning": STATUS_TEXT.get(s.name, ("", s.meaning))[1].format(
                             fdr=f"{t.false_discovery_rate:g}", live=t.live_months, recent=t.recent_months)}
                        for s in c.catalog.priority.statuses]
    data["fdr"] = f"{t.false_discovery_rate:g}"
    data["status_line"] = status_line(c, counts) if not actions or "action_status" in actions[0] else ""
    data["shop"] = _shop(c)
    data["dag"] = _dag(c)
    data["tests"] = _tests(c, paths)
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
        report = verify(VerifyRequest(paths.root, target=paths.target_dir), c)
    except LeakError as exc:
        return {"summary": {"total": 0}, "results": [], "error": exc.one_line()}
    return {"summary": report.summary,
            "results": [{"id": r.id, "status": r.status, "severity": r.severity, "model": r.model,
                         "failing_rows": r.failing_rows, "detail": r.message or r.description}
                        for r in report.results]}


def _build(c: Contracts, paths: Paths, built: dict[str, str | None]) -> dict[str, object]:
    """The build the report shows: its id, when, from which dataset (kind `files` or `synthetic`)."""
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
    """The page: the template rendered with autoescape on; only the assets and the data blob are Markup."""
    assets = resources.files("leakcli.outputs.report_assets")
    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.filters.update(usd=usd, month=lambda v: str(v)[:7] if v else "n/a")
    template = env.from_string((assets / TEMPLATE).read_text("utf-8"))
    build = data["build"]
    assert isinstance(build, dict)
    dataset = build.get("dataset") or {}
    window = data["window"]
    assert isinstance(window, dict)
    synthetic = dataset.get("kind") == "synthetic"
    span = f"{window['start']} to {window['end']}" if window.get("start") else "no window"
    page = template.render(
        generator=Markup(GENERATOR),
        css=_inline(assets / "report.css", "</style"),
        echarts=_inline(assets / "echarts.min.js", "</script"),
        script=_inline(assets / "report.js", "</script"),
        data=Markup(json.dumps(_finite(data), separators=(",", ":")).replace("<", "\\u003c")),
        title=f"{data['shop']}: revenue leaks, {span}" + (" (synthetic data)" if synthetic else ""),
        shop=data["shop"], window=window, synthetic=synthetic, dataset=dataset,
        status_line=data["status_line"], statuses=data["statuses"], fdr=data["fdr"],
        actions=[_action_row(a, _list(data["keys"]), str(data["all_label"])) for a in _list(data["actions"])],
        tests=data["tests"], provenance=_provenance(build),
    )
    if len(page.encode("utf-8")) > MAX_BYTES:  # a guard on the promise: self-contained and small
        raise UsageError(f"the report would be {len(page) / 1e6:.1f} MB, over the 5 MB it promises")
    return page


def _inline(asset: Traversable, closing: str) -> Markup:
    """An inlined asset of ours, as Markup on purpose; a closing tag inside it could not end its element."""
    return Markup(asset.read_text("utf-8").replace(closing, "<\\" + closing[1:]))


def usd(value: object) -> str:
    """Money rounded to the dollar: '$50,000', '−$50,000'; 'n/a' for no number."""
    v = _num(value)
    if v is None:
        return "n/a"
    r = round(v)
    return f"{MINUS if r < 0 else ''}${abs(r):,}"


def _action_row(a: object, keys: list[object], all_label: str) -> dict[str, object]:
    """One action as the table shows it (text only: the template escapes it)."""
    assert isinstance(a, dict)
    status = str(a.get("action_status") or "")
    gap, se = _num(a.get("gap_usd")), _num(a.get("gap_se_usd"))
    z, q, share = _num(a.get("gap_z")), _num(a.get("q_value")), _num(a.get("share_of_total_gap"))
    device = a.get("action_scope") == "device"
    segment = [str(a[k]) for k in map(str, keys) if k in a and a[k] != all_label]
    return {
        "rank": a.get("priority_rank"), "status": status,
        "status_class": status if status in STATUS_TEXT else "other",
        "status_label": STATUS_TEXT.get(status, (status or "n/a", ""))[0],
        "scope": "device" if device else "segment",
        "segment": (f"all traffic on {segment[0]}" if device and len(segment) == 1 else " / ".join(segment)),
        "sessions": f"{int(s):,}" if (s := _num(a.get("sessions"))) is not None else "n/a",
        "gap": usd(gap),
        "interval": f"± {usd(1.96 * se)}" if se is not None else "",
        "z": f"{z:.1f}" if z is not None else "n/a",
        "q": "n/a" if q is None else "< 0.001" if q < 0.001 else f"{q:.3f}" if q < 0.01 else f"{q:.2f}",
        "last_month": str(a.get("last_session_month") or "n/a")[:7],
        "live": bool(a.get("is_live", True)),
        "share": f"{share:.1%}" if share is not None else "n/a",
        "leak": str(a.get("primary_leak") or "").replace("_", " "),
        "text": str(a.get("recommended_action") or ""),
    }


def _provenance(b: dict[object, object]) -> list[tuple[str, str]]:
    d = b.get("dataset") or {}
    assert isinstance(d, dict)
    items = [("build", b.get("id")), ("built at", b.get("built_at")),
             ("dataset", f"{d.get('kind')} at {d.get('path')}" if d else None), ("plan fingerprint", b.get("plan")),
             ("models", b.get("models")), ("leakcli", b.get("leakcli")), ("DuckDB", b.get("duckdb")),
             ("report generated", b.get("generated_at"))]
    return [(k, str(v)) for k, v in items]


def _finite(value: object) -> object:
    """JSON-ready values with NaN and infinities as null (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value if value is None or isinstance(value, (bool, int, str)) else str(value)


def _num(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        v = float(str(value))
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def _str(value: object, key: str) -> str | None:
    return str(value[key]) if isinstance(value, dict) and value.get(key) is not None else None
