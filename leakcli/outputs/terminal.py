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
from leakcli.outputs.tables import STATUS_STYLE, Col
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
        """A notice on stderr: one line, wrapped at words on a terminal (later lines indented)."""
        text = f"leakcli: {printable(message)}"
        if self.err_tty:
            import shutil
            import textwrap

            width = max(shutil.get_terminal_size((100, 24)).columns - 1, 40)
            text = "\n".join(textwrap.wrap(text, width, subsequent_indent="  ", break_long_words=False,
                                            break_on_hyphens=False))
        print(text, file=self.err, flush=True)

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
        """Each model as it builds: on a terminal a line that goes when the model is built (the answer
        is what stays on the screen); elsewhere a timestamped line for a long one."""
        i, n = info.index, info.total
        if not self.err_tty:
            if event == "done" and (info.seconds or 0) >= LONG:
                self._log(f"[{i}/{n}] {step.name}: {info.status}, {info.rows or 0:,} rows", info.seconds or 0)
            return
        if event == "start":
            self.started(f"[{i}/{n}] {step.name} ({step.action})")
        else:
            self._stop()

    # progress.Tracker: phases of long work (hashing, scanning, loading, auditing, ...)
    def started(self, label: str) -> None:
        if self.err_tty and not self.json_mode:
            from rich.console import Console
            from rich.text import Text

            self._stop()
            self._status = Console(file=self.err).status(Text(f"{printable(label)} ..."))  # a path is no markup
            self._status.start()

    def _stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def finished(self, label: str, seconds: float) -> None:
        self._stop()
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
        """One line of stdout; on a terminal Rich draws it (in `style`), wrapped at words."""
        text = printable(text)
        if self.rich:
            self.console().print(text, style=style, markup=False, highlight=False)
        else:
            print(text, file=self.out)

    def say_wrapped(self, text: str, style: str | None = None, then: str = "        ") -> None:
        """`say`, wrapped at words to the terminal with the later lines indented by `then`; one line to a pipe."""
        if not self.rich:
            return self.say(text, style)
        import textwrap

        for line in textwrap.wrap(text, max(self.console().width - 1, 40), subsequent_indent=then,
                                  break_long_words=False, break_on_hyphens=False):
            self.say(line, style)
        return None

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
        """What apply did in a line, what changed in the data, and the answer last (it fits an 80x50
        terminal): on a terminal the models' progress was on stderr, so their table is left out."""
        from collections import Counter

        if self.json_mode:
            return self.emit_json(result.to_dict())
        d = result.plan.dataset
        data = (f"made-up synthetic data in {d.path}, not the shop's" if d.kind == "synthetic"
                else f"files at {d.path}")
        done = Counter(r.action for r in result.results)
        if set(done) <= {"unchanged", "skip"}:  # as Terraform says "No changes": nothing was built
            self.say(f"No changes: {result.database} is up to date, {done['unchanged']} models kept"
                     + (f", {done['skip']} skipped" if done["skip"] else "") + f" (dataset: {data})")
            g = result.growth
            end = f"; data ends {g.data_ends.at}" if g is not None and g.data_ends is not None else ""
            self.say(f"The answer{' (SYNTHETIC DATA)' if d.kind == 'synthetic' else ''}: "
                     f"{result.status_line or 'not built'}{end}. Read it with `leakcli show "
                     f"{result.priority_model}` or `leakcli report`.")
            return None
        title = f"Built {result.database} in {result.seconds:.2f}s: " + ", ".join(
            f"{done[a]} {word}" for a, word in _DONE.items() if done[a])
        g = result.growth
        if done["update"] and g is not None and g.months_to_rebuild is not None:
            title += f" ({len(g.months_to_rebuild)} of {g.months} months rebuilt)"
        title += f" (dataset: {data})"
        if self.err_tty:
            self.say(title, "bold")
        else:  # no progress was shown: the models, one line each
            self.table(title, [Col("model", key=True), Col("action"), Col("status", styled=True), Col("rows", "num"),
                               Col("seconds", "num")],
                       [[r.name, r.action, r.status, "" if r.rows is None else f"{r.rows:,}", f"{r.seconds:.2f}"]
                        for r in result.results])
        for line in planview.growth_lines(result.sources, None):
            self.say(line.lstrip("\n"))
        if result.top_actions:
            from leakcli.outputs.answer import Answer, lines

            if not self.err_tty:
                self.say("")
            answer = Answer(result.priority_model, result.top_actions, result.status_counts, result.status_line,
                            result.growth, d.kind == "synthetic", result.all_label, result.lookback)
            width = (self.width or self.console().width) if self.rich else None
            for text, style in lines(answer, width):
                self.say(text, style)
        return None

    def verify(self, report: VerifyReport, fmt: str = "table") -> None:
        if self.json_mode:
            return self.emit_json(report.to_dict())
        if fmt == "markdown":
            self.out.write(verify_markdown(report))
            return None
        s = report.summary
        synthetic = report.dataset.get("kind") == "synthetic"
        data = " (made-up synthetic data, not the shop's)" if synthetic else ""
        self.say(f"Acceptance tests on {report.database}{data}:", "bold")
        passed = [r.id for r in report.results if r.status == "pass"]
        if passed:
            self.say_wrapped(f"  pass  {' '.join(passed)}", "green")
        for r in (r for r in report.results if r.status != "pass"):
            self.say_wrapped(f"  {r.status.upper():<5} {r.id} {r.model} ({r.kind}, {r.severity}): "
                             f"{r.message or r.description}", STATUS_STYLE.get(r.status))
            if r.sample:
                self.say(f"        sample: {json.dumps(r.sample, default=str)}")
        if report.full_check is not None:
            same = sum(m.same for m in report.full_check)
            self.say(f"\nFull check: {same} of {len(report.full_check)} models equal a build from scratch", "bold")
            for m in report.full_check:
                months = f"; months {', '.join(m.months)}" if m.months else ""
                self.say_wrapped(f"  {'pass' if m.same else 'FAIL'}  {m.model}: {m.rows_published:,} rows "
                                 f"published, {m.rows_rebuilt:,} from scratch, {m.differing:,} differ{months}",
                                 "green" if m.same else "bold red")
                if not m.same and m.sample:
                    self.say(f"        sample: {json.dumps(m.sample, default=str)}")
        full = report.full_check
        checked = "" if full is None else "; the full check finds every model equal" if all(
            m.same for m in full) else "; the full check DIFFERS"
        self.say(f"{s['passed']}/{s['total']} passed, {s['failed']} failed, {s['warned']} warned, "
                 f"{s['errored']} errored{checked}.", "bold green" if report.ok else "bold red")
        return None

    def unit_tests(self, report: UnitReport) -> None:
        """`leakcli test` as verify reads: the passes on one line, each other test as a difference, the
        coverage, and the summary last (so it is on the screen whatever scrolled)."""
        from leakcli.outputs import unittests as view

        if self.json_mode:
            return self.emit_json(report.to_dict())
        if report.created:
            self.notice(f"wrote unit test {report.created} to contracts/unit-tests.json")
        self.say("Unit tests (contracts/unit-tests.json):", "bold")
        passed = [r.id for r in report.results if r.status == "pass"]
        if passed:
            self.say_wrapped(f"  pass  {' '.join(passed)}", "green")
        width = min(self.width or shutil_width(), 100)
        for r in report.results:
            if r.status != "pass":
                self.say("")
                for i, line in enumerate(view.failure_lines(r, width)):
                    self.say(line, "bold red" if i == 0 else None)
        self.say(("\n" if len(passed) < len(report.results) else "") + view.coverage_line(report.coverage))
        self.say(view.summary_line(report), "bold green" if report.ok else "bold red")
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

        cells = [[_cell(c, t, v) for c, t, v in zip(shown.columns, shown.types, r, strict=True)] for r in shown.rows]
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
        tests = (f"; the acceptance tests could not run: {result.tests_error}" if result.tests_error else
                 f", tests {s.get('passed', 0)}/{s.get('total', 0)} passed")
        print(f"Wrote {result.path} ({result.bytes / 1e6:.1f} MB; build {result.build}): {result.actions} actions, "
              f"{len(result.charts)} charts{tests}", file=self.out)
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


def _csv_value(value: object) -> object:
    """A raw value as the exports' CSV (DuckDB's COPY) writes it: booleans true/false, NULL empty."""
    return "" if value is None else ("true" if value else "false") if isinstance(value, bool) else value


def _cell(column: str, kind: str, value: object) -> str:
    """A value of a shown column as people read it, alike down the column: an id as written, money
    (DECIMAL) with two decimals and separators, a DOUBLE with four decimals (two, with separators,
    from 100 up), a count with separators."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number:
        return format_value(value)
    if column.endswith("_id") and kind.split("(")[0] in ("BIGINT", "INTEGER"):
        return str(value)
    if kind.startswith("DECIMAL"):
        return f"{float(value):,.2f}"  # type: ignore[arg-type]
    if kind in ("DOUBLE", "FLOAT", "REAL"):
        return format_value(float(value))  # type: ignore[arg-type]
    return f"{value:,}"
