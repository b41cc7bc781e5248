"""Rows written by hand (the given rows of a unit test) as typed relations, and which of their values
do not cast to their declared types. Values reach DuckDB as text parameters and are cast by DuckDB
itself, the way it reads a CSV file: no value is pasted into SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from leakcli.engine.connection import execute, translated
from leakcli.engine.sqltext import quote_ident

if TYPE_CHECKING:
    from leakcli.engine.connection import Connection


def create_rows(con: Connection, relation: str, columns: Sequence[tuple[str, str]],
                rows: Sequence[Sequence[str | None]]) -> None:
    """The temporary table `relation` with `columns` (name, DuckDB type) holding `rows`, each a value
    per column as text (None: NULL), cast to its column's type."""
    cols = ", ".join(f"{quote_ident(name)} {typ}" for name, typ in columns)
    execute(con, f"create or replace temp table {quote_ident(relation)} ({cols})")
    insert_rows(con, relation, columns, rows)


def refill(con: Connection, relation: str, columns: Sequence[tuple[str, str]],
           rows: Sequence[Sequence[str | None]]) -> None:
    """The table made by create_rows emptied and filled with `rows` (its definition, and so what was
    prepared on it, unchanged)."""
    execute(con, f"delete from {quote_ident(relation)}")
    insert_rows(con, relation, columns, rows)


def insert_rows(con: Connection, relation: str, columns: Sequence[tuple[str, str]],
                rows: Sequence[Sequence[str | None]]) -> None:
    if not rows or not columns:
        return
    casts = ", ".join(f"cast(r[{i}] as {typ})" for i, (_, typ) in enumerate(columns, start=1))
    execute(con, f"insert into {quote_ident(relation)} select {casts} from unnest(cast($rows as varchar[][])) as t(r)",
            {"rows": [list(row) for row in rows]})


def cast_failures(con: Connection, values: Sequence[tuple[str, str | None]]) -> list[int]:
    """The positions of the values (DuckDB type, text) that do not cast to their type (NULL always does)."""
    by_type: dict[str, list[tuple[int, str]]] = {}
    for i, (typ, text) in enumerate(values):
        if text is not None:
            by_type.setdefault(typ, []).append((i, text))
    failed: list[int] = []
    for typ, items in sorted(by_type.items()):
        with translated():
            found = con.execute(f"select i from unnest(cast($texts as varchar[])) with ordinality as t(v, i) "
                                f"where try_cast(v as {typ}) is null order by i",
                                {"texts": [text for _, text in items]}).fetchall()
        failed += [items[int(i) - 1][0] for (i,) in found]
    return sorted(failed)


def typed_query(con: Connection, sql: str) -> tuple[list[tuple[str, str]], list[tuple[object, ...]]]:
    """The columns (name, DuckDB type) and rows of a query, in the order it returns them."""
    with translated():
        cur = con.execute(sql)
        columns = [(str(d[0]), str(d[1])) for d in cur.description or []]
        return columns, [tuple(r) for r in cur.fetchall()]




def columns_of(con: Connection, sql: str) -> list[tuple[str, str]]:
    """The columns (name, DuckDB type) a query returns, bound without running it."""
    with translated():
        return [(str(r[0]), str(r[1])) for r in con.execute(f"describe {sql}").fetchall()]
