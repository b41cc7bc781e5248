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


def inline_params(call: str, params: dict[str, object]) -> str:
    """A call (read_csv) with its parameters written as literals, for a view, which cannot hold
    parameters. The values are the manifest's column types, delimiters and null tokens, and a path,
    each quoted as a literal."""
    for name in sorted(params, key=len, reverse=True):
        call = call.replace(f"${name}", _literal(params[name]))
    return call


def _literal(value: object) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{sql_literal(k)}: {sql_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(sql_literal(v) for v in value) + "]"
    return sql_literal(value)


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), text.strip())
