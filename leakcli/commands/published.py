"""What the published build holds, as apply and verify report it: row counts, the first rows of the
priority model and how many of its actions have each status; from the build's summary while its
database is untouched, else from the database itself (read-only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from leakcli.contracts.actions import Action
from leakcli.engine.connection import connect, count_rows, describe, reading, rows_as_dicts, user_tables
from leakcli.engine.sqltext import quote_ident
from leakcli.store import state

if TYPE_CHECKING:
    from leakcli.context import Project
    from leakcli.contracts.load import Contracts
    from leakcli.contracts.records import Growth, Row
    from leakcli.engine.connection import Connection

STATUS_COLUMN = "action_status"  # of the priority model (LEAK-SPEC §7, revision 3)


def published_rows(project: Project, models: list[str]) -> dict[str, int]:
    """Row counts of published tables (a no-op apply still reports what its tables hold)."""
    paths = project.paths
    if not models or not paths.published.exists():
        return {}
    summary = state.read_summary(paths.published) if project.cache.enabled else None
    if summary is not None:
        return {m: summary.rows[m] for m in models if m in summary.rows}
    con = connect(paths.published, read_only=True, shown=paths.rel(paths.database))
    try:
        with reading(paths.rel(paths.database)):
            built = user_tables(con)
            return {m: count_rows(con, quote_ident(m)) for m in models if m in built}
    finally:
        con.close()


def published_growth(project: Project) -> Growth | None:
    """The published answer's months and window, and where its data ends (from its summary, else its tables)."""
    paths, c = project.paths, project.contracts
    if not paths.published.exists():
        return None
    summary = state.read_summary(paths.published) if project.cache.enabled else None
    if summary is not None and summary.growth is not None:
        return summary.growth
    con = connect(paths.published, read_only=True, shown=paths.rel(paths.database))
    try:
        with reading(paths.rel(paths.database)):
            return growth_of(con, c, [])
    finally:
        con.close()


def top_rows(project: Project) -> tuple[list[Action], dict[str, int]]:
    """The first actions of the published priority model in grain order, and how many actions it
    holds of each status (none when it was not built)."""
    paths, c = project.paths, project.contracts
    model, limit = c.catalog.priority.model, c.catalog.thresholds.top_actions
    summary = state.read_summary(paths.published) if project.cache.enabled else None
    if summary is not None and (model not in summary.tables or (model in summary.head and summary.statuses is not None
                                                                and limit <= summary.head_limit)):
        return _actions(c, summary.head.get(model, [])[:limit]), summary.statuses or {}
    con = connect(paths.published, read_only=True, shown=paths.rel(paths.database))
    try:
        with reading(paths.rel(paths.database)):
            if model not in user_tables(con):
                return [], {}
            return _actions(c, priority_head(con, c)), status_counts(con, c)
    finally:
        con.close()


def _actions(c: Contracts, rows: list[dict[str, object]] | list[Row]) -> list[Action]:
    return [Action.of(r, c.catalog.segment.keys) for r in rows]


def priority_head(con: Connection, c: Contracts) -> list[dict[str, object]]:
    """The first `top_actions` rows of the built priority model, in grain order."""
    model = c.catalog.priority.model
    return rows_as_dicts(con, f"select * from {quote_ident(model)} order by {grain_order(c, model)} limit $n",
                         {"n": c.catalog.thresholds.top_actions})


def status_counts(con: Connection, c: Contracts) -> dict[str, int]:
    """How many actions of the built priority model have each status (none for a model without one)."""
    model = quote_ident(c.catalog.priority.model)
    if STATUS_COLUMN not in dict(describe(con, f"select * from {model}")):
        return {}
    rows = rows_as_dicts(con, f"select {STATUS_COLUMN} as s, count(*) as n from {model} group by 1 order by 1")
    return {str(r["s"]): int(str(r["n"])) for r in rows}


def status_line(c: Contracts, counts: dict[str, int]) -> str:
    """"1 action to take now, 3 stopped leaks, 5 within noise", in the catalog's words and order."""
    return ", ".join(s.counted(counts.get(s.name, 0)) for s in c.catalog.priority.statuses) if counts else ""


def grain_order(c: Contracts, model: str) -> str:
    """An ORDER BY list of a model's grain: the order its rows are read in."""
    return ", ".join(quote_ident(k) for k in c.models[model].grain)


def growth_of(con: Connection, c: Contracts, rebuilt: list[str] | None,
              previous: Growth | None = None) -> Growth | None:
    """The months a built database holds, its priority window and where its data ends, from the
    tables the join contracts' partition names (None when it names none, or they are not built)."""
    from leakcli.contracts.records import Growth, Window
    from leakcli.plan.growth import data_end

    part = c.joins.partition
    if part is None or part.month.model not in user_tables(con):
        return None
    month, model = part.month, quote_ident(part.month.model)
    rows = rows_as_dicts(con, f"select list(distinct strftime({quote_ident(month.column)}, '%Y-%m')) as months, "
                              f"max({quote_ident(month.model_time)}) as latest from {model}")
    found = rows[0]
    months = sorted(str(m) for m in found["months"] or []) if isinstance(found["months"], list) else []
    n = c.catalog.thresholds.priority_lookback_months
    window = None
    if months:
        old = previous.window if previous is not None else None
        window = Window.model_validate({"from": months[-n:][0], "to": months[-1],
                                        "previous_from": old.from_ if old else None,
                                        "previous_to": old.to if old else None})
    import datetime as dt

    latest = found["latest"]
    when = dt.datetime.fromisoformat(latest) if isinstance(latest, str) else None
    return Growth(months_to_rebuild=rebuilt, months=len(months), window=window, data_ends=data_end(when))
