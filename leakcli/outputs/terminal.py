"""Everything a person or a program sees. stdout carries data (one JSON document with --json);
notices, progress and errors go to stderr. Rich decoration only when the stream is a terminal, and
then fitted to its width (tables.py). The plan and the diff are drawn by planview.py."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TextIO, cast

from leakcli.errors import MAX_LINE, BlockingAmbiguity, ContractError, ExitCode, LeakError
from leakcli.outputs import planview, tables
from leakcli.outputs.formats import format_value, printable, verify_markdown
from leakcli.outputs.tables import Col
from leakcli.progress import LONG

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status

    from leakcli.commands.apply import ApplyResult
    from leakcli.commands.diff import DiffResult
    from leakcli.commands.export import ExportResult
    from leakcli.commands.records import ProgressInfo
    from leakcli.commands.show import Shown
    from leakcli.commands.unittest import UnitReport
    from leakcli.commands.verify import VerifyReport
    from leakcli.contracts.records import ModelStep, Plan
    from leakcli.outputs.report import ReportResult
    from leakcli.sources.generate import GenerateResult
    from leakcli.sources.profile import ProfileResult

NUMERIC = {"BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER", "DOUBLE", "FLOAT",
           "DECIMAL", "REAL"}


def _is_tty(stream: TextIO) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()


class _Pipe:
    """stdout as the reporter writes it: once its reader has gone (`leakcli show m | head -1`), the
    rest is dropped and the command still ends with its own exit code, never Click's 1 for a closed
    pipe (1 means a failed test)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.gone = False

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._drop()
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._drop()

    def _drop(self) -> None:
        import contextlib
        import os

        self.gone = True
        with contextlib.suppress(OSError, ValueError, AttributeError):  # a test's stream has no descriptor
            os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())  # Python's own flush at exit too

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


_DONE = {"create": "created", "rebuild": "rebuilt", "update": "updated", "unchanged": "kept",
         "skip": "skipped"}  # apply's headline


