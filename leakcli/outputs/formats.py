"""Text a person or CI reads: values formatted for people, the acceptance tests as GitHub markdown
(for $GITHUB_STEP_SUMMARY) and as JUnit XML (`verify --junit-xml`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli.files import head_holds
from leakcli.paths import Paths
from leakcli.store.layout import guard_file, write_output

if TYPE_CHECKING:
    from leakcli.commands.verify import VerifyReport


def printable(text: str) -> str:
    """`text` as a terminal shows it safely: control characters (an escape sequence in a data value,
    a NUL of a UTF-16 file) escaped, tabs and line ends kept."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch in "\t\n" else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)


def format_value(value: object) -> str:
    """A value as a person reads it: thousands separators, two decimals for amounts, four for ratios."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if abs(value) < 5e-5:
            value = 0.0  # no "-0.0000" from a difference that is zero but for rounding
        return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.4f}"
    return printable(str(value))


def verify_markdown(report: VerifyReport) -> str:
    """The acceptance tests as GitHub-flavoured markdown (for $GITHUB_STEP_SUMMARY)."""
    s = report.summary
    mark = {"pass": "✅ pass", "fail": "❌ fail", "warn": "⚠️ warn", "error": "💥 error"}
    lines = [f"### leakcli verify: {s['passed']}/{s['total']} passed, {s['failed']} failed, "
             f"{s['warned']} warned, {s['errored']} errored", "",
             f"Database `{report.database}`", "", "| id | status | severity | model | failing | detail |",
             "|---|---|---|---|---|---|"]
    for r in report.results:
        detail = (r.message or r.description).replace("|", "\\|")
        lines.append(f"| {r.id} | {mark.get(r.status, r.status)} | {r.severity} | `{r.model}` | {r.failing_rows} "
                     f"| {detail} |")
    if report.actions:
        synthetic = " (synthetic data, not the shop's)" if report.dataset.get("kind") == "synthetic" else ""
        lines += ["", f"### The answer{synthetic}: {report.status_line}" if report.status_line else
                  f"### The answer{synthetic}", "", "| rank | status | action | gap | z | q | what to do |",
                  "|---|---|---|---|---|---|---|"]
        for a in report.actions:
            lines.append(f"| {a.rank} | {a.status} | {a.scope} {a.label(report.all_label)} | {money(a.gap_usd)} | "
                         f"{'' if a.z is None else f'{a.z:.1f}'} | {'' if a.q is None else f'{a.q:.2f}'} | "
                         f"{a.text.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def money(value: object) -> str:
    """Whole dollars as people write them: $184,696 and -$3,233, never $-3,233."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return ""
    return f"{'-' if value < 0 else ''}${abs(value):,.0f}"


def verify_junit(report: VerifyReport) -> str:
    """One JUnit testcase per acceptance test; failures and errors carry their sample rows."""
    import xml.etree.ElementTree as ET

    s = report.summary
    suites = ET.Element("testsuites", name="leakcli", tests=str(s["total"]), failures=str(s["failed"]),
                        errors=str(s["errored"]))
    suite = ET.SubElement(suites, "testsuite", name="leakcli verify", tests=str(s["total"]),
                          failures=str(s["failed"]), errors=str(s["errored"]), skipped="0")
    for r in report.results:
        case = ET.SubElement(suite, "testcase", classname=f"leakcli.{r.model}", name=f"{r.id} {r.kind}")
        if r.status in ("fail", "error", "warn"):
            tag = {"fail": "failure", "error": "error", "warn": "system-out"}[r.status]
            node = ET.SubElement(case, tag, message=r.message or r.description) if tag != "system-out" \
                else ET.SubElement(case, tag)
            node.text = (f"{r.message}\n" if tag == "system-out" else "") + json.dumps(r.sample, default=str,
                                                                                       indent=1)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def save_junit(report: VerifyReport | str, path: Path, paths: Paths, *, force: bool = False) -> None:
    """Write the JUnit XML of `report` (or the XML text given) to `path`: over a JUnit file leakcli
    wrote, never over anything else (a link, a database, a foreign file) without `force`."""
    path = Path.cwd() / path
    guard_file(path, paths.rel(path), ours=_is_our_junit(path), force=force, target=paths.target,
               what="a JUnit report leakcli wrote")
    text = report if isinstance(report, str) else verify_junit(report)
    write_output(paths.target, path, paths.rel(path), text, "the JUnit report")


def _is_our_junit(path: Path) -> bool:
    return head_holds(path, b'<testsuites name="leakcli"', within=300)
