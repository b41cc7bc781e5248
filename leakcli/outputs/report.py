"""`report`, the page: one self-contained HTML file for the people who act on the answer, drawn from
the data commands/report.py gathered. It opens with the answer: the window, how many actions to take
now, and each action to take (act, emerging, stopped) in one item: what it lost, how sure that is in
words (from q, the catalog's levels), and what to look at first (the catalog's words for its primary
leak: the page before the bid, the offer, what the page promises, the device experience). Then the
priority actions with their gaps, 95% intervals, z, q and texts (an emerging leak's recent months
beside its window; the gaps within noise folded into one line), the device part beside the segment
part, a month x segment heat map that colours only the months of a gap found bigger than chance,
monthly trends against the device and site baselines (an emerging leak's recent months shaded), the
acceptance tests, the DAG, and where it all came from. Labels never lose the device or the page:
long values are shortened by the catalog's short labels (said once in a legend) and wrap between
their parts. Charts are drawn by Apache ECharts, inlined (no network at view time).

The page is a Jinja2 template (report_assets/report.html.j2) rendered with autoescape on: every
value of the data is text. Only the inlined assets (ECharts, the CSS, the page's script) and the
data blob (JSON with `<` escaped) go in as Markup. Writes only the report file."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, StrictUndefined
from markupsafe import Markup

from leakcli.contracts.actions import Action
from leakcli.contracts.catalog import PLACEHOLDER
from leakcli.contracts.results import ReportOutput
from leakcli.errors import UsageError
from leakcli.paths import Paths

if TYPE_CHECKING:
    from importlib.abc import Traversable

GENERATOR = '<meta name="generator" content="leakcli report">'
TEMPLATE = "report.html.j2"
CHARTS = ("gaps", "split", "heatmap", "trend_conversion", "trend_revenue", "dag")
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
class ReportResult:
    """What it wrote: the file, its size, the charts, the build, how many actions, the tests' summary."""

    path: str
    bytes: int
    charts: list[str]
    build: str | None
    actions: int
    tests: dict[str, int]
    tests_error: str | None = None  # why the acceptance tests could not run, in one line

    def to_dict(self) -> dict[str, object]:
        """`report --json` (contracts/schemas/report-output.schema.json)."""
        return ReportOutput(path=self.path, bytes=self.bytes, charts=self.charts, build=self.build,
                            actions=self.actions, tests=self.tests, tests_error=self.tests_error).document()


def is_report(path: Path) -> bool:
    """The file at `path` is a report leakcli wrote (its generator tag is in the head)."""
    from leakcli.files import head_holds

    return head_holds(path, GENERATOR.encode())


def write_report(paths: Paths, out: Path | None, data: Callable[[], dict[str, object]], *,
                 force: bool = False) -> ReportResult:
    """Write the report to `out` (target/report.html by default) from `data()`, the published build's
    (commands/report.py); refuses (exit 2) to overwrite a file it did not write without `force`,
    before any data is read."""
    from leakcli.store.layout import guard_file, write_output

    path = Path(os.path.abspath(Path.cwd() / out)) if out is not None else paths.target / "report.html"
    shown = paths.rel(path)
    guard_file(path, shown, ours=is_report(path), force=force, target=paths.target, what="a leakcli report")
    found = data()
    page = render_page(found)
    write_output(paths.target, path, shown, page, "the report")
    tests = found["tests"]
    assert isinstance(tests, dict)
    return ReportResult(shown, len(page.encode("utf-8")), list(CHARTS), _str(found["build"], "id"),
                        len(_list(found["actions"])), dict(tests["summary"]), _str(tests, "error"))


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
    words = Words.of(data)
    keys = [str(k) for k in _list(data["keys"])]
    actions = [Action.of(a, keys) for a in _list(data["actions"]) if isinstance(a, dict)]
    rows = [_action_row(a, words) for a in actions]
    view = {"labels": {str(a.rank): words.label(a) for a in actions},
            "status": {name: label for name, (label, _) in STATUS_TEXT.items()},
            "recent": words.recent, "recent_months": words.recent_months,
            "recent_ranks": [r["rank"] for r in rows if r["recent"]]}
    page = template.render(
        generator=Markup(GENERATOR),
        css=_inline(assets / "report.css", "</style"),
        echarts=_inline(assets / "echarts.min.js", "</script"),
        script=_inline(assets / "report.js", "</script"),
        data=Markup(json.dumps(_finite({**data, "view": view}), separators=(",", ":")).replace("<", "\\u003c")),
        title=f"{data['shop']}: revenue leaks, {span}" + (" (synthetic data)" if synthetic else ""),
        shop=data["shop"], window=window, synthetic=synthetic, dataset=dataset,
        status_line=data["status_line"], statuses=_legend(data), fdr=_fdr(data),
        actions=[r for r in rows if r["status"] != "noise"], noise=[r for r in rows if r["status"] == "noise"],
        confidence=words.legend(), short_labels=words.used(actions), recent=words.recent,
        recent_months=words.recent_months, tests=data["tests"], provenance=_provenance(build),
    )
    if len(page.encode("utf-8")) > MAX_BYTES:  # a guard on the promise: self-contained and small
        raise UsageError(f"the report would be {len(page) / 1e6:.1f} MB, over the 5 MB it promises")
    return page


