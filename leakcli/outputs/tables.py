"""Tables as a person reads them. Piped (not a terminal), every row is one line, columns aligned, so
grep and cut work. On a terminal the table fits its width: numbers and short words never wrap, the
long text column wraps at words; when even that does not fit (an 80-column terminal), each row becomes
a small record: its key on one line, the figures on the next, the text wrapped below."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TextIO

if TYPE_CHECKING:
    from rich.console import Console

Kind = Literal["num", "text", "wrap"]
MIN_WRAP = 28  # the narrowest the wrapping column may become before rows turn into records
STATUS_STYLE = {"act": "bold red", "emerging": "bold magenta", "stopped": "yellow", "noise": "dim",
                "pass": "green", "success": "green", "fail": "bold red", "error": "bold red", "warn": "yellow",
                "skipped": "dim", "unchanged": "dim", "copied": "dim"}


@dataclass(frozen=True)
class Col:
    """A column: `num` right-aligned and never wrapped, `text` never wrapped, `wrap` the long text;
    `key` columns make a record's first line; `styled` cells are coloured by their value."""

    name: str
    kind: Kind = "text"
    key: bool = False
    styled: bool = False


def plain(out: TextIO, title: str, cols: list[Col], rows: list[list[str]]) -> None:
    """Every row on one line, aligned (not a terminal)."""
    print(title, file=out)
    widths = [max(len(c.name), *(len(r[i]) for r in rows)) if rows else len(c.name) for i, c in enumerate(cols)]
    for row in [[c.name for c in cols], *rows]:
        cells = [v.rjust(w) if c.kind == "num" else v.ljust(w) for v, w, c in zip(row, widths, cols, strict=True)]
        print("  ".join(cells).rstrip(), file=out)
    print(file=out)


def fitted(console: Console, title: str, cols: list[Col], rows: list[list[str]]) -> None:
    """A Rich table that fits the console's width, or records when it cannot."""
    from rich.table import Table
    from rich.text import Text

    width = console.width
    natural = [max(len(c.name), *(len(r[i]) for r in rows)) if rows else len(c.name) for i, c in enumerate(cols)]
    fixed = sum(w + 3 for w, c in zip(natural, cols, strict=True) if c.kind != "wrap") + 1
    wraps = any(c.kind == "wrap" for c in cols)
    if fixed + (MIN_WRAP + 3 if wraps else 0) > width:
        return records(console, title, cols, rows)
    table = Table(title=title, title_justify="left")
    for c in cols:
        table.add_column(c.name, justify="right" if c.kind == "num" else "left", no_wrap=c.kind != "wrap",
                         overflow="fold" if c.kind == "wrap" else "ellipsis")
    for row in rows:
        table.add_row(*(Text(v, style=STATUS_STYLE.get(v.lower(), "") if c.styled else "")
                        for v, c in zip(row, cols, strict=True)))
    console.print(table)
    console.print()


def records(console: Console, title: str, cols: list[Col], rows: list[list[str]]) -> None:
    """One record per row: the key columns, then `name value` of the others, then the long text."""
    from rich.text import Text

    width = max(console.width, 40)
    console.print(Text(title, style="bold"))  # wrapped at words, as the records below
    for row in rows:
        line = Text()
        for i, (v, c) in enumerate((v, c) for v, c in zip(row, cols, strict=True) if c.key and v):
            line.append("  " if i else "")
            line.append(v, style=STATUS_STYLE.get(v.lower(), "bold") if c.styled else "bold")
        console.print(line, soft_wrap=True)
        figures = " · ".join(f"{c.name}\u00a0{v}".replace(" ", "\u00a0")  # a figure never parts from its name
                             for v, c in zip(row, cols, strict=True) if not c.key and c.kind != "wrap" and v)
        for text in [figures, *(v for v, c in zip(row, cols, strict=True) if c.kind == "wrap" and v)]:
            for piece in textwrap.wrap(text, width - 4, break_long_words=False, break_on_hyphens=False):
                console.print(Text("    " + piece), soft_wrap=True)
        console.print()
