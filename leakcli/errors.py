"""One exception root, typed subclasses, and the single mapping to exit codes (LEAK-SPEC §10)."""

from __future__ import annotations

import re
from enum import IntEnum
from typing import Any

MAX_LINE = 300  # characters of a one-line error


class ExitCode(IntEnum):
    OK = 0
    TESTS_FAILED = 1
    USAGE = 2  # usage error, invalid contract, blocking ambiguity, stale plan
    EXECUTION = 3  # bad data row, SQL error, locked database
    CHANGES = 4  # plan --detailed-exitcode: apply would change something
    INTERRUPTED = 130


class LeakError(Exception):
    """Root of every error leakcli reports to a user. Anything else is a bug. `remedy`: what to do,
    when the raiser gave no hint of its own."""

    exit_code: ExitCode = ExitCode.USAGE
    remedy: str | None = None

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        pointer: str | None = None,
        line: int | None = None,
        column: str | int | None = None,
        model: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        if file and line is None and pointer is None:  # "orders.csv:4", as a question locates a row
            head, sep, tail = file.rpartition(":")
            if sep and head and tail.isdigit():
                file, line = head, int(tail)
        self.message = message
        self.hint = hint
        self.file = file
        self.pointer = pointer
        self.line = line
        self.column = column
        self.model = model
        self.blocked = False  # raised for a blocking question of plan (apply changed nothing)

    @property
    def location(self) -> str:
        if not self.file:
            return ""
        loc = self.file
        if self.pointer is not None:
            loc += f"#{self.pointer}"
        if self.line is not None:
            loc += f":{self.line}"
            if isinstance(self.column, int):
                loc += f":{self.column}"
        return loc

    def one_line(self, limit: int = MAX_LINE) -> str:
        """`<culprit>: <what>; <what to do>` on one line of at most `limit` characters: control
        characters are shown escaped, and a line too long loses the middle of the culprit's path and
        then of the message, never the remedy (or the end of a path, where its name is)."""
        where, what = _printable(self.location), _printable(" ".join(self.message.split()))
        todo = self.hint or self.remedy
        hint = f"; {_printable(' '.join(todo.split()))}" if todo else ""
        line = f"{where}: {what}{hint}" if where else f"{what}{hint}"
        if len(line) <= limit:
            return line
        if where:
            where = _middle(where, max(24, limit // 3))
        culprit = len(where) + 2 if where else 0
        if limit - len(hint) - culprit < 40:  # a remedy longer than the line is shortened too, at its middle
            hint = _middle(hint, max(12, limit // 3))
        what = _head(what, max(limit - len(hint) - culprit, 12))
        return (f"{where}: {what}{hint}" if where else f"{what}{hint}")[:limit]

    def to_dict(self) -> dict[str, object]:
        return {
            "type": type(self).__name__,
            "message": self.message,
            "file": self.file,
            "pointer": self.pointer,
            "line": self.line,
            "column": self.column,
            "model": self.model,
            "hint": self.hint or self.remedy,
            "exit_code": int(self.exit_code),
        }


def _printable(text: str) -> str:
    """`text` with its control characters escaped: a newline in a path shows as \\n."""
    shown = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
    return re.sub(" {2,}", " ", shown).strip()


def _head(text: str, width: int) -> str:
    """The start of `text` in at most `width` characters, cut between words and never inside a path
    (a word with a '/'), ending in '...'."""
    if len(text) <= width:
        return text
    kept = ""
    for word in text.split(" "):
        if len(kept) + len(word) + 4 > width:
            if "/" not in word and len(kept) + 4 < width:  # part of a plain word, never of a path
                kept += (" " if kept else "") + word[: max(0, width - len(kept) - 5)]
            break
        kept += (" " if kept else "") + word
    return kept.rstrip(" ,;:") + "..."


def _middle(text: str, width: int) -> str:
    """`text` in at most `width` characters, its middle replaced by '...'."""
    if len(text) <= width:
        return text
    keep = width - 3
    return text[: keep // 2] + "..." + text[len(text) - (keep - keep // 2):]


class UsageError(LeakError):
    """A command line that cannot be carried out as written."""

    remedy = "see `leakcli --help`"


class ContractError(LeakError):
    """A contract file that is missing, malformed or violates its schema.

    `problems` holds every violation found, each itself a ContractError, so that all are reported at once.
    """

    remedy = "fix it and run `leakcli plan`"

    def __init__(self, message: str, *, problems: list[ContractError] | None = None, **kw: object):
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.problems = problems or []

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "problems": [p.to_dict() for p in self.problems]}


class CycleError(LeakError):
    def __init__(self, path: list[str], **kw: object):
        super().__init__(f"dependency cycle: {' -> '.join(path)}", **kw)  # type: ignore[arg-type]
        self.path = path


class RenderError(LeakError):
    """A template that cannot be read or rendered (syntax error, undefined name)."""

    remedy = "fix the template and run `leakcli plan`"


class BlockingAmbiguity(LeakError):
    """plan found open questions that apply may not guess."""

    remedy = None  # the question it names is what to do

    def __init__(self, message: str, ambiguities: list[dict[str, object]], **kw: object):
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.ambiguities = ambiguities

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "ambiguities": self.ambiguities}


class StalePlanError(LeakError):
    """A saved plan whose inputs changed since it was made."""

    remedy = "run `leakcli plan --out FILE` again"


class ExecutionError(LeakError):
    """DuckDB failed: a bad data row, a SQL error, a file it cannot write."""

    exit_code = ExitCode.EXECUTION
    remedy = "run it again with --debug to see where"

    def __init__(self, message: str, *, sql_path: str | None = None, **kw: object):
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.sql_path = sql_path


FULL_ERRNOS = (28, 122)  # ENOSPC (no bytes or no inodes left), EDQUOT (a quota reached)
FREE_SPACE = "free space (or inodes) on its disk and run it again"


def cannot_write(what: str, exc: OSError, file: str, hint: str | None = None) -> ExecutionError:
    """A write that failed (`exc`), as one ExecutionError (exit 3) naming the file: `cannot write
    <what>: <the OS's reason>`; a full disk, of bytes or of inodes, asks for room."""
    full = exc.errno in FULL_ERRNOS
    return ExecutionError(f"cannot write {what}: {exc.strerror or exc}", file=file,
                          hint=hint or (FREE_SPACE if full else None))


class DataError(ExecutionError):
    """A source file whose bytes do not match the manifest (row, column, encoding)."""

    remedy = "fix the file (or the manifest, if it is wrong) and run `leakcli plan`"


class LockedError(ExecutionError):
    """Another apply holds the build lock."""

    remedy = "wait for it to finish, or stop it"


class AuditFailure(LeakError):
    """A new build failed an error-severity acceptance test: it is not published (sqlmesh's AuditError)."""

    exit_code = ExitCode.TESTS_FAILED

    def __init__(self, failed: list[Any], **kw: object) -> None:
        first = failed[0]
        rows = f" ({first.failing_rows} failing row(s))" if first.failing_rows else ""
        super().__init__(f"build rejected: {first.id} {first.status}ed{rows}: {first.message or first.description}",
                         **kw)  # type: ignore[arg-type]
        self.failed = failed


class UnitTestFailure(LeakError):
    """A unit test of a model apply was about to build failed or could not run: nothing is built (exit 1).
    `failed` holds the results (id, model, status, message, location) of every such test."""

    exit_code = ExitCode.TESTS_FAILED

    def __init__(self, failed: list[Any], **kw: object) -> None:
        first = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        file, _, pointer = str(first.location).partition("#")
        super().__init__(f"unit test {first.id} of {first.model} {'failed' if first.status == 'fail' else 'errored'}"
                         f"{more}: {first.message}; apply built nothing", file=file, pointer=pointer or None,
                         **kw)  # type: ignore[arg-type]
        self.failed = failed
        self.hint = self.hint or "the published build is unchanged; `leakcli test` shows the difference"


class Interrupted(LeakError):
    exit_code = ExitCode.INTERRUPTED


def is_interrupt(error: BaseException) -> bool:
    """Ctrl-C, including DuckDB's translation of it (a RuntimeError 'Query interrupted', or its
    InterruptException) raised from inside a running query."""
    if isinstance(error, KeyboardInterrupt) or type(error).__name__ == "InterruptException":
        return True
    return type(error) is RuntimeError and str(error).strip().lower() == "query interrupted"


def exit_code_for(error: BaseException) -> ExitCode:
    if isinstance(error, LeakError):
        return error.exit_code
    if is_interrupt(error):
        return ExitCode.INTERRUPTED
    raise error