@dataclass(frozen=True)
class Words:
    """What the page says beside the figures, in the catalog's words (contracts/metric-catalog.json
    #/report): how sure a gap is, by its q in multiples of the false-discovery rate; what to look at
    first, by the primary leak (the unpaid words for unpaid traffic; its `{column}`s filled from the
    action's row, whose columns plan checks); and short labels for long values.
    With no such section in the catalog the page shows the figures alone."""

    all_label: str
    levels: tuple[tuple[float | None, str, str], ...] = ()  # (q at most, words, meaning); None: above the rest
    look_first: Mapping[str, tuple[str, str | None]] = field(default_factory=dict)  # leak -> (text, unpaid)
    short: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # value -> (short, meaning)
    unpaid: frozenset[int] = frozenset()  # ranks of the actions on unpaid traffic
    fdr: float = 0.05
    recent: str | None = None  # '2015-01 to 2015-03'
    recent_months: int = 0

    @classmethod
    def of(cls, data: dict[str, object]) -> Words:
        thresholds, window, found = data["thresholds"], data["window"], data.get("words")
        assert isinstance(thresholds, dict) and isinstance(window, dict)
        fdr = float(thresholds["false_discovery_rate"])
        recent = f"{window['recent_start']} to {window['end']}" if window.get("recent_start") else None
        base = cls(all_label=str(data["all_label"]), fdr=fdr, recent=recent,
                   recent_months=int(window.get("recent_months") or 0),
                   unpaid=frozenset(int(str(r)) for r in _list(data.get("unpaid"))))
        if not isinstance(found, dict):
            return base
        levels: list[tuple[float | None, str, str]] = []
        below = 0.0
        for level in _list(found.get("confidence")):
            assert isinstance(level, dict)
            times = level.get("q_at_most_times_fdr")
            bound = None if times is None else round(float(times) * fdr, 12)
            shown = bound if bound is not None else below
            meaning = str(level["meaning"]).replace("{q}", f"{shown:g}").replace("{share}", f"{shown:.0%}")
            levels.append((bound, str(level["words"]), meaning))
            below = bound if bound is not None else below
        look = {str(f["leak"]): (str(f["text"]), None if f.get("unpaid_text") is None else str(f["unpaid_text"]))
                for f in _list(found.get("look_first")) if isinstance(f, dict)}
        short = {str(x["value"]): (str(x["short"]), str(x["meaning"]))
                 for x in _list(found.get("short_labels")) if isinstance(x, dict)}
        return replace(base, levels=tuple(levels), look_first=look, short=short)

    def sure(self, q: float | None) -> str | None:
        """How sure a gap of this q is, in words ('very likely real'); None without q or words."""
        if q is None:
            return None
        return next((words for bound, words, _ in self.levels if bound is None or q <= bound), None)

    def legend(self) -> list[tuple[str, str]]:
        return [(words, meaning) for _, words, meaning in self.levels]

    def label(self, a: Action) -> str:
        """'bsearch / nonbrand / desktop / /lander-5' (long values shortened), 'all traffic on mobile'."""
        return " / ".join(shown for shown, _ in self.parts(a))

    def parts(self, a: Action) -> list[tuple[str, str | None]]:
        """The label's parts: each value as shown, and the full value where it is shortened."""
        values = [v for _, v in a.segment if v != self.all_label]
        if a.scope == "device" and len(values) == 1:
            return [(f"all traffic on {values[0]}", None)]
        return [(self.short[v][0], v) if v in self.short else (v, None) for v in values]

    def used(self, actions: list[Action]) -> list[tuple[str, str, str]]:
        """The short labels the page uses: (short, value, meaning), for the legend."""
        seen = {v for a in actions for _, v in a.segment}
        return [(short, value, meaning) for value, (short, meaning) in self.short.items() if value in seen]

    def first(self, a: Action) -> str | None:
        """What to look at first for this action (None within noise, or without words for its leak)."""
        if a.status == "noise" or a.primary_leak not in self.look_first:
            return None
        text, unpaid = self.look_first[a.primary_leak]
        chosen = unpaid if unpaid is not None and a.rank in self.unpaid else text
        return PLACEHOLDER.sub(lambda m: str(a.row.get(m.group(1), m.group(0))), chosen)


