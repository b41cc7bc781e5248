"""`leakcli test` as a person reads it: the passes on one line, then each failure as a difference read in
one glance at 80 columns (the cells that differ, expected above actual; the rows missing and the
rows unexpected), and as JUnit XML for CI."""

from __future__ import annotations

import decimal
import json
import textwrap
from typing import TYPE_CHECKING

from leakcli.jsonout import jsonable
from leakcli.outputs.formats import printable

if TYPE_CHECKING:
    from leakcli.commands.unitrun import UnitResult
    from leakcli.commands.unittest import UnitReport
    from leakcli.contracts.records import UnitCoverage

WIDTH = 80


def value_text(value: object) -> str:
    """A value as the test file writes it: text in double quotes, numbers as they are (a DECIMAL exactly), null."""
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return printable(json.dumps(jsonable(value), ensure_ascii=False))


def summary_line(report: UnitReport) -> str:
    s = report.summary
    return f"{s['passed']}/{s['total']} passed, {s['failed']} failed, {s['errored']} errored in {report.seconds:.2f}s."


def coverage_line(cov: UnitCoverage) -> str:
    """`Coverage: 38 tests; every model (9) and every decision (6) has one` or what has none."""
    bare_models = [m for m, n in cov.models.items() if not n]
    bare_decisions = [d for d, n in cov.decisions.items() if not n]
    if not bare_models and not bare_decisions:
        return (f"Coverage: {cov.tests} tests; every model ({len(cov.models)}) and every decision "
                f"({len(cov.decisions)}) has one.")
    parts = ([f"models without a test: {', '.join(bare_models)}"] if bare_models else []) + (
        [f"decisions without a test: {', '.join(bare_decisions)}"] if bare_decisions else [])
    return f"Coverage: {cov.tests} tests; " + "; ".join(parts) + "."


def failure_lines(r: UnitResult, width: int = WIDTH) -> list[str]:
    """The difference of one failed test, every line at most `width` characters (long values are cut
    around where they first differ)."""
    lines = [f"{r.status.upper()} {r.id} {r.model} at {r.location}"]
    lines += textwrap.wrap(r.description, width - 2, initial_indent="  ", subsequent_indent="  ")
    if r.status == "error":
        return lines + textwrap.wrap(r.message, width - 2, initial_indent="  ", subsequent_indent="    ")
    d = r.difference
    lines += textwrap.wrap(f"expected {r.expected_rows} row{'s' * (r.expected_rows != 1)}, got {r.actual_rows}"
                           + (f": {d.summary()}" if not d.none else ""), width - 2, initial_indent="  ",
                           subsequent_indent="    ")
    for problem in r.problems:
        lines += textwrap.wrap(problem, width - 2, initial_indent="  ! ", subsequent_indent="    ")
    name_width = min(max([len(c.column) for ch in d.changed for c in ch.cells] + [8]), 28)
    for ch in d.changed:
        at = f"row {ch.position}" + (": " if ch.key else "") if ch.position is not None else "row "
        lines += textwrap.wrap(at + _row_text(ch.key), width - 4, initial_indent="  ~ ", subsequent_indent="      ")
        for cell in ch.cells:
            room = width - len("      ") - name_width - len("  expected ")
            expected, actual = _cut(value_text(cell.expected), value_text(cell.actual), room)
            lines.append(f"      {cell.column.ljust(name_width)}  expected {expected}")
            lines.append(f"      {''.ljust(name_width)}  actual   {actual}")
    for mark, word, rows in (("-", "missing", d.missing), ("+", "unexpected", d.unexpected)):
        for row in rows:
            lines += textwrap.wrap(f"{word}: {_row_text(row)}", width - 4, initial_indent=f"  {mark} ",
                                   subsequent_indent="      ", break_long_words=True)
    return lines


def _row_text(row: dict[str, object]) -> str:
    return ", ".join(f"{k} {value_text(v)}" for k, v in row.items())


def _cut(expected: str, actual: str, room: int) -> tuple[str, str]:
    """Both texts within `room` characters, cut alike around their first difference."""
    room = max(room, 24)
    if len(expected) <= room and len(actual) <= room:
        return expected, actual
    first = next((i for i, (a, b) in enumerate(zip(expected, actual, strict=False)) if a != b),
                 min(len(expected), len(actual)))
    start = max(0, min(first - room // 3, max(len(expected), len(actual)) - room + 1))  # the room filled

    def window(text: str) -> str:
        head = "…" if start > 0 else ""
        rest = text[start:]
        return head + rest if len(head) + len(rest) <= room else head + rest[: room - len(head) - 1] + "…"

    return window(expected), window(actual)


def unit_junit(report: UnitReport) -> str:
    """One JUnit testcase per unit test; a failure carries its difference, an error its message."""
    import xml.etree.ElementTree as ET

    s = report.summary
    suites = ET.Element("testsuites", name="leakcli", tests=str(s["total"]), failures=str(s["failed"]),
                        errors=str(s["errored"]))
    suite = ET.SubElement(suites, "testsuite", name="leakcli test", tests=str(s["total"]), failures=str(s["failed"]),
                          errors=str(s["errored"]), skipped="0", time=f"{report.seconds:.3f}")
    for r in report.results:
        case = ET.SubElement(suite, "testcase", classname=f"leakcli.{r.model}", name=f"{r.id} {r.description}",
                             time=f"{r.seconds:.4f}")
        if r.status != "pass":
            node = ET.SubElement(case, "failure" if r.status == "fail" else "error", message=r.message)
            node.text = "\n".join(failure_lines(r)) + "\n"
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
