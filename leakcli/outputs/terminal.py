"""Everything a person or a program sees. stdout carries data (one JSON document with --json);
notices, progress and errors go to stderr. Rich decoration only when the stream is a terminal."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO, cast

from leakcli.errors import MAX_LINE, BlockingAmbiguity, ContractError, LeakError
from leakcli.outputs.formats import format_value, verify_markdown
from leakcli.plan.changes import describe_value
from leakcli.progress import LONG

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status

    from leakcli.build.apply import ApplyResult
    from leakcli.build.records import ProgressInfo
    from leakcli.build.verify import VerifyReport
    from leakcli.contracts.questions import Question
    from leakcli.contracts.records import ModelStep, Plan
    from leakcli.outputs.diff import DiffResult
    from leakcli.outputs.show import Shown

LAYERS = ("staging", "intermediate", "mart")
NUMERIC = {"BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER", "DOUBLE", "FLOAT",
           "DECIMAL", "REAL"}
ACTION_SYMBOL = {"create": "+", "rebuild": "~", "unchanged": "=", "skip": "."}
CHANGE_STYLE = {"+": "green", "~": "yellow", "-": "red"}
SEVERITY_STYLE = {"blocking": "bold red", "warning": "yellow", "info": "dim"}
STATUS_STYLE = {"act": "bold red", "stopped": "yellow", "noise": "dim",
                "pass": "green", "success": "green", "fail": "bold red", "error": "bold red", "warn": "yellow",
                "skipped": "dim", "unchanged": "dim", "copied": "dim"}


def _is_tty(stream: TextIO) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()


class Reporter:
    """Everything a command shows: data on stdout (one JSON document with --json), notices, progress and
    errors on stderr; Rich tables only on a terminal."""

    def __init__(self, *, json_mode: bool = False, stdout: TextIO | None = None,
                 stderr: TextIO | None = None) -> None:
        self.json_mode = json_mode
        self.out = stdout or sys.stdout
        self.err = stderr or sys.stderr
        self.rich = _is_tty(self.out) and not json_mode
        self.err_tty = _is_tty(self.err)
        self._status: Status | None = None
        self._out_console: Console | None = None

    # -- stderr -----------------------------------------------------------------------------------
    def notice(self, message: str) -> None:
        print(f"leakcli: {message}", file=self.err, flush=True)

    def error(self, exc: LeakError) -> None:
        """One line per problem, each at most MAX_LINE characters: the first is the error."""
        limit = MAX_LINE - len("leakcli: error: ")
        print(f"leakcli: error: {exc.one_line(limit)}", file=self.err, flush=True)
        if isinstance(exc, ContractError):
            for problem in exc.problems[1:]:
                print(f"leakcli: error: {problem.one_line(limit)}", file=self.err)
        if isinstance(exc, BlockingAmbiguity):
            for a in exc.ambiguities[1:]:
                print(f"leakcli: blocking: {a['location']}: {a['question']}"[:MAX_LINE], file=self.err)

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

            self._status = Console(file=self.err).status(f"{label} ...")
            self._status.start()

    def finished(self, label: str, seconds: float) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
        if seconds >= LONG:
            if self.err_tty:
                print(f"{label}: {seconds:.1f}s", file=self.err, flush=True)
            else:
                self._log(label, seconds)

    def _log(self, label: str, seconds: float) -> None:
        import datetime as dt

        stamp = dt.datetime.now().isoformat(timespec="seconds")
        print(f"leakcli: {stamp} {label}: {seconds:.1f}s", file=self.err, flush=True)

    # -- stdout -----------------------------------------------------------------------------------
    def emit_json(self, doc: Mapping[str, object]) -> None:
        self.out.write(json.dumps(doc, indent=2, default=str) + "\n")
        self.out.flush()

    def _table(self, title: str, columns: list[str], rows: list[list[str]], numeric: list[bool] | None = None,
               status: int | None = None) -> None:
        """A table; on a terminal a Rich one, with column `status` coloured by its value."""
        if self.rich:
            from rich.table import Table
            from rich.text import Text

            table = Table(title=title, title_justify="left")
            for i, col in enumerate(columns):
                table.add_column(col, overflow="fold", justify="right" if numeric and numeric[i] else "left")
            for row in rows:
                table.add_row(*(Text(v, style=STATUS_STYLE.get(v.lower(), "") if i == status else "")
                                for i, v in enumerate(row)))
            self._console().print(table)
        else:
            print(title, file=self.out)
            widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c)
                      for i, c in enumerate(columns)]
            right = numeric or [False] * len(columns)
            for row in [columns, *rows]:
                print("  ".join(v.rjust(w) if r else v.ljust(w) for v, w, r in zip(row, widths, right, strict=True))
                      .rstrip(), file=self.out)
        print(file=self.out)

    def plan(self, plan: Plan) -> None:
        if self.json_mode:
            return self.emit_json(plan.to_dict())
        blocking = plan.blocking
        if blocking:  # first and last: they are what stands between the plan and apply
            self._blocking(blocking)
        self._say(f"Read {len(plan.read)} files:")
        for path in plan.read:
            self._say(f"  {path}")
        d = plan.dataset
        self._say(f"\nDataset: {d.kind} at {d.path} (chosen by {d.origin})"
                  + (", generated by apply" if d.pending else ""))
        counts = {s: sum(a.severity == s for a in plan.ambiguities) for s in ("blocking", "warning", "info")}
        self._say(f"\nQuestions: {counts['blocking']} blocking, {counts['warning']} warning, {counts['info']} info")
        for a in sorted(plan.ambiguities, key=lambda a: ("blocking", "warning", "info").index(a.severity)):
            self._say(f"  [{a.severity}] {a.id} {a.code.value} at {a.location}", SEVERITY_STYLE[a.severity])
            self._say(f"      {a.question}")
        self._dag(plan)
        self._changes(plan)
        if blocking:
            self._blocking(blocking)
            self._say("Apply will not run until the blocking questions are answered.", "bold red")
            return None
        actions = [m.action for m in plan.models]
        self._say(f"\nApply will: create {actions.count('create')}, rebuild {actions.count('rebuild')}, "
                  f"keep {actions.count('unchanged')} unchanged, skip {actions.count('skip')}.", "bold")
        self._say(f"Plan fingerprint: {plan.fingerprint}")
        return None

    def _blocking(self, blocking: list[Question]) -> None:
        self._say(f"\nBlocked: {len(blocking)} blocking question(s) open:", "bold red")
        for a in blocking:
            self._say(f"  ✗ {a.id} {a.code.value} at {a.location}: {a.question}", "red")
        self._say("")

    def _changes(self, plan: Plan) -> None:
        """Terraform's way: contract values by pointer, then each model with its SQL diff."""
        if plan.contract_changes is None:
            built = any(m.action != "create" for m in plan.models)
            self._say("\nContract changes: not known; the published build does not say which contracts it was "
                      "made from (an older leakcli built it)." if built else
                      "\nChanges: nothing is published yet; every model is new.")
        else:
            self._say(f"\nContract changes since the published build: {len(plan.contract_changes) or 'none'}")
            for ch in plan.contract_changes:
                value = (f"{describe_value(ch.old)} -> {describe_value(ch.new)}" if ch.op == "~"
                         else describe_value(ch.new if ch.op == "+" else ch.old))
                self._say(f"  {ch.op} {ch.file}#{ch.pointer}: {value}", CHANGE_STYLE[ch.op])
        self._say("\nModels:")
        for m in plan.models:
            symbol = ACTION_SYMBOL[m.action]
            self._say(f"  {symbol} {m.name}: {m.action} ({m.reason})", CHANGE_STYLE.get(symbol, "dim"))
            for line in m.diff or []:
                style = ("cyan" if line.startswith("@@") else "bold" if line.startswith(("---", "+++"))
                         else "green" if line.startswith("+") else "red" if line.startswith("-") else None)
                self._say(f"      {line}", style)

    def _say(self, text: str, style: str | None = None) -> None:
        if self.rich and style:
            self._console().print(text, style=style, markup=False, highlight=False, soft_wrap=True)
        else:
            print(text, file=self.out)

    def _console(self) -> Console:
        if self._out_console is None:
            from rich.console import Console

            self._out_console = Console(file=self.out)
        return self._out_console

    def _dag(self, plan: Plan) -> None:
        w = self.out
        rows = {s.table: s for s in plan.sources}
        print("\nDAG (build order " + " -> ".join(plan.order) + "):" if plan.order else
              "\nDAG: no build order (see the questions above)", file=w)
        if self.rich:
            from rich.console import Console
            from rich.tree import Tree

            tree = Tree("sources")
            for t, s in rows.items():
                tree.add(f"{t} ({s.rows:,} rows)" if s.rows is not None else t)
            for layer in LAYERS:
                branch = tree.add(layer)
                for m in (m for m in plan.models if m.layer == layer):
                    inputs = ", ".join(m.depends_on + m.sources)
                    branch.add(f"{ACTION_SYMBOL[m.action]} {m.name} <- {inputs}")
            Console(file=w).print(tree)
            return
        print("  sources", file=w)
        for t, s in rows.items():
            print(f"    {t}" + (f" ({s.rows:,} rows)" if s.rows is not None else ""), file=w)
        for layer in LAYERS:
            print(f"  {layer}", file=w)
            for m in (m for m in plan.models if m.layer == layer):
                print(f"    {ACTION_SYMBOL[m.action]} {m.name} <- {', '.join(m.depends_on + m.sources)}", file=w)

    def apply(self, result: ApplyResult) -> None:
        if self.json_mode:
            return self.emit_json(result.to_dict())
        rows = [[r.name, r.action, r.status, "" if r.rows is None else f"{r.rows:,}",
                 f"{r.seconds:.2f}"] for r in result.results]
        self._table(f"Built {result.database} in {result.seconds:.2f}s "
                    f"(dataset: {result.plan.dataset.kind} at {result.plan.dataset.path})",
                    ["model", "action", "status", "rows", "seconds"], rows, [False, False, False, True, True], status=2)
        if result.top_actions:
            keys = result.segment_keys
            counts = f": {result.status_line}" if result.status_line else ""
            self._table(f"Top priority actions ({result.priority_model}){counts}",
                        ["rank", "status", "scope", *keys, "gap usd", "z", "q", "share", "primary leak", "action"],
                        [[str(a["priority_rank"]), str(a.get("action_status", "")), str(a["action_scope"]),
                          *(str(a[k]) for k in keys), f"{_number(a['gap_usd']):,.0f}", _fixed(a.get("gap_z"), 1),
                          _fixed(a.get("q_value"), 2), f"{_number(a['share_of_total_gap']):.1%}",
                          str(a["primary_leak"]), str(a["recommended_action"])] for a in result.top_actions],
                        [True, False, False, *[False] * len(keys), True, True, True, True, False, False], status=1)

    def verify(self, report: VerifyReport, fmt: str = "table") -> None:
        if self.json_mode:
            return self.emit_json(report.to_dict())
        if fmt == "markdown":
            self.out.write(verify_markdown(report))
            return None
        rows = [[r.id, r.status.upper(), r.severity, r.model, r.kind, str(r.failing_rows),
                 r.message or r.description] for r in report.results]
        s = report.summary
        self._table(f"Acceptance tests on {report.database}: {s['passed']}/{s['total']} passed, "
                    f"{s['failed']} failed, {s['warned']} warned, {s['errored']} errored",
                    ["id", "status", "severity", "model", "kind", "failing", "detail"], rows, status=1)
        for r in report.results:
            if r.status != "pass" and r.sample:
                print(f"{r.id} sample: {json.dumps(r.sample, default=str)}", file=self.out)

    def diff(self, result: DiffResult) -> None:
        if self.json_mode:
            return self.emit_json(result.to_dict())
        self._say(f"Diff: {result.old} -> {result.new}", "bold")
        for m in result.models:
            grain = ", ".join(m.grain)
            if m.status != "compared":
                self._say(f"\n{'+' if m.status == 'added' else '-'} {m.model}: only in the "
                          f"{'new' if m.status == 'added' else 'old'} build ({max(m.rows_old, m.rows_new):,} rows)",
                          CHANGE_STYLE["+" if m.status == "added" else "-"])
                continue
            symbol = "=" if m.same else "~"
            self._say(f"\n{symbol} {m.model} (grain: {grain}): {m.rows_old:,} -> {m.rows_new:,} rows; "
                      f"{m.added:,} added, {m.removed:,} removed, {m.changed:,} changed",
                      "dim" if m.same else "yellow")
            for col in m.columns_added:
                self._say(f"    + column {col}", "green")
            for col in m.columns_removed:
                self._say(f"    - column {col}", "red")
            for side, sign in (("added", "+"), ("removed", "-")):
                for row in getattr(m, f"samples_{side}"):
                    self._say(f"    {sign} {_key(row)}", CHANGE_STYLE[sign])
            for ch in m.column_changes:
                self._say(f"    ~ {ch.column}: {ch.rows:,} row(s)", "yellow")
                for s in ch.samples:
                    key = _key(cast(Mapping[str, object], s["key"]))
                    self._say(f"        {key}: {format_value(s['old'])} -> {format_value(s['new'])}")
        moves = [mv for mv in result.moves if mv.moved]
        self._say(f"\nPriority list ({result.priority_model}): "
                  + (f"{len(moves)} move(s)" if moves else "no rank or gap moved"), "bold")
        symbols = {"entered": "+", "left": "-", "up": "↑", "down": "↓", "same": "="}
        for mv in moves:
            rank = (f"new at {mv.new_rank}" if mv.kind == "entered" else f"was {mv.old_rank}" if mv.kind == "left"
                    else f"{mv.old_rank} -> {mv.new_rank}")
            gap = f"gap {format_value(mv.old_gap)} -> {format_value(mv.new_gap)}"
            if mv.old_status != mv.new_status:
                gap += f"; status {mv.old_status or '-'} -> {mv.new_status or '-'}"
            elif mv.new_status:
                gap += f"; {mv.new_status}"
            style = {"entered": "green", "left": "red", "up": "green", "down": "yellow"}.get(mv.kind)
            self._say(f"  {symbols[mv.kind]} {rank}: {_key(mv.key)}  {gap}", style)
        return None

    def lines(self, title: str, items: list[str], doc: Mapping[str, object]) -> None:
        if self.json_mode:
            return self.emit_json(doc)
        print(title, file=self.out)
        for item in items:
            print(f"  {item}", file=self.out)

    def show(self, shown: Shown, fmt: str = "table", vertical: bool = False) -> None:
        """Rows of a model: a table that fits the terminal, else one record at a time (psql's \\x);
        `csv` and `--json` carry the raw values."""
        if self.json_mode:
            return self.emit_json(shown.to_dict())
        if fmt == "csv":
            import csv

            writer = csv.writer(self.out, lineterminator="\n")
            writer.writerow(shown.columns)
            writer.writerows(["" if v is None else v for v in r] for r in shown.rows)
            return None
        import shutil

        cells = [[format_value(v) for v in r] for r in shown.rows]
        widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(shown.columns)]
        width = shutil.get_terminal_size((100, 24)).columns
        title = f"{shown.model}: {len(cells)} row(s)"
        if not vertical and sum(widths) + 2 * (len(widths) - 1) <= width:
            numeric = [t.split("(")[0] in NUMERIC for t in shown.types]
            return self._table(title, shown.columns, cells, numeric)
        print(title, file=self.out)
        key = max(len(c) for c in shown.columns)
        for i, row in enumerate(cells, start=1):
            self._say(f"-[ row {i} ]" + "-" * max(0, min(width, 60) - len(f"-[ row {i} ]")), "bold")
            for col, value in zip(shown.columns, row, strict=True):
                print(f"{col.ljust(key)} | {value}", file=self.out)
        return None

    def rows(self, title: str, columns: list[str], rows: list[list[object]], doc: Mapping[str, object]) -> None:
        if self.json_mode:
            return self.emit_json(doc)
        self._table(title, columns, [["" if v is None else str(v) for v in r] for r in rows])


def _key(row: Mapping[str, object]) -> str:
    return " / ".join(str(v) for v in row.values())


def _fixed(value: object, digits: int) -> str:
    """A statistic with `digits` decimals; empty when there is none (an older build, or no variance)."""
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""


def _number(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) else float("nan")