class Reporter:
    """Everything a command shows: data on stdout (one JSON document with --json), notices, progress and
    errors on stderr; Rich tables only on a terminal (or when `rich` is given, e.g. a test's console)."""

    def __init__(self, *, json_mode: bool = False, stdout: TextIO | None = None,
                 stderr: TextIO | None = None, rich: bool | None = None, width: int | None = None) -> None:
        self.json_mode = json_mode
        self.out = cast(TextIO, _Pipe(stdout or sys.stdout))
        self.err = stderr or sys.stderr
        self.rich = (_is_tty(self.out) if rich is None else rich) and not json_mode
        self.err_tty = _is_tty(self.err)
        self.width = width
        self.database = "target/leakcli.duckdb"  # the published database as shown: what an interrupt left alone
        self._status: Status | None = None
        self._out_console: Console | None = None

    # -- stderr -----------------------------------------------------------------------------------
    def notice(self, message: str) -> None:
        print(f"leakcli: {printable(message)}", file=self.err, flush=True)

    def error(self, exc: LeakError) -> None:
        """One line per problem, each at most MAX_LINE characters: the first is the error."""
        limit = MAX_LINE - len("leakcli: error: ")
        print(f"leakcli: error: {exc.one_line(limit)}", file=self.err, flush=True)
        if isinstance(exc, ContractError):
            for problem in exc.problems[1:]:
                print(f"leakcli: error: {problem.one_line(limit)}", file=self.err)
        if isinstance(exc, BlockingAmbiguity):
            for a in exc.ambiguities[1:]:
                print(printable(f"leakcli: blocking: {a['location']}: {a['question']}")[:MAX_LINE], file=self.err)

    def failed(self, exc: LeakError, code: int | None = None) -> None:
        """A command that failed: its line(s) on stderr and, with --json, the one error document on stdout."""
        self.error(exc)
        if self.json_mode:
            from leakcli.contracts.results import ErrorOutput

            detail = {**exc.to_dict(), "exit_code": int(exc.exit_code if code is None else ExitCode(code))}
            self.emit_json(ErrorOutput.model_validate({"error": detail}).document())

    def progress(self, event: str, step: ModelStep, info: ProgressInfo) -> None:
        """Each model as it builds on a terminal; elsewhere a timestamped line for a long one."""
        i, n = info.index, info.total
        if not self.err_tty:
            if event == "done" and (info.seconds or 0) >= LONG:
                self._log(f"[{i}/{n}] {step.name}: {info.status}, {info.rows or 0:,} rows", info.seconds or 0)
            return
        if event == "start":
            print(f"[{i}/{n}] {step.name} ({step.action}) ...", end="", file=self.err, flush=True)
        else:
            rows = f"{info.rows:,} rows" if info.rows is not None else "-"
            print(f" {info.status}, {rows} in {info.seconds or 0:.2f}s", file=self.err, flush=True)

    # progress.Tracker: phases of long work (hashing, scanning, loading, auditing, ...)
    def started(self, label: str) -> None:
        if self.err_tty and not self.json_mode:
            from rich.console import Console
            from rich.text import Text

            self._status = Console(file=self.err).status(Text(f"{printable(label)} ..."))  # a path is no markup
            self._status.start()

    def finished(self, label: str, seconds: float) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
        if seconds >= LONG:
            if self.err_tty:
                print(f"{printable(label)}: {seconds:.1f}s", file=self.err, flush=True)
            else:
                self._log(label, seconds)

    def _log(self, label: str, seconds: float) -> None:
        import datetime as dt

        stamp = dt.datetime.now().isoformat(timespec="seconds")
        print(f"leakcli: {stamp} {printable(label)}: {seconds:.1f}s", file=self.err, flush=True)

    # -- stdout: primitives -----------------------------------------------------------------------
    def emit_json(self, doc: Mapping[str, object]) -> None:
        self.out.write(json.dumps(doc, indent=2, default=str) + "\n")
        self.out.flush()

    def table(self, title: str, cols: list[Col], rows: list[list[str]]) -> None:
        """A table: aligned lines when piped, fitted to the terminal (or records) on one."""
        rows = [[printable(v) for v in row] for row in rows]
        if self.rich:
            tables.fitted(self.console(), printable(title), cols, rows)
        else:
            tables.plain(self.out, printable(title), cols, rows)

    def say(self, text: str, style: str | None = None) -> None:
        text = printable(text)
        if self.rich and style:
            self.console().print(text, style=style, markup=False, highlight=False, soft_wrap=True)
        else:
            print(text, file=self.out)

    def console(self) -> Console:
        if self._out_console is None:
            from rich.console import Console

            self._out_console = Console(file=self.out, width=self.width,
                                        force_terminal=True if self.rich and not _is_tty(self.out) else None)
        return self._out_console

    # -- stdout: one method per command -----------------------------------------------------------
    def plan(self, plan: Plan, *, out: object = None, verbose: bool = False) -> None:
        if out is not None:
            self.notice(f"plan saved to {out}")
        if self.json_mode:
            return self.emit_json(plan.to_dict())
        return planview.show_plan(self, plan, verbose=verbose)

    def diff(self, result: DiffResult) -> None:
        if self.json_mode:
            return self.emit_json(result.to_dict())
        return planview.show_diff(self, result)

    def apply(self, result: ApplyResult) -> None:
        from collections import Counter

        if self.json_mode:
            return self.emit_json(result.to_dict())
        d = result.plan.dataset
        marked = "SYNTHETIC data, not the shop's" if d.kind == "synthetic" else "files"
        done = Counter(r.action for r in result.results)
        if set(done) <= {"unchanged", "skip"}:  # as Terraform says "No changes": nothing was built
            title = f"No changes: {result.database} is up to date, {done['unchanged']} models kept" + (
                f", {done['skip']} skipped" if done["skip"] else "")
        else:
            title = f"Built {result.database} in {result.seconds:.2f}s: " + ", ".join(
                f"{done[a]} {word}" for a, word in _DONE.items() if done[a])
            g = result.growth
            if done["update"] and g is not None and g.months_to_rebuild is not None:
                title += f" ({len(g.months_to_rebuild)} of {g.months} months rebuilt)"
        title += f" (dataset: {marked} at {d.path})"
        for line in planview.growth_lines(result.sources, None):
            self.say(line.lstrip("\n"))
        self.table(title,
                   [Col("model", key=True), Col("action"), Col("status", styled=True), Col("rows", "num"),
                    Col("seconds", "num")],
                   [[r.name, r.action, r.status, "" if r.rows is None else f"{r.rows:,}", f"{r.seconds:.2f}"]
                    for r in result.results])
        if result.top_actions:
            keys = result.segment_keys
            counts = f": {result.status_line}" if result.status_line else ""
            cols = [Col("rank", "num", key=True), Col("status", key=True, styled=True), Col("scope", key=True),
                    *(Col(k, key=True) for k in keys), Col("gap usd", "num"), Col("z", "num"), Col("q", "num"),
                    Col("share", "num"), Col("primary leak"), Col("action", "wrap")]
            self.table(f"Top priority actions ({result.priority_model}){counts}", cols,
                       [[str(a.rank), a.status, a.scope, *(a.value(k) for k in keys), f"{a.gap_usd:,.0f}",
                         _fixed(a.z, 1), _q(a.q), "" if a.share is None else f"{a.share:.1%}", a.primary_leak,
                         a.text] for a in result.top_actions])
        return None

    def verify(self, report: VerifyReport, fmt: str = "table") -> None:
        if self.json_mode:
            return self.emit_json(report.to_dict())
        if fmt == "markdown":
            self.out.write(verify_markdown(report))
            return None
        s = report.summary
        data = " (SYNTHETIC data, not the shop's)" if report.dataset.get("kind") == "synthetic" else ""
        self.table(f"Acceptance tests on {report.database}{data}: {s['passed']}/{s['total']} passed, "
                   f"{s['failed']} failed, {s['warned']} warned, {s['errored']} errored",
                   [Col("id", key=True), Col("status", key=True, styled=True), Col("severity"), Col("model"),
                    Col("kind"), Col("failing", "num"), Col("detail", "wrap")],
                   [[r.id, r.status.upper(), r.severity, r.model, r.kind, str(r.failing_rows),
                     r.message or r.description] for r in report.results])
        for r in report.results:
            if r.status != "pass" and r.sample:
                print(f"{r.id} sample: {json.dumps(r.sample, default=str)}", file=self.out)
        if report.full_check is not None:
            same = sum(m.same for m in report.full_check)
            self.table(f"Full check: {same} of {len(report.full_check)} models equal a build from scratch",
                       [Col("model", key=True), Col("result", key=True, styled=True), Col("published", "num"),
                        Col("from scratch", "num"), Col("differing", "num"), Col("months", "wrap")],
                       [[m.model, "pass" if m.same else "fail", f"{m.rows_published:,}", f"{m.rows_rebuilt:,}",
                         f"{m.differing:,}", ", ".join(m.months)] for m in report.full_check])
            for m in report.full_check:
                if not m.same and m.sample:
                    print(f"{m.model} sample: {json.dumps(m.sample, default=str)}", file=self.out)
        return None

    def unit_tests(self, report: UnitReport) -> None:
        """`leakcli test`: a line per test, the coverage, then each failure as a difference."""
        from leakcli.outputs import unittests as view

        if self.json_mode:
            return self.emit_json(report.to_dict())
        if report.created:
            self.notice(f"wrote unit test {report.created} to contracts/unit-tests.json")
        self.table(view.title(report), [Col("id", key=True), Col("status", key=True, styled=True), Col("model"),
                                        Col("rule", "wrap")],
                   [[r.id, r.status, r.model, r.description] for r in report.results])
        self.say(view.coverage_line(report.coverage))
        width = min(self.width or shutil_width(), 100)
        for r in report.results:
            if r.status != "pass":
                self.say("")
                for i, line in enumerate(view.failure_lines(r, width)):
                    self.say(line, "bold red" if i == 0 else None)
        return None

    def show(self, shown: Shown, fmt: str = "table", vertical: bool = False) -> None:
        """Rows of a model: a table that fits the terminal, else one record at a time (psql's \\x);
        `csv` and `--json` carry the raw values."""
        if self.json_mode:
            return self.emit_json(shown.to_dict())
        if fmt == "csv":
            import csv

            writer = csv.writer(self.out, lineterminator="\n")
            writer.writerow(shown.columns)
            writer.writerows([_csv_value(v) for v in r] for r in shown.rows)
            return None
        import shutil

        cells = [[_plain_id(c, v) or format_value(v) for c, v in zip(shown.columns, r, strict=True)]
                 for r in shown.rows]
        widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(shown.columns)]
        width = self.width or shutil.get_terminal_size((100, 24)).columns
        title = f"{shown.model}: {len(cells):,} of {shown.total:,} row(s)"
        if not vertical and sum(widths) + 2 * (len(widths) - 1) <= width:
            numeric = [t.split("(")[0] in NUMERIC for t in shown.types]
            return tables.plain(self.out, title, [Col(c, "num" if n else "text")
                                                  for c, n in zip(shown.columns, numeric, strict=True)], cells)
        print(title, file=self.out)
        key = max(len(c) for c in shown.columns)
        for i, row in enumerate(cells, start=1):
            self.say(f"-[ row {i} ]" + "-" * max(0, min(width, 60) - len(f"-[ row {i} ]")), "bold")
            for col, value in zip(shown.columns, row, strict=True):
                print(f"{col.ljust(key)} | {value}", file=self.out)
        return None

    def report(self, result: ReportResult) -> None:
        if self.json_mode:
            return self.emit_json(result.to_dict())
        s = result.tests
        print(f"Wrote {result.path} ({result.bytes / 1e6:.1f} MB; build {result.build}): {result.actions} actions, "
              f"{len(result.charts)} charts, tests {s.get('passed', 0)}/{s.get('total', 0)} passed", file=self.out)
        return None

    def export(self, result: ExportResult) -> None:
        if self.json_mode:
            return self.emit_json(result.to_dict())
        print(f"Wrote a dbt project to {result.path} ({len(result.models)} models, {len(result.tests)} data tests; "
              f"sources read from {result.data}). Next: cd {result.from_here or result.path} && "
              f"dbt build --profiles-dir .", file=self.out)
        return None

    def profile(self, result: ProfileResult) -> None:
        if self.json_mode:
            return self.emit_json(result.to_dict())
        print(f"Profiled {result.data.label} data at {result.data.path}:", file=self.out)
        for item in result.written:
            print(f"  {item}", file=self.out)
        return None

    def generate(self, result: GenerateResult) -> None:
        if self.json_mode:
            return self.emit_json(result.to_dict())
        self.table(f"Generated {result.path} (scale {result.scale:g}, seed {result.seed}) in {result.seconds:.1f}s",
                   [Col("file", key=True), Col("rows", "num")], [[f, f"{n:,}"] for f, n in result.rows.items()])
        return None


def shutil_width() -> int:
    import shutil

    return shutil.get_terminal_size((80, 24)).columns


def _plain_id(column: str, value: object) -> str:
    """An identifier as written, without thousands separators (website_session_id 472871)."""
    return str(value) if column.endswith("_id") and isinstance(value, int) and not isinstance(value, bool) else ""


def _fixed(value: object, digits: int) -> str:
    """A statistic with `digits` decimals; empty when there is none (an older build, or no variance)."""
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""


def _csv_value(value: object) -> object:
    """A raw value as the exports' CSV (DuckDB's COPY) writes it: booleans true/false, NULL empty."""
    return "" if value is None else ("true" if value else "false") if isinstance(value, bool) else value


def _q(value: object) -> str:
    """A q value with two decimals; one too small for them (or 0, where p fell below the smallest
    double) reads "<0.01": never a certainty that is not."""
    return "<0.01" if isinstance(value, (int, float)) and 0 <= value < 0.005 else _fixed(value, 2)
