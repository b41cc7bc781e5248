"""The answer as a person reads it at the end of `apply` (and `verify`): what the window is, where the
data ends and what a gap means, said once; then each action to take (act, emerging, stopped) in full,
and the ones within noise as one line that says how to list them. It fits an 80x50 terminal on the
real shop; a synthetic build says so on the answer itself, with where the real CSVs go."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from leakcli.contracts.actions import Action
from leakcli.contracts.records import Growth
from leakcli.paths import DEFAULT_RAW

QUIET = ("noise",)  # statuses summed up in one line
REAL_DATA = f"{DEFAULT_RAW}/"


@dataclass(frozen=True)
class Answer:
    """What the answer block shows."""

    model: str  # the priority mart
    actions: Sequence[Action]  # the first top_actions of it, in rank order
    counts: dict[str, int]  # actions by status, all of them
    status_line: str  # "1 action to take now, 1 emerging leak, ..."
    growth: Growth | None
    synthetic: bool
    all_label: str = "(all)"
    lookback: int | None = None  # priority_lookback_months: a window shorter than it is all the data


def lines(answer: Answer, width: int | None) -> list[tuple[str, str | None]]:
    """The answer as (line, style) pairs; `width` wraps the texts (None: one line each, for a pipe)."""
    out: list[tuple[str, str | None]] = []
    if answer.synthetic:
        out += [(t, "bold yellow") for t in _wrap(
            "SYNTHETIC DATA, not the shop's: put the Maven CSVs in " + REAL_DATA + " (or name their folder with "
            "--data-dir) and run `leakcli apply` again.", width, "")]
    total = sum(answer.counts.values()) or len(answer.actions)
    out += [(t, "bold") for t in _wrap(f"The answer ({answer.model}): {answer.status_line or f'{total} actions'}",
                                       width, "")]
    context = _context(answer)
    if context:
        out += [(t, "dim") for t in _wrap(context, width, "")]
    mark = " [synthetic]" if answer.synthetic else ""
    loud = [a for a in answer.actions if a.status not in QUIET]
    quiet = [a for a in answer.actions if a.status in QUIET]
    for a in loud:
        out.append(("", None))
        head = f"#{a.rank} {a.status}{mark} · {_what(a, answer.all_label)} · {_figures(a)}"
        out += [(t, _STYLE.get(a.status)) for t in _wrap(head, width, "", "   ")]
        out += [(t, None) for t in _wrap(a.text, width, "   ")]
    hidden = total - len(answer.actions)
    if quiet:
        gaps = sorted(a.gap_usd for a in quiet)
        zs = sorted(a.z for a in quiet if a.z is not None)
        span = f"gaps ${gaps[-1]:,.0f} to ${gaps[0]:,.0f}" if len(gaps) > 1 else f"gap ${gaps[0]:,.0f}"
        span += f", z {zs[0]:.1f} to {zs[-1]:.1f}" if len(zs) > 1 else ""
        out.append(("", None))
        out += [(t, "dim") for t in _wrap(
            f"{len(quiet)} within noise ({span}): a gap of that size is what chance alone gives; no action. "
            f"List them: leakcli show {answer.model} --where \"action_status = 'noise'\"", width, "")]
    if hidden > 0:
        out += [(t, "dim") for t in _wrap(f"and {hidden} more action(s) past the first {len(answer.actions)} "
                                          f"(thresholds.top_actions): leakcli show {answer.model} --limit {total}",
                                          width, "")]
    return out


_STYLE = {"act": "bold red", "emerging": "bold magenta", "stopped": "yellow"}


def _context(answer: Answer) -> str:
    """The window, where the data ends, and what gap and share mean: once, above the actions."""
    parts = []
    window = next((a.window for a in answer.actions if a.window), None)
    g = answer.growth
    if window is not None:
        months = _months(window)
        short = (f"; priority_lookback_months is {answer.lookback}, so the window is all the data"
                 if answer.lookback is not None and months < answer.lookback else "")
        parts.append(f"Window {window[0]}..{window[1]} ({months} month{'s' if months != 1 else ''}{short})")
    if g is not None and g.data_ends is not None:
        end = g.data_ends
        partial = f", {end.month} holds {end.days} of {end.of} days" if end.partial else ""
        parts.append(f"data ends {end.at}{partial}")
    head = "; ".join(parts)
    return (f"{head}. " if head else "") + ("A gap is what an action's sessions earned less than its baseline "
                                             "would have in the same months, summed over the window, in USD; "
                                             "share is its part of all actions' gaps.")


def _months(window: tuple[str, str]) -> int:
    (y0, m0), (y1, m1) = (map(int, w.split("-")) for w in window)
    return (y1 - y0) * 12 + (m1 - m0) + 1


def _what(a: Action, all_label: str) -> str:
    if a.scope == "device":
        return f"device {a.label(all_label)}"
    return a.label(all_label)


def _figures(a: Action) -> str:
    if a.status == "emerging" and a.recent_gap_usd is not None:
        return (f"recent gap ${a.recent_gap_usd:,.0f} · z {_num(a.recent_z)}, q {_q(a.recent_q)} "
                f"(window: ${a.gap_usd:,.0f}, q {_q(a.q)})")
    share = f" ({a.share:.1%})" if a.share is not None else ""
    return f"gap ${a.gap_usd:,.0f}{share} · z {_num(a.z)}, q {_q(a.q)}"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _q(value: float | None) -> str:
    """A q value: "<0.01" below a hundredth (never a certainty that is not), three decimals below 0.1
    (0.0494 is not 0.05: near the false-discovery rate the third decimal decides), else two."""
    if value is None:
        return "n/a"
    return "<0.01" if value < 0.01 else f"{value:.3f}" if value < 0.1 else f"{value:.2f}"


def _wrap(text: str, width: int | None, indent: str, then: str | None = None) -> list[str]:
    if width is None:
        return [indent + text]
    return textwrap.wrap(text, max(width - 1, 40), initial_indent=indent,
                         subsequent_indent=indent if then is None else then, break_long_words=False,
                         break_on_hyphens=False) or [indent]
