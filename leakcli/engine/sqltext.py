"""SQL text that leakcli writes itself: identifiers and literals quoted, relation names made.

Data values and paths never go through here: they reach DuckDB as parameters.
"""

from __future__ import annotations


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: object) -> str:
    """A SQL literal for a contract value: numbers as written, text single-quoted and escaped."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def source_relation(source: str, table: str) -> str:
    """The temporary relation a source table is loaded into for one run."""
    return f"source__{source}__{table}"


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), text.strip())
