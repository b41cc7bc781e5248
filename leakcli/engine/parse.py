"""DuckDB's parser, asked without running anything: whether SQL is exactly one clean SELECT, and a
digest of what it means (its parse tree), both remembered across commands in the cache's `sql`
section (of this DuckDB version: another parser may judge otherwise); and the installed DuckDB's
version."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from leakcli.engine import signals_held
from leakcli.engine.sqltext import first_line
from leakcli.progress import count

if TYPE_CHECKING:
    from leakcli.cache import Cache, Section
    from leakcli.engine.connection import Connection


@functools.cache
def duckdb_version() -> str:
    """The installed DuckDB's version, from the name of its package metadata beside it: importing
    DuckDB costs about 0.1 s that a plan with nothing to parse or bind need not pay."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("duckdb")
    if spec is not None and spec.origin:
        found = list(Path(spec.origin).parent.parent.glob("duckdb-*.dist-info"))
        if len(found) == 1:
            return found[0].name.removeprefix("duckdb-").removesuffix(".dist-info")
    with signals_held():
        import duckdb

    return str(duckdb.__version__)


def sql_memo(cache: Cache) -> Section:
    """This module's section of the cache: `clean:<sha256 of SQL>` -> True (one clean SELECT) and
    `digest:<sha256 of SQL>` -> its sql_digest, by this DuckDB's parser."""
    return cache.section("sql", duckdb_version())


def _key(kind: str, sql: str) -> str:
    import hashlib

    return f"{kind}:{hashlib.sha256(sql.encode()).hexdigest()}"


def select_problem(sql: str, memo: Section | None = None) -> str | None:
    """Why `sql` is not exactly one SELECT that reads only relations (no table function, no file named
    as a table), by DuckDB's own parser; None when it is (or when `memo` knows it is)."""
    key = _key("clean", sql)
    if memo is not None and memo.get(key) is True:
        return None
    count("sql parsed")
    problem = _select_problem(sql)
    if problem is None and memo is not None:
        memo.put(key, True)
    return problem


def parse_ahead(sqls: list[str], memo: Section | None = None) -> None:
    """Ask DuckDB's parser for the trees of many SQL texts in one query (about five times faster
    than one query each); select_problem and sql_digest then find them parsed."""
    todo = sorted({sql for sql in sqls if sql not in _TREES
                   and not (memo is not None and memo.get(_key("clean", sql)) is True)})
    if len(todo) > 1:
        rows = _parser().execute("select json_serialize_sql(s) from unnest($sqls) with ordinality as t(s, i) "
                                 "order by i", {"sqls": todo}).fetchall()
        _TREES.update((sql, str(text)) for sql, (text,) in zip(todo, rows, strict=True))


_TREES: dict[str, str] = {}  # SQL text -> its parse tree as JSON text, parsed ahead


@functools.lru_cache(maxsize=1024)
def _select_problem(sql: str) -> str | None:
    import json

    tree = json.loads(_serialized(sql))
    if tree.get("error") or len(tree.get("statements", [])) != 1:
        return _statement_problem(sql, tree)
    return _tree_problem(tree)


def _statement_problem(sql: str, tree: dict[str, object]) -> str | None:
    """Why `sql` does not make one SELECT's tree, in the words of DuckDB's statement splitter."""
    with signals_held():
        import duckdb

    try:
        statements = _parser().extract_statements(sql)
    except duckdb.Error as exc:
        return f"does not parse: {first_line(str(exc))}"
    if len(statements) != 1:
        return f"holds {len(statements)} SQL statements where exactly one SELECT is allowed"
    if statements[0].type != duckdb.StatementType.SELECT:
        return f"is a {statements[0].type.name} statement where only a SELECT is allowed"
    if tree.get("error"):
        return f"does not parse: {tree.get('error_message', '')}"
    return _tree_problem(tree)


def _tree_problem(tree: dict[str, object]) -> str | None:
    """Why one SELECT's parse tree reads something other than relations; None when it does not."""
    for node in _nodes(tree):
        if node.get("type") == "TABLE_FUNCTION":
            function = node.get("function")
            name = function.get("function_name", "?") if isinstance(function, dict) else "?"
            return f"calls the table function {name}(); files are read only through source()"
        if node.get("type") == "BASE_TABLE":
            table = str(node.get("table_name", ""))
            if any(ch in table for ch in "./\\:"):
                return f"reads {table!r} directly; files are read only through source()"
            if node.get("catalog_name") or node.get("schema_name"):
                return f"names {table!r} in another schema or database; use ref() and source()"
    return None


def sql_digest(sql: str, memo: Section | None = None) -> str:
    """The sha256 of what `sql` means, by DuckDB's parse tree: comments, whitespace and layout do
    not change it (the fingerprint of a model, so such an edit rebuilds nothing)."""
    key = _key("digest", sql)
    digest = memo.get(key) if memo is not None else None
    if not isinstance(digest, str):
        count("sql parsed")
        digest = _sql_digest(sql)
        if memo is not None:
            memo.put(key, digest)
    return digest


def _sql_digest(sql: str) -> str:
    import hashlib
    import json

    with signals_held():
        import duckdb

    try:
        tree = json.loads(_serialized(sql))
    except (duckdb.Error, ValueError):  # what does not parse is fingerprinted as written
        tree = {"error": True}
    if tree.get("error"):
        return hashlib.sha256(sql.encode()).hexdigest()
    for node in _nodes(tree):
        node.pop("query_location", None)
        node.pop("query_location_length", None)
    return hashlib.sha256(json.dumps(tree, sort_keys=True).encode()).hexdigest()


@functools.lru_cache(maxsize=1024)
def _serialized(sql: str) -> str:
    """DuckDB's parse tree of `sql` as JSON text (json_serialize_sql runs nothing), once per SQL for
    both the one-SELECT check and the digest."""
    if sql in _TREES:
        return _TREES[sql]
    (text,) = _parser().execute("select json_serialize_sql($sql)", {"sql": sql}).fetchall()[0]
    return str(text)


@functools.cache
def _parser() -> Connection:
    """One in-memory connection that only parses (it runs nothing it is given)."""
    with signals_held():
        import duckdb

    return duckdb.connect()


def _nodes(tree: object) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    todo = [tree]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            found.append(item)
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return found

