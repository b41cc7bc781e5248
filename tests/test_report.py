"""report: one self-contained HTML file, drawn in a real browser (headless Chromium, when the machine
has it; .ci/run installs it)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from leakcli.errors import ExitCode

CHROMIUM = os.environ.get("LEAKCLI_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--hide-scrollbars",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=10000"]


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}", *args],
                          capture_output=True, text=True, timeout=120)


def test_report_is_one_small_self_contained_file(project, leak):
    out = leak("report")
    assert out.exit_code == ExitCode.USAGE and "run `leakcli apply` first" in out.stderr
    assert leak("apply").exit_code == 0
    out = leak("report", "--json")
    assert out.exit_code == 0, out.stderr
    doc = out.json()
    page = (project.root / "target/report.html").read_text()
    assert doc["path"] == "target/report.html" and doc["bytes"] == len(page.encode()) < 5 * 1024 * 1024
    assert doc["tests"]["passed"] == doc["tests"]["total"] == 15 and doc["actions"] > 0
    # nothing is fetched at view time: no external script, style, image or frame
    markup = re.sub(r"(<script[^>]*>).*?</script>", r"\1</script>", page, flags=re.S)  # tags, not script text
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=", markup, re.I)
    assert "echarts" in page and page.count('data-chart="') == len(doc["charts"]) == 6
    for action in ("Conversion leak on", "fix the page or the bid"):
        assert action in page
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
    import duckdb

    assert leak("apply").exit_code == 0
    evil = "/x</script><script>document.body.dataset.pwned=1</script>"
    con = duckdb.connect(str(project.root / "target/leakcli.duckdb"))
    con.execute("update mart__priority_actions set landing_page = $v, recommended_action = $v "
                "where priority_rank = (select max(priority_rank) from mart__priority_actions)", {"v": evil})
    con.close()
    assert leak("report").exit_code == 0
    page = (project.root / "target/report.html").read_text()
    assert "<script>document.body.dataset.pwned" not in page
    assert "&lt;script&gt;document.body.dataset.pwned" in page  # the table cell, as text
    assert "\\u003c/script>\\u003cscript>document.body.dataset.pwned" in page  # the chart data, inert


@pytest.mark.skipif(not CHROMIUM, reason="no Chromium on this machine (.ci/run installs Debian's chromium)")
def test_report_draws_every_chart_in_headless_chromium(project, leak, tmp_path):
    assert leak("apply").exit_code == 0
    assert leak("report").exit_code == 0
    page = project.root / "target/report.html"
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    body = re.search(r"<body[^>]*>", dom.stdout)
    assert body is not None
    assert 'data-ready="true"' in body.group(0) and 'data-charts="6"' in body.group(0)
    assert 'data-errors=""' in body.group(0), body.group(0)  # no script error, no console.error
    for name in ("gaps", "split", "heatmap", "trend_conversion", "trend_revenue", "dag"):
        div = re.search(rf'<div[^>]*id="chart-{name}"[^>]*>(.*?)</svg>', dom.stdout, re.S)
        assert div is not None and "<svg" in div.group(1) and 'data-drawn="true"' in div.group(0), name
    assert dom.stdout.count("<path") > 50  # bars, lines, cells and edges were drawn
    shot = project.root / "target/report.png"
    done = _chromium(tmp_path, "--window-size=1280,4400", f"--screenshot={shot}", page.as_uri())
    assert done.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    if os.environ.get("LEAKCLI_SCREENSHOT"):  # to refresh the README's picture
        shutil.copyfile(shot, os.environ["LEAKCLI_SCREENSHOT"])