def _fdr(data: dict[str, object]) -> str:
    thresholds = data["thresholds"]
    assert isinstance(thresholds, dict)
    return f"{thresholds['false_discovery_rate']:g}"


def _legend(data: dict[str, object]) -> list[dict[str, object]]:
    """Each status with its count and what it means, in the words of STATUS_TEXT (the catalog's own
    meaning for a status this page has no words for)."""
    thresholds = data["thresholds"]
    assert isinstance(thresholds, dict)
    legend = []
    for s in _list(data["statuses"]):
        assert isinstance(s, dict)
        label, meaning = STATUS_TEXT.get(str(s["name"]), (str(s["name"]), str(s["meaning"])))
        legend.append({"name": s["name"], "label": label, "count": s["count"],
                       "meaning": meaning.format(fdr=_fdr(data), live=thresholds["live_months"],
                                                 recent=thresholds["recent_months"])})
    return legend


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


def _action_row(a: Action, w: Words) -> dict[str, object]:
    """One action as the page shows it (text only: the template escapes it). An emerging leak, or a
    stopped one that only its recent months found, is judged by its recent test: its recent gap, z, q
    and how sure stand beside the window's."""
    recent = a.status == "emerging" or (a.status == "stopped" and a.significant is False
                                        and a.recent_significant is True)
    return {
        "rank": a.rank, "status": a.status,
        "status_class": a.status if a.status in STATUS_TEXT else "other",
        "status_label": STATUS_TEXT.get(a.status, (a.status or "n/a", ""))[0],
        "scope": "device" if a.scope == "device" else "segment",
        "label": w.label(a), "parts": w.parts(a),
        "sessions": f"{a.sessions:,}" if a.sessions is not None else "n/a",
        "gap": usd(a.gap_usd),
        "interval": f"± {usd(1.96 * a.se)}" if a.se is not None else "",
        "z": _z(a.z), "q": _q(a.q), "sure": w.sure(a.q), "beyond": a.q is not None and a.q <= w.fdr,
        "recent": None if not recent else {
            "span": w.recent, "months": w.recent_months, "gap": usd(a.recent_gap_usd),
            "interval": f"± {usd(1.96 * a.recent_se)}" if a.recent_se is not None else "",
            "z": _z(a.recent_z), "q": _q(a.recent_q), "sure": w.sure(a.recent_q),
            "beyond": a.recent_q is not None and a.recent_q <= w.fdr},
        "last_month": a.last_month or "n/a",
        "live": a.live is not False,
        "share": f"{a.share:.1%}".replace("-", MINUS) if a.share is not None else "n/a",
        "leak": a.primary_leak.replace("_", " "),
        "text": a.text,
        "first": w.first(a),
    }


def _z(z: float | None) -> str:
    return "n/a" if z is None else f"{z:.1f}".replace("-", MINUS)


def _q(q: float | None) -> str:
    return "n/a" if q is None else "< 0.001" if q < 0.001 else f"{q:.3f}" if q < 0.01 else f"{q:.2f}"


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
