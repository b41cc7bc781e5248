"""Templates and contract fragments are review material, not trusted code: they render in Jinja's
immutable sandbox, with no globals but a bounded `range`, with arithmetic that cannot build huge
values, and within limits of time and output size. Anything else is a RenderError naming the
template and its line."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from leakcli.errors import RenderError

if TYPE_CHECKING:
    from jinja2 import Template
    from jinja2.runtime import Context

MAX_OUTPUT = 2_000_000  # characters of SQL one template may render
MAX_VALUE = 100_000  # items or characters a `*` or `**` may build


class RenderTimeout(Exception):
    """Raised inside a render that runs past its time limit."""


def environment() -> object:
    """The sandboxed Jinja environment, with StrictUndefined."""
    from jinja2 import StrictUndefined
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Sandbox(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context: Context, operator: str, left: object, right: object) -> object:
            if operator == "**" and _number(right) > 64:
                raise SecurityError(f"the power {left!r} ** {right!r} is too large")
            if operator == "*":
                for seq, times in ((left, right), (right, left)):
                    if isinstance(seq, (str, list, tuple)) and _number(times) * max(len(seq), 1) > MAX_VALUE:
                        raise SecurityError(f"repeating a value {times!r} times is too large")
            return super().call_binop(context, operator, left, right)

    env = Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.globals = {"range": env.globals["range"]}  # no cycler, joiner, namespace, lipsum, dict
    return env


def _number(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def render(template: Template, context: dict[str, object], seconds: float) -> str:
    """Render within the limits; a limit or a sandbox refusal is a RenderError (its line is added
    by the caller)."""
    pieces: list[str] = []
    size = 0
    with _time_limit(seconds):
        for piece in template.generate(context):
            size += len(piece)
            if size > MAX_OUTPUT:
                raise RenderError(f"renders more than {MAX_OUTPUT:,} characters of SQL")
            pieces.append(piece)
    return "".join(pieces)


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """SIGALRM interrupts a render that loops too long (main thread only; elsewhere no limit)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    if signal.getitimer(signal.ITIMER_REAL)[0]:  # an outer limit is running (a nested render)
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise RenderTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
