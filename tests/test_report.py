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
            pageScrolls: document.documentElement.scrollWidth > window.innerWidth + 1,
            charts: {}, labels: {}, cut: {} };
  var shown = function (el) {  // what the reader sees (a closed <details> keeps its content's boxes, hidden)
    return el.checkVisibility ? el.checkVisibility({ contentVisibilityAuto: true, visibilityProperty: true }) :
      el.getClientRects().length > 0; };
  // the first screen: the answer's first item is in view without scrolling
  var answer = document.querySelector("#answer li");
  r.answerBottom = answer ? answer.getBoundingClientRect().bottom : null;
  // noise rows are folded: none shows until the reader opens them
  var details = document.getElementById("noise-rows");
  var folded = document.querySelectorAll("#noise-table tbody.action");
  r.noiseShown = Array.prototype.slice.call(folded).filter(shown).length;
  r.noiseSummary = details ? details.querySelector("summary").innerText : null;
  r.mainRows = document.querySelectorAll("#actions-table tbody.action").length;
  if (details) { details.open = true; }
  var tables = Array.prototype.slice.call(document.querySelectorAll("table.actions"));
  var todo = [];
  tables.forEach(function (t) { todo = todo.concat(Array.prototype.slice.call(t.querySelectorAll("td.todo"))); });
  r.todo = todo.length;
  r.todoCut = todo.filter(function (td) { return td.scrollWidth > td.clientWidth + 1; }).length;
  r.todoOutOfView = todo.filter(function (td) {
    var wrap = td.closest(".table-scroll").getBoundingClientRect();
    var t = td.querySelector(".todo-text").getBoundingClientRect();
    return t.left < wrap.left - 1 || t.right > wrap.right + 1; }).length;
  r.todoNarrowest = Math.min.apply(null, todo.map(function (td) {
    return td.querySelector(".todo-text").clientWidth; }));
  r.cellsCut = [];
  tables.forEach(function (t) {
    r.cellsCut = r.cellsCut.concat(Array.prototype.slice.call(t.querySelectorAll("td")).filter(function (td) {
      return td.scrollWidth > td.clientWidth + 1; }).map(function (td) { return td.textContent.trim(); })); });
  r.actionsText = tables.map(function (t) { return t.innerText; }).join("\\n");
  r.tableScrolls = tables.some(function (t) { return t.parentElement.scrollWidth > t.parentElement.clientWidth + 1; });
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
    if (!svg) { return; }
    // the labels as drawn: the lines of one label share its anchor (transform); an action's starts "#rank "
    var box = svg.getBoundingClientRect(), groups = {}, order = [];
    r.cut[el.dataset.chart] = [];
    Array.prototype.slice.call(svg.querySelectorAll("text")).forEach(function (t) {
      var key = (t.getAttribute("transform") || "") + "|" + (t.getAttribute("x") || "");
      if (!(key in groups)) { groups[key] = []; order.push(key); }
      groups[key].push(t.textContent);
      var b = t.getBoundingClientRect();
      if (/\\u2026|\\.\\.\\./.test(t.textContent) || b.left < box.left - 1 || b.right > box.right + 1) {
        r.cut[el.dataset.chart].push(t.textContent);
      }
    });
    r.labels[el.dataset.chart] = order.map(function (k) { return groups[k].join(" "); }).filter(function (s) {
      return /^#[0-9]+ /.test(s); });
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
    # the actions table: status, the segment and its primary leak, gap, how sure (words, z, q), sessions,
    # last month with sessions, the text and what to look at first; noise rows apart, folded
    rows = re.findall(r'<tbody class="action status-(\w+)">(.*?)</tbody>', markup, re.S)
    assert [s for s, _ in rows] == ["act", "act", "emerging", "stopped", "noise", "noise", "noise", "noise", "noise"]
    first = re.sub(r"<[^>]+>", " ", rows[0][1])
    assert re.sub(r"\s+", " ", first).split()[:15] == ["1", "act", "segment", "·", "conversion", "leak", "gsearch", "/",
                                                       "nonbrand", "/", "mobile", "/", "/lander-5", "$552", "±"]
    for cell in ("± $263", "32.6% of all gaps", ">almost surely real<", "z 4.1 · q &lt; 0.001", ">32<", ">2014-06<",
                 "What to do:", "Look first at</span> the page /lander-5 (visitors land there but buy less often than "
                 "other mobile visitors), then the bid on gsearch/nonbrand."):
        assert cell in rows[0][1], cell
    assert '<td class="stale">2014-04</td>' in rows[3][1]  # the stopped segment's last month, marked
    for head in ("sessions", "last month with sessions"):
        assert f">{head}</th>" in markup
    assert "$-" not in markup and "$\u2212" not in markup
    main, folded = markup.split('<details class="noise" id="noise-rows">')
    assert main.count('<tbody class="action status-') == 4 and "status-noise" not in main.split('id="actions-table"')[1]
    assert "<details open" not in markup and folded.count('<tbody class="action status-noise">') == 5
    summary = re.search(r"<summary>(.*?)</summary>", folded, re.S)
    assert summary is not None and "<strong>5 more gaps within noise</strong>: #5 bsearch / brand / desktop / /home " \
        "($80), #6 bsearch / nonbrand / mobile / /lander-2 ($45), #7 all traffic on desktop ($19), " \
        "#8 direct / direct / desktop / unknown ($15), #9 gsearch / nonbrand / desktop / /lander-1 ($8)." \
        in summary.group(1)
    # the emerging leak: its last 3 months' gap, z, q and how sure beside the window's, which chance explains
    emerging = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", rows[2][1]))
    for said in ("last 3 months $232 ± $169", "window −$28 ± $243", "last 3 months: very likely real z 2.7 · q 0.01",
                 "window: likely chance z −0.2 · q 0.78"):
        assert said in emerging, (said, emerging)
    # the direct traffic reads "direct" (its full name a tooltip away, and the legend says so once)
    assert '<abbr title="direct_or_unknown">direct</abbr>' in folded
    assert "<strong>direct</strong> is <code>direct_or_unknown</code>: no utm source or campaign" in markup
    # the first screen is the answer: what to do, in order, how sure in words, and where to look first
    answer = re.search(r'<ol class="answer" id="answer">(.*?)</ol>', markup, re.S)
    assert answer is not None
    said = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", li)).strip()
            for li in re.findall(r"<li[^>]*>(.*?)</li>", answer.group(1), re.S)]
    assert said == [
        "act #1 gsearch / nonbrand / mobile / /lander-5 earned $552 less than expected over the window: almost surely "
        "real. Look first at the page /lander-5 (visitors land there but buy less often than other mobile visitors), "
        "then the bid on gsearch/nonbrand.",
        "act #2 bsearch / nonbrand / desktop / /lander-2 earned $475 less than expected over the window: almost surely "
        "real. Look first at the page /lander-2 (visitors land there but buy less often than other desktop visitors), "
        "then the bid on bsearch/nonbrand.",
        "emerging #3 bsearch / brand / mobile / /home earned $232 less than expected in the last 3 months (2014-04 to "
        "2014-06): very likely real. Look first at the page /home (visitors land there but buy less often than other "
        "mobile visitors), then the bid on bsearch/brand.",
        "stopped #4 socialbook / pilot / mobile / /lander-3 has had no sessions after 2014-04; while it ran it earned "
        "$525 less than expected: almost surely real. Look first at the page /lander-3 (visitors land there but buy "
        "less often than other mobile visitors), then the bid on socialbook/pilot, before it runs again.",
        "within noise 5 more gaps that chance alone explains: watch, do not act (listed below the table)."]
    # how sure, in words from q at multiples of the false-discovery rate (the catalog's), said once
    legend = re.search(r'<div class="legend how-sure" id="sure-legend">(.*?)</div>', markup, re.S)
    assert legend is not None
    for level in ("<strong>almost surely real</strong>: q at most 0.01: of all the gaps at least this sure, at most 1% "
                  "would be chance",
                  "<strong>very likely real</strong>: q at most 0.05, the false-discovery rate",
                  "<strong>possibly chance</strong>: q at most 0.5: up to 50%",
                  "<strong>likely chance</strong>: q above 0.5: more than 50%"):
        assert level in legend.group(1), level
    assert "Benjamini–Hochberg" in legend.group(1) and "standard errors" in legend.group(1)
    # the device part and the segment part, said in plain words once
    assert "The <strong>device part</strong> is what its visitors lose only because of the device" in markup
    assert "The <strong>segment part</strong> is what the segment loses beyond its device" in markup
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
    # four segment cells and four texts; the two actions to act on in the answer list and their look-first
    # lines there and in the table (4 + 4 + 2 + 2 + 2); the two within noise in the folded summary line
    assert markup.count("bsearch&lt;b&gt;bold&lt;/b&gt;{{tests}}") == 16
    assert markup.count('id="tests-table"') == 1 and markup.count(">failing rows</th>") == 1
    data = _data(page)
    assert data["actions"][1]["utm_source"] == evil  # the chart data keeps the name, `<` escaped
    assert data["view"]["labels"]["2"] == f"{evil} / nonbrand / desktop / /lander-2"
    assert "bsearch\\u003cb>bold\\u003c/b>{{tests}}" in page
    if CHROMIUM:
        seen, _ = _probe(tmp_path, project.root / "target/report.html", 1280)
        assert seen["bold"] == 0 and seen["testsTables"] == 1
        # shown as it is spelled in both tables (noise unfolded): cells, texts, the two look-first lines
        assert seen["actionsText"].count(evil) == 10
        assert f"#2 {evil} / nonbrand / desktop / /lander-2" in seen["labels"]["gaps"]  # and in the charts


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
    data = _data((project.root / "target/report.html").read_text())
    trends = data["trends"]
    # the first three actions, and the emerging one below them (its recent months are the point)
    assert [(t["rank"], t["scope"], t["status"]) for t in trends] == [
        (1, "device", "noise"), (2, "segment", "act"), (3, "segment", "act"), (4, "segment", "emerging")]
    assert trends[0]["rank"] == 1 and data["view"]["labels"]["1"] == "all traffic on desktop" and trends[0]["rows"]
    assert all("device_conversion_rate" not in r and "baseline_conversion_rate" in r for r in trends[0]["rows"])
    assert all("device_conversion_rate" in r for r in trends[1]["rows"])


@needs_chromium
def test_report_draws_every_chart_in_headless_chromium(project, leak, tmp_path):
    assert leak("apply").exit_code == 0
    assert leak("report").exit_code == 0
    page = project.root / "target/report.html"
    data = _data(page.read_text())
    label = {a["priority_rank"]: f"#{a['priority_rank']} {data['view']['labels'][str(a['priority_rank'])]}"
             for a in data["actions"]}
    assert len(set(label.values())) == len(label) == 9  # one label per action, none the same
    assert label[8] == "#8 direct / direct / desktop / unknown" and label[7] == "#7 all traffic on desktop"
    segments = [label[r] for r in data["heatmap"]["rows"]]
    shots = SCREENSHOTS if os.environ.get("LEAKCLI_SCREENSHOTS") else tmp_path / "screenshots"
    shots.mkdir(exist_ok=True)
    for width, shot in ((1280, "report.png"), (800, "report-800.png")):
        seen, dom = _probe(tmp_path, page, width)
        assert seen["width"] == width and not seen["pageScrolls"], seen
        for name in CHARTS:  # every chart drew an SVG that fits its box, and no text of it is cut
            div = re.search(rf'<div[^>]*id="chart-{name}"[^>]*>(.*?)</svg>', dom, re.S)
            assert div is not None and "<svg" in div.group(1) and 'data-drawn="true"' in div.group(0), name
            chart = seen["charts"][name]
            assert chart["svg"] and chart["fits"] and chart["height"] >= 250, (name, chart)
            assert seen["cut"][name] == [], (width, name, seen["cut"][name])
        # every action's label drawn whole (its device and page in view, wrapped rather than cut), once
        for name in ("gaps", "split"):
            assert seen["labels"][name] == [label[r] for r in range(9, 0, -1)], (width, name, seen["labels"][name])
        assert seen["labels"]["heatmap"] == segments, (width, seen["labels"]["heatmap"])
        for name in ("trend_conversion", "trend_revenue"):
            assert seen["labels"][name] == [label[t["rank"]] for t in data["trends"]], (width, seen["labels"][name])
        assert dom.count("<path") > 50  # bars, whiskers, lines, cells and edges were drawn
        for name in ("trend_conversion", "trend_revenue"):  # a plain legend, every series shown
            assert seen["charts"][name]["legends"] == ["plain"] and seen["charts"][name]["hidden"] == 0
        # the first screen is the answer; the noise rows are one line until opened, the rest in full
        assert seen["answerBottom"] is not None and seen["answerBottom"] < 600, seen["answerBottom"]
        assert seen["mainRows"] == 4 and seen["noiseShown"] == 0, seen
        assert seen["noiseSummary"].startswith("5 more gaps within noise: #5 bsearch / brand / desktop / /home ($80)")
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
    assert "is gone" in top.group(1) and markup.index('id="tests-broken"') < markup.index('id="answer"')
    assert "the acceptance tests could not run (see above)" in markup and 'id="tests-table"' not in markup
    doc = leak("report", "--json").json()
    assert doc["tests"] == {} and "is gone" in doc["tests_error"]
    out = leak("report", "--data-dir", str(moved))  # a copy of the data elsewhere: the tests run on it
    assert out.exit_code == 0 and out.stdout.rstrip().endswith("tests 15/15 passed"), out.stdout
    markup = _markup((project.root / "target/report.html").read_text())
    assert 'id="tests-broken"' not in markup and f"on the data at <code>{moved}</code>" in markup
    assert leak("report", "--json", "--data-dir", str(moved)).json()["tests_error"] is None


def test_report_heat_map_tells_a_gap_beyond_chance_from_one_within_it(project, leak):
    """A cell is coloured (tested = 1) only in the months of a test that found its segment's gap bigger
    than chance: the window for a significant segment, the recent months for an emerging one; never for
    a segment within noise. Each cell carries that month's own z (its gap over √(sessions × the device's
    variance), the catalog's gap variance over one month)."""
    assert leak("apply").exit_code == 0
    assert leak("report").exit_code == 0
    data = _data((project.root / "target/report.html").read_text())
    hm, window = data["heatmap"], data["window"]
    assert window["recent_start"] == "2014-04" and window["end"] == "2014-06" and window["recent_months"] == 3
    status = {a["priority_rank"]: a["action_status"] for a in data["actions"]}
    assert [status[r] for r in hm["rows"]] == ["act", "act", "emerging", "stopped", "noise", "noise", "noise", "noise"]
    assert hm["spans"] == ["window", "window", "recent", "window", None, None, None, None]
    months = [m[:7] for m in hm["months"]]
    tested: dict[int, set[str]] = {}
    for x, y, _, _, t in hm["cells"]:
        if t:
            tested.setdefault(hm["rows"][y], set()).add(months[x])
    inside = {m for m in months if window["start"] <= m <= window["end"]}
    ran = {r: {months[x] for x, y, *_ in hm["cells"] if hm["rows"][y] == r} for r in hm["rows"]}
    assert tested[1] == ran[1] & inside and tested[4] == ran[4] & inside
    assert tested[3] == ran[3] & {"2014-04", "2014-05", "2014-06"}  # the emerging one: its recent months only
    assert not any(r in tested for r in hm["rows"] if status[r] == "noise")
    summary = {(str(m)[:7], s, c, d, p): (g, n, v) for m, s, c, d, p, g, n, v in project.query(
        "select session_month, utm_source, utm_campaign, device_type, landing_page, segment_gap_usd, sessions, "
        "device_net_revenue_variance from mart__core_leak_summary")}
    actions = {a["priority_rank"]: a for a in data["actions"]}
    for x, y, gap, z, _ in hm["cells"]:
        a = actions[hm["rows"][y]]
        g, n, v = summary[(months[x], a["utm_source"], a["utm_campaign"], a["device_type"], a["landing_page"])]
        assert gap == round(g, 2)
        assert (z is None) if n * v == 0 else z == round(g / (n * v) ** 0.5, 2)


def test_report_words_for_how_sure_follow_the_catalog():
    """How sure, in words, from q at the catalog's multiples of the false-discovery rate (each bound
    belongs to its own level); a catalog without the words leaves the figures alone."""
    from leakcli.outputs.report import Words

    levels = [(0.2, "almost surely real", "q at most {q} ({share})"), (1, "very likely real", "q at most {q}"),
              (10, "possibly chance", "q at most {q}"), (None, "likely chance", "q above {q} ({share})")]
    words = {"confidence": [{"q_at_most_times_fdr": t, "words": w, "meaning": m} for t, w, m in levels],
             "look_first": [], "short_labels": []}
    data = {"thresholds": {"false_discovery_rate": 0.05}, "window": {"end": "2015-03", "recent_start": "2015-01",
                                                                     "recent_months": 3},
            "all_label": "(all)", "words": words, "unpaid": []}
    w = Words.of(data)
    said = [w.sure(q) for q in (0.0, 0.01, 0.0100001, 0.05, 0.0500001, 0.5, 0.51, 1.0)]
    assert said == ["almost surely real", "almost surely real", "very likely real", "very likely real",
                    "possibly chance", "possibly chance", "likely chance", "likely chance"]
    assert w.legend()[0] == ("almost surely real", "q at most 0.01 (1%)")
    assert w.legend()[-1] == ("likely chance", "q above 0.5 (50%)") and w.recent == "2015-01 to 2015-03"
    assert Words.of({**data, "words": None}).sure(0.01) is None and w.sure(None) is None


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
