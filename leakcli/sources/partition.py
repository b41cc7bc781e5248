"""Where changed rows belong (LEAK-SPEC §11): the join contracts' partition turned into SQL.

Every row of every stage-1 model belongs to one session month, reached by key, never by its own
dates: a changed source row dirties its key (old and new value), a key reaches other keys through
the model the partition names (an order its session), and a session its month. Plan traces the
changed rows of the files themselves (their source columns; a session's month from its time, as the
partition says); apply traces the rows its staging models made of them (their own month column).
Either way the old side is the published build's staging tables, and the answer is a few small
temporary tables on the caller's connection:

    leak_keys__<key>   (value, file, row)  every key value a changed row reaches, by file and row
    leak_months        (month, file, row)  the months those keys belong to, old and new
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from leakcli.engine.connection import execute, rows_as_tuples
from leakcli.engine.sqltext import quote_ident, sql_literal

if TYPE_CHECKING:
    from leakcli.contracts.documents import Partition as PartitionContract
    from leakcli.contracts.load import Contracts
    from leakcli.engine.connection import Connection

Level = Literal["source", "model"]  # what the new rows are: rows of the file, or the staging model's rows


@dataclass(frozen=True)
class Changed:
    """The changed rows of one source table on a connection: `new` their new version (added or changed;
    source or staging columns), `gone` the primary keys of the old rows removed or changed."""

    table: str
    new: str  # a relation
    gone: str | None = None  # a relation with one column, the primary key; None: nothing removed


@dataclass
class Traced:
    """What the changed rows reach: the temporary tables, and per table the months and their rows."""

    keys: dict[str, str] = field(default_factory=dict)  # key column -> its temporary table
    months: dict[str, dict[str, int]] = field(default_factory=dict)  # table -> YYYY-MM -> changed rows

    @property
    def every_month(self) -> list[str]:
        return sorted({m for months in self.months.values() for m in months})


def contract(c: Contracts) -> PartitionContract | None:
    return c.joins.partition


def model_of(c: Contracts, table: str) -> str | None:
    """The staging model the partition names for a source table (one row per source row)."""
    part = c.joins.partition
    return next((s.model for s in part.sources if s.table == table), None) if part else None


def primary_key(c: Contracts, table: str) -> str | None:
    """The single-column primary key of a source table (None for a composite one: not traced)."""
    pk = c.tables[table].primary_key
    return pk[0] if len(pk) == 1 else None


def trace(con: Connection, c: Contracts, changed: list[Changed], old: str, level: Level) -> Traced:
    """Trace the changed rows of `changed` to their keys and months. `old` prefixes the published
    build's tables on `con` ("published.main." for an attached build, "" in a build's own copy)."""
    part = c.joins.partition
    found = Traced()
    if part is None:
        return found
    by_table = {ch.table: ch for ch in changed}
    sources = {s.table: s for s in part.sources}

    def rows_of(table: str) -> str | None:  # the new rows of a source or its model, as their columns are named
        ch = by_table.get(table)
        return ch.new if ch is not None else None

    keys = [part.month.key, *(k.key for k in part.keys)]
    for key in dict.fromkeys(keys):
        parts = []
        for s in part.sources:
            ch, pk = by_table.get(s.table), primary_key(c, s.table)
            if s.key != key or ch is None or pk is None:
                continue
            file, column, ident = sql_literal(s.table), quote_ident(key), quote_ident(pk)
            parts.append(f"select n.{column} as value, {file} as file, cast(n.{ident} as varchar) as row "
                         f"from {ch.new} n")
            if ch.gone is not None:
                parts.append(f"select o.{column}, {file}, cast(o.{ident} as varchar) "
                             f"from {old}{quote_ident(s.model)} o where o.{ident} in (select {ident} from {ch.gone})")
        found.keys[key] = _table(con, key, _type(c, key), parts)
    for k in part.keys:  # a key reaches another (an order its session), old and new
        of = next((s.table for s in part.sources if s.model == k.model), None)
        pairs = f"select {quote_ident(k.key)} as a, {quote_ident(k.to)} as b from {old}{quote_ident(k.model)}"
        new = rows_of(of) if of else None
        if new is not None:
            pairs += f" union select {quote_ident(k.key)}, {quote_ident(k.to)} from {new}"
        execute(con, f"insert into {found.keys[k.to]} select m.b, d.file, d.row from {found.keys[k.key]} d "
                     f"join ({pairs}) m on m.a = d.value")
    month = part.month
    months = (f"select {quote_ident(month.key)} as a, {quote_ident(month.column)} as m "
              f"from {old}{quote_ident(month.model)}")
    new = rows_of(month.source) if month.source in sources else None
    if new is not None:
        value = (quote_ident(month.column) if level == "model"
                 else f"cast(date_trunc('month', {quote_ident(month.time)}) as date)")
        months += f" union select {quote_ident(month.key)}, {value} from {new}"
    execute(con, f"create or replace temp table leak_months as select distinct m.m as month, d.file, d.row "
                 f"from {found.keys[month.key]} d join ({months}) m on m.a = d.value where m.m is not null")
    _, counted = rows_as_tuples(con, "select file, strftime(month, '%Y-%m'), count(distinct row) from leak_months "
                                     "group by all order by all")
    for table, when, n in counted:
        found.months.setdefault(str(table), {})[str(when)] = int(str(n))
    return found


def _type(c: Contracts, key: str) -> str:
    """The type the registry declares for a key column (the staging models keep their sources' keys)."""
    return next((col.type for m in c.registry.models for col in m.columns if col.name == key), "VARCHAR")


def _table(con: Connection, key: str, kind: str, parts: list[str]) -> str:
    name = quote_ident(f"leak_keys__{key}")
    execute(con, f"create or replace temp table {name} (value {kind}, file varchar, row varchar)")
    if parts:
        execute(con, f"insert into {name} " + " union all ".join(parts))
    return name


def partition_values(c: Contracts, model: str, traced: Traced, changed: list[Changed]) -> str | None:
    """The SQL of the partition values an incremental model rebuilds: its source's changed keys (a
    staging model), the values of a traced key, or the months; None when the partition cannot tell."""
    part, spec = c.joins.partition, c.models[model]
    column = spec.partition_by
    if part is None or column is None:
        return None
    if column == part.column:
        return "select distinct month from leak_months"
    source = next((s.table for s in part.sources if s.model == model), None)
    if source is not None and column == primary_key(c, source):
        ch = next((x for x in changed if x.table == source), None)
        if ch is None:
            return "select null where false"
        pk = quote_ident(column)
        gone = f" union select {pk} from {ch.gone}" if ch.gone is not None else ""
        return f"select {pk} from {ch.new}{gone}"
    if column in traced.keys:
        return f"select distinct value from {traced.keys[column]}"
    return None
