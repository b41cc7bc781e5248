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


def with_clause(sql: str) -> tuple[list[str], int | None]:
    """The names of the CTEs of the top-level WITH clause of `sql`, and where the statement after it
    starts (the offset of its final SELECT; None without a WITH clause). Strings, quoted names,
    comments and parentheses are skipped as DuckDB reads them."""
    tokens = _tokens(sql)
    names: list[str] = []
    if not tokens or tokens[0][1].lower() != "with":
        return names, None
    i = 1
    if i < len(tokens) and tokens[i][1].lower() == "recursive":
        i += 1
    while i < len(tokens):
        name = tokens[i][1]
        names.append(name[1:-1].replace('""', '"') if name.startswith('"') else name)
        while i < len(tokens) and tokens[i][1] != "(":  # the CTE's name
            i += 1
        i = _after_parens(tokens, i)  # its column list, or its body
        while i < len(tokens) and tokens[i][1].lower() in ("as", "not", "materialized"):
            i += 1
            if i < len(tokens) and tokens[i][1] == "(":
                i = _after_parens(tokens, i)
        if i < len(tokens) and tokens[i][1] == ",":
            i += 1
            continue
        return names, tokens[i][0] if i < len(tokens) else None
    return names, None


def select_from_cte(sql: str, name: str) -> str | None:
    """`sql` with its final SELECT replaced by `select * from <name>`: what its CTE `name` holds."""
    names, end = with_clause(sql)
    if end is None or name not in names:
        return None
    return sql[:end] + f"select * from {quote_ident(name)}\n"


def _after_parens(tokens: list[tuple[int, str]], i: int) -> int:
    """The index after the parenthesis opened at `i` closes (i itself when no parenthesis opens there)."""
    if i >= len(tokens) or tokens[i][1] != "(":
        return i
    depth = 0
    while i < len(tokens):
        if tokens[i][1] == "(":
            depth += 1
        elif tokens[i][1] == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def _tokens(sql: str) -> list[tuple[int, str]]:
    """The offsets and texts of the words, quoted texts and punctuation of `sql`, comments left out."""
    out: list[tuple[int, str]] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch.isspace():
            i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif ch in "'\"":
            j = i + 1
            while j < n:
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:  # a doubled quote inside
                        j += 2
                        continue
                    break
                j += 1
            out.append((i, sql[i : j + 1]))
            i = j + 1
        elif ch.isalnum() or ch == "_":
            j = i
            while j < n and (sql[j].isalnum() or sql[j] in "_$"):
                j += 1
            out.append((i, sql[i:j]))
            i = j
        else:
            out.append((i, ch))
            i += 1
    return out
