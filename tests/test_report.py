"""report: one self-contained HTML file, rendered from a Jinja2 template with autoescape on, drawn in
a real browser (headless Chromium, when the machine has it; .ci/run installs it). The browser test
takes a screenshot at 1280 and at 800 px; with LEAKCLI_SCREENSHOTS=1 it keeps them as
tests/screenshots/report.png and report-800.png (the README's picture)."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from leakcli.errors import ExitCode
from leakcli.outputs.report import usd

CHROMIUM = os.environ.get("LEAKCLI_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--hide-scrollbars",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=10000"]
SCREENSHOTS = Path(__file__).parent / "screenshots"
CHARTS = ("gaps", "split", "heatmap", "trend_conversion", "trend_revenue", "dag")
needs_chromium = pytest.mark.skipif(not CHROMIUM,
                                    reason="no Chromium on this machine (.ci/run installs Debian's chromium)")

# Appended to a copy of the page (never to the report itself): measures what a reader would see and
# writes it as JSON into <pre id="probe">, which --dump-dom then carries out.
PROBE = """<script>
window.addEventListener("load", function () { setTimeout(function () {
  var r = { width: window.innerWidth, height: document.documentElement.scrollHeight,
            pageScrolls: document.documentElement.scrollWidth > window.innerWidth + 1, charts: {} };
  var table = document.getElementById("actions-table"), wrap = table.parentElement.getBoundingClientRect();
  var todo = Array.prototype.slice.call(table.querySelectorAll("td.todo"));
  r.todo = todo.length;
  r.todoCut = todo.filter(function (td) { return td.scrollWidth > td.clientWidth + 1; }).length;
  r.todoOutOfView = todo.filter(function (td) { var t = td.querySelector(".todo-text").getBoundingClientRect();
                                                return t.left < wrap.left - 1 || t.right > wrap.right + 1; }).length;
  r.todoNarrowest = Math.min.apply(null, todo.map(function (td) {
    return td.querySelector(".todo-text").clientWidth; }));
  r.cellsCut = Array.prototype.slice.call(table.querySelectorAll("td")).filter(function (td) {
    return td.scrollWidth > td.clientWidth + 1; }).map(function (td) { return td.textContent.trim(); });
  r.actionsText = table.innerText;
  r.tableScrolls = table.parentElement.scrollWidth > table.parentElement.clientWidth + 1;
  r.bold = document.querySelectorAll("b").length;
  r.testsTables = document.querySelectorAll("table.tests").length;
  r.banner = !!document.getElementById("synthetic-banner");
  Array.prototype.slice.call(document.querySelectorAll("[data-chart]")).forEach(function (el) {
    var svg = el.querySelector("svg"), chart = echarts.getInstanceByDom(el);
    var opt = chart ? chart.getOption() : { legend: [] };
    r.charts[el.dataset.chart] = { svg: !!svg, fits: !!svg && svg.getBoundingClientRect().width <= el.clientWidth + 1,
      height: el.clientHeight, legends: (opt.legend || []).map(function (l) { return l.type; }),
      hidden: (opt.legend || []).reduce(function (n, l) { return n + Object.keys(l.selected || {}).filter(function (k) {
        return !l.selected[k]; }).length; }, 0) };
  });
  var pre = document.createElement("pre");
  pre.id = "probe"; pre.textContent = JSON.stringify(r); document.body.appendChild(pre);
}, 0); });
</script>"""


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}", *args],
                          capture_output=True, text=True, timeout=120)


def _probe(tmp_path: Path, page: Path, width: int) -> tuple[dict[str, Any], str]:
    """What the page shows at `width` px (the probe's measures, and the DOM after the scripts ran)."""
    copy = tmp_path / f"probe-{width}.html"
    head, tail = page.read_text().rsplit("</body>", 1)  # the page's own end (ECharts' text holds the tag too)
    copy.write_text(head + PROBE + "</body>" + tail)
    dom = _chromium(tmp_path, f"--window-size={width},1200", "--dump-dom", copy.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.S)
    assert found is not None, dom.stdout[-2000:]
    body = re.search(r"<body[^>]*>", dom.stdout)
    assert body is not None and 'data-errors=""' in body.group(0), body  # no script error, no console.error
    assert 'data-ready="true"' in body.group(0) and 'data-charts="6"' in body.group(0)
    return json.loads(html.unescape(found.group(1))), dom.stdout


def _screenshot(tmp_path: Path, page: Path, width: int, height: int, out: Path) -> None:
    done = _chromium(tmp_path, f"--window-size={width},{height}", f"--screenshot={out}", page.as_uri())
    assert done.returncode == 0 and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 50_000


def _markup(page: str) -> str:
    """The page without its scripts' text: what is markup and what a reader reads."""
    return re.sub(r"(<script[^>]*>).*?</script>", r"\1</script>", page, flags=re.S)


def _data(page: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="leak-data">(.*?)</script>', page, re.S)
    assert found is not None
    doc = json.loads(found.group(1))
    assert isinstance(doc, dict)
    return doc


def _rewrite(project: Any, sql: str) -> None:
    import duckdb

    con = duckdb.connect(str(project.db))
    con.execute(sql)
    con.close()


def test_money_reads_minus_dollars():
    assert usd(-50_000) == "\u2212$50,000" and usd(50_000.4) == "$50,000" and usd(-0.4) == "$0"
    assert usd(None) == "n/a" and usd("12.5") == "$12"


def test_report_is_one_small_self_contained_file(project, leak):
    out = leak("report")
    assert out.exit_code == ExitCode.USAGE and "run `leakcli apply` first" in out.stderr
    assert leak("apply").exit_code == 0
    out = leak("report", "--json")
    assert out.exit_code == 0, out.stderr
    doc = out.json()
    page = (project.root / "target/report.html").read_text()
    assert doc["path"] == "target/report.html" and doc["bytes"] == len(page.encode()) < 5 * 1024 * 1024
    assert doc["tests"]["passed"] == doc["tests"]["total"] == 15 and doc["actions"] == 9
    # nothing is fetched at view time: no external script, style, image or frame
    markup = _markup(page)
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=", markup, re.I)
    assert "echarts" in page and page.count('data-chart="') == len(doc["charts"]) == 6
    for action in ("Conversion leak on", "fix the page or the bid"):
        assert action in page
    # what a reader needs first: the shop and the window (not a build id), what to do now, what the statuses mean
    title = re.search(r"<title>(.*?)</title>", page)
    assert title is not None and title.group(1) == "Maven Fuzzy Factory: revenue leaks, 2014-01 to 2014-06"
    assert doc["build"] not in title.group(1)
    assert "Window: <strong>2014-01 to 2014-06</strong> (6 months)" in markup
    assert "2 actions to take now, 1 emerging leak, 1 stopped leak, 5 within noise." in markup
    for meaning in ("<strong>act</strong>: bigger than chance and still running",
                    "<strong>emerging</strong>: within noise over the window, but bigger than chance in the last 3 "
                    "months and still running: find what changed then",
                    "<strong>stopped</strong>: bigger than chance, but no sessions lately",
                    "fix before it runs again",
                    "<strong>within noise</strong>: a gap of this size is what chance alone gives a segment this size "
                    "(q above the false-discovery rate, 0.05): watch it, do not act"):
        assert meaning in markup
    assert 'id="synthetic-banner"' not in markup  # a build on the shop's files carries no banner
    # the actions table: status, sessions, gap, z, q, last month with sessions, share of all gaps, the text
    rows = re.findall(r'<tbody class="action status-(\w+)">(.*?)</tbody>', markup, re.S)
    assert [s for s, _ in rows] == ["act", "act", "emerging", "stopped", "noise", "noise", "noise", "noise", "noise"]
    first = re.sub(r"<[^>]+>", " ", rows[0][1])
    assert re.sub(r"\s+", " ", first).split()[:12] == ["1", "act", "segment", "gsearch", "/", "nonbrand", "/", "mobile",
                                                       "/", "/lander-5", "32", "$552"]
    for cell in ("± $263", ">4.1<", "&lt; 0.001", ">2014-06<", ">32.6%<", "What to do:"):
        assert cell in rows[0][1], cell
    assert '<td class="stale">2014-04</td>' in rows[3][1]  # the stopped segment's last month, marked
    for head in ("sessions", "last month with sessions", "share of all gaps"):
        assert f">{head}</th>" in markup
    assert "$-" not in markup and "$\u2212" not in markup
    # its own report is replaced; a file it did not write is not, without --force
    assert leak("report").exit_code == 0
    other = project.root / "notes.html"
    other.write_text("<p>my notes</p>")
    out = leak("report", "--out", str(other))
    assert out.exit_code == ExitCode.USAGE and "notes.html" in out.stderr and len(out.stderr.splitlines()) == 1
    assert other.read_text() == "<p>my notes</p>"
    assert leak("report", "--out", str(other), "--force").exit_code == 0 and "leakcli report" in other.read_text()


def test_report_escapes_what_the_data_says(project, leak):
    """A value of the data (a landing page, an action text) is text in the page, never markup or script."""
    assert leak("apply").exit_code == 0
    evil = "/x</script><script>document.body.dataset.pwned=1</script>"
    _rewrite(project, f"update mart__priority_actions set landing_page = '{evil}', recommended_action = '{evil}' "
                      "where priority_rank = (select max(priority_rank) from mart__priority_actions)")
    assert leak("report").exit_code == 0
    page = (project.root / "target/report.html").read_text()
    assert "<script>document.body.dataset.pwned" not in page
    assert "&lt;script&gt;document.body.dataset.pwned" in page  # the table cell, as text
    assert "\\u003c/script>\\u003cscript>document.body.dataset.pwned" in page  # the chart data, inert


def test_report_shows_markup_and_placeholders_in_the_data_literally(project, leak, tmp_path):
    """A traffic source named like markup and like a placeholder of the page is its name, nothing more:
    the template never reads data as template, and autoescape makes it text."""
    assert leak("apply").exit_code == 0
    evil = "bsearch<b>bold</b>{{tests}}"
    for mart in ("mart__priority_actions", "mart__core_leak_summary"):
        _rewrite(project, f"update {mart} set utm_source = '{evil}' where utm_source = 'bsearch'")
    _rewrite(project, f"update mart__priority_actions set recommended_action = replace(recommended_action, "
                      f"'bsearch/', '{evil}/')")
    assert leak("report").exit_code == 0
    page = (project.root / "target/report.html").read_text()
    markup = _markup(page)
    assert "<b>" not in markup and evil not in markup
    assert markup.count("bsearch&lt;b&gt;bold&lt;/b&gt;{{tests}}") == 8  # four segment cells, four texts
    assert markup.count('id="tests-table"') == 1 and markup.count(">failing rows</th>") == 1
    assert _data(page)["actions"][1]["utm_source"] == evil  # the chart data keeps the name, `<` escaped
    assert "bsearch\\u003cb>bold\\u003c/b>{{tests}}" in page
    if CHROMIUM:
        seen, _ = _probe(tmp_path, project.root / "target/report.html", 1280)
        assert seen["bold"] == 0 and seen["testsTables"] == 1
        assert seen["actionsText"].count(evil) == 8  # shown as it is spelled, in the actions table


def test_report_of_a_synthetic_build_says_so(project, leak):
    """The build's dataset kind is in the metadata of each table (here a files build, marked synthetic)."""
    import duckdb

    assert leak("apply").exit_code == 0
    con = duckdb.connect(str(project.db))
    for name, comment in con.execute("select table_name, comment from duckdb_tables()").fetchall():
        meta = json.loads(comment)
        meta["leakcli"]["dataset"].update(kind="synthetic", origin="synthetic")
        con.execute(f"comment on table {name} is '{json.dumps(meta)}'")
    con.close()
    assert leak("report").exit_code == 0
    markup = _markup((project.root / "target/report.html").read_text())
    assert "<title>Maven Fuzzy Factory: revenue leaks, 2014-01 to 2014-06 (synthetic data)</title>" in markup
    banner = re.search(r'<div class="banner" id="synthetic-banner"[^>]*>(.*?)</div>', markup, re.S)
    assert banner is not None and "Synthetic data, not the shop's real numbers." in banner.group(1)
    assert markup.index('id="synthetic-banner"') < markup.index("<h1>")  # above everything else


def test_report_compares_a_device_action_with_the_site_only(project, leak):
    """A device action's device baseline is itself: its trend carries the site's baseline alone."""
    assert leak("apply").exit_code == 0
    _rewrite(project, "update mart__priority_actions set priority_rank = case when action_scope = 'device' then 1 "
                      "when priority_rank < 5 then priority_rank + 1 else priority_rank end")
    assert leak("report").exit_code == 0
    trends = _data((project.root / "target/report.html").read_text())["trends"]
    assert [t["scope"] for t in trends] == ["device", "segment", "segment"]
    assert trends[0]["label"] == "#1 device desktop" and trends[0]["rows"]
    assert all("device_conversion_rate" not in r and "baseline_conversion_rate" in r for r in trends[0]["rows"])
    assert all("device_conversion_rate" in r for r in trends[1]["rows"])


@needs_chromium
def test_report_draws_every_chart_in_headless_chromium(project, leak, tmp_path):
    assert leak("apply").exit_code == 0
    assert leak("report").exit_code == 0
    page = project.root / "target/report.html"
    shots = SCREENSHOTS if os.environ.get("LEAKCLI_SCREENSHOTS") else tmp_path / "screenshots"
    shots.mkdir(exist_ok=True)
    for width, shot in ((1280, "report.png"), (800, "report-800.png")):
        seen, dom = _probe(tmp_path, page, width)
        assert seen["width"] == width and not seen["pageScrolls"], seen
        for name in CHARTS:  # every chart drew an SVG that fits its box
            div = re.search(rf'<div[^>]*id="chart-{name}"[^>]*>(.*?)</svg>', dom, re.S)
            assert div is not None and "<svg" in div.group(1) and 'data-drawn="true"' in div.group(0), name
            chart = seen["charts"][name]
            assert chart["svg"] and chart["fits"] and chart["height"] >= 250, (name, chart)
        assert dom.count("<path") > 50  # bars, whiskers, lines, cells and edges were drawn
        for name in ("trend_conversion", "trend_revenue"):  # a plain legend, every series shown
            assert seen["charts"][name]["legends"] == ["plain"] and seen["charts"][name]["hidden"] == 0
        # the "what to do" text wraps inside its cell and stays in view; no cell's text is cut
        assert seen["todo"] == 9 and seen["todoCut"] == 0 and seen["todoOutOfView"] == 0, seen
        assert seen["todoNarrowest"] >= 600 and seen["cellsCut"] == [], seen
        assert not seen["tableScrolls"], seen  # every column in view, the primary leak included
        assert "window 2014-01 to 2014-06" in dom  # the heat map marks the window
        drawn = _markup(dom)
        assert "\u2212$" in drawn and "$-" not in drawn and "$\u2212" not in drawn  # axis labels: −$600, never $-600
        _screenshot(tmp_path, page, width, seen["height"], shots / shot)
        assert (shots / shot).stat().st_size > 10_000


def test_report_says_when_the_tests_could_not_run(project, leak, tmp_path):
    """With the data the build was made from gone, the tests cannot run: the command says so and why in
    its one line (never "tests 0/0 passed"), and so does the page, at its top; --data-dir names a copy."""
    assert leak("apply").exit_code == 0
    moved = tmp_path / "moved"
    project.raw.rename(moved)
    out = leak("report")
    assert out.exit_code == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 1 and "0/0" not in lines[0] and "passed" not in lines[0], lines
    assert "9 actions, 6 charts; the acceptance tests could not run: " in lines[0]
    assert "the data the published build was made from is gone" in lines[0] and "--data-dir" in lines[0]
    markup = _markup((project.root / "target/report.html").read_text())
    top = re.search(r'<p class="fail" id="tests-broken">(.*?)</p>', markup, re.S)
    assert top is not None and "The acceptance tests could not run, so nothing below is checked: " in top.group(1)
    assert "is gone" in top.group(1) and markup.index('id="tests-broken"') < markup.index('id="status-legend"')
    assert "the acceptance tests could not run (see above)" in markup and 'id="tests-table"' not in markup
    doc = leak("report", "--json").json()
    assert doc["tests"] == {} and "is gone" in doc["tests_error"]
    out = leak("report", "--data-dir", str(moved))  # a copy of the data elsewhere: the tests run on it
    assert out.exit_code == 0 and out.stdout.rstrip().endswith("tests 15/15 passed"), out.stdout
    markup = _markup((project.root / "target/report.html").read_text())
    assert 'id="tests-broken"' not in markup and f"on the data at <code>{moved}</code>" in markup
    assert leak("report", "--json", "--data-dir", str(moved)).json()["tests_error"] is None


@pytest.mark.parametrize(("change", "said"), [
    (lambda r: r["look_first"][1].update(text="the page {landing_page:pct}"),
     "'{landing_page:pct}' is not a column's name (a look_first text takes no format)"),
    (lambda r: r["look_first"].pop(), "look_first: no entry for the primary leak 'refund_drag'"),
    (lambda r: r["look_first"][0].update(leak="bid"), "look_first/0/leak: 'bid' is not a primary leak"),
    (lambda r: r["confidence"][1].update(q_at_most_times_fdr=2), "one level must end at the false-discovery rate"),
    (lambda r: r["confidence"][2].update(q_at_most_times_fdr=0.5), "must rise from one level to the next"),
    (lambda r: r["confidence"][0].update(meaning="q below {fdr}"), "confidence/0/meaning: '{fdr}' is neither"),
    (lambda r: r["short_labels"].append(dict(r["short_labels"][0])), "two short labels have the same value"),
])
def test_the_report_words_of_the_catalog_are_validated(project, leak, change, said):
    project.edit_json("contracts/metric-catalog.json", lambda doc: change(doc["report"]))
    out = leak("plan")
    assert out.exit_code == ExitCode.USAGE and "contracts/metric-catalog.json#/report" in out.stderr
    assert said in out.stderr, out.stderr


def test_plan_asks_about_a_column_that_what_to_look_at_first_names(project, leak):
    """What to look at first is filled from the priority mart's row: a column it does not have is a
    question of plan at its pointer, as in the action texts."""
    project.edit_json("contracts/metric-catalog.json",
                      lambda doc: doc["report"]["look_first"][1].update(text="the page {page}"))
    out = leak("plan")
    assert out.exit_code == ExitCode.USAGE, out.stdout
    assert "contracts/metric-catalog.json#/report/look_first/1/text" in out.stdout + out.stderr
    assert "column 'page'" in out.stdout + out.stderr
