"""`show MODEL`: preview rows of a built model (read-only): chosen columns, a filter and an order
in DuckDB's SQL, checked like a template (one SELECT over the built tables, nothing else)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from leakcli.contracts.results import ShowOutput
from leakcli.errors import UsageError
from leakcli.jsonout import did_you_mean, jsonable

if TYPE_CHECKING:
    from leakcli.cache import Section
    from leakcli.context import Project
    from leakcli.engine.connection import Connection


@dataclass(frozen=True, kw_only=True)
class ShowRequest:
    """What `leakcli show` was asked: a model, columns, a filter, an order and a row limit."""

    model: str
    limit: int = 10
    columns: tuple[str, ...] = ()
    where: str | None = None
    order_by: str | None = None


@dataclass(frozen=True)
class Shown:
    """The rows shown, with their columns and DuckDB types."""

    model: str
    columns: list[str]
    types: list[str]
    rows: list[list[object]]
    total: int = 0  # rows of the model that --where keeps, shown or not

    def to_dict(self) -> dict[str, object]:
        """`show --json` (contracts/schemas/show-output.schema.json)."""
        return ShowOutput.model_validate(jsonable({
            "model": self.model, "columns": self.columns, "total": self.total,
            "rows": [dict(zip(self.columns, r, strict=True)) for r in self.rows]})).document()


def show_rows(project: Project, req: ShowRequest) -> Shown:
    """The first rows of a built model, read-only and locked down; --where and --order-by are checked as
    one SELECT over the model and nothing else."""
    from leakcli.contracts.load import model_names
    from leakcli.engine.connection import connect, reading
    from leakcli.engine.parse import sql_memo

    paths = project.paths
    shown = paths.rel(paths.database)
    if not paths.published.exists():
        raise UsageError("nothing is built yet", file=shown, hint="run `leakcli apply` first")
    if req.limit < 0:
        raise UsageError("must be 0 or more", file="--limit")
    con = connect(paths.published, read_only=True, shown=shown)
    try:
        with reading(shown):
            return _rows(con, req, shown, sql_memo(project.cache), model_names(project.root))
    finally:
        con.close()


def _rows(con: Connection, req: ShowRequest, shown: str, memo: Section, registry: list[str]) -> Shown:
    from leakcli.engine.connection import (
        QueryError,
        StorageError,
        count_rows,
        describe,
        lockdown,
        rows_as_dicts,
        user_tables,
    )
    from leakcli.engine.parse import select_problem
    from leakcli.engine.sqltext import quote_ident

    lockdown(con)
    tables = sorted(user_tables(con))
    if req.model not in tables and registry and req.model not in registry:
        raise UsageError(f"no model '{req.model}' in the registry{did_you_mean(req.model, registry)}",
                         file="contracts/model-registry.json", hint="name one of the models leakcli plan lists")
    if req.model not in tables:
        raise UsageError(f"model '{req.model}' is not built{did_you_mean(req.model, tables)}", file=shown,
                         hint="build it with `leakcli apply` (a build of --select leaves the others out)")
    relation = quote_ident(req.model)
    every = [name for name, _ in describe(con, f"select * from {relation}")]
    for col in req.columns:
        if col not in every:
            raise UsageError(f"'{req.model}' has no column '{col}'{did_you_mean(col, every)}", file="--columns")
    chosen = list(req.columns) or every
    sql = f"select {', '.join(quote_ident(c) for c in chosen)} from {relation}"
    for option, clause, text in (("--where", "where", req.where), ("--order-by", "order by", req.order_by)):
        if text is not None:
            if not text.strip():
                raise UsageError("is empty", file=option, hint="give a DuckDB expression, or leave it out")
            sql += f" {clause} {text}"
    problem = select_problem(sql, memo) if req.where or req.order_by else None
    if problem:
        raise UsageError(f"must be expressions over '{req.model}': the query {problem}", file="--where/--order-by",
                         hint="give a DuckDB expression over the model's columns")
    if req.order_by is None:  # a table's rows have no order of their own: its columns' order, grain first
        sql += f" order by {', '.join(quote_ident(c) for c in every)}"
    try:
        types = [t for _, t in describe(con, sql)]
        records = rows_as_dicts(con, f"{sql} limit $n", {"n": req.limit})
        where = f" where {req.where}" if req.where is not None else ""
        total = count_rows(con, f"(select 1 from {relation}{where})")
    except StorageError:
        raise
    except QueryError as exc:
        raise UsageError(exc.detail, file="--where/--order-by", hint="fix the expression") from None
    return Shown(req.model, chosen, types, [list(r.values()) for r in records], total)
