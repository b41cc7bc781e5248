"""What a change of the source files means, as plan says it before anything is built (LEAK-SPEC §11):
per file the change and its rows, and the session months they touch; the months an incremental build
rebuilds out of how many; whether the priority window moves; where the data ends.

Plan runs no template: it reads the new rows of each changed file with leakcli's own typed read,
traces them through the join contracts' partition (a new session's month from its time, as the
partition says), and reads the published build's staging tables for everything already built, in
a database in memory with file access off. A rewritten file's rows are compared by key: rows added
and removed; which of the others changed, apply finds by building them (plan runs no template)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from leakcli.contracts.records import DataEnd, Growth, MonthRows, Window
from leakcli.engine.sqltext import quote_ident
from leakcli.sources.partition import Changed, primary_key, trace

if TYPE_CHECKING:
    from leakcli.context import Project
    from leakcli.contracts.questions import Questions
    from leakcli.engine.connection import Connection
    from leakcli.sources.checks import Loaded, SourceChecks

OLD = "published.main."


@dataclass
class FileRows:
    """The rows of one changed file, as plan counts them."""

    before: int | None
    after: int | None
    added: int = 0
    removed: int = 0
    changed: int | None = 0  # None: a rewritten file's, counted by apply
    months: list[MonthRows] = field(default_factory=list)


def plan_growth(project: Project, checks: SourceChecks, q: Questions) -> tuple[dict[str, FileRows], Growth | None]:
    """The rows and months of every traceable changed file, and what they mean for the build; nothing
    when no file changed that way (or nothing is published)."""
    from leakcli.engine.connection import connect, execute, lockdown

    changes = checks.traceable()
    database = project.paths.published
    if not changes or not database.exists() or project.contracts.joins.partition is None:
        return {}, None
    c = project.contracts
    con = connect(memory_limit=c.phase_plan.engine.limit())
    try:
        execute(con, "attach $path as published (read_only)", {"path": str(database)})
        loaded = checks.load_changed(con, q, OLD)
        lockdown(con)  # the rest reads nothing but what is loaded and attached
        if any(a.severity == "blocking" for a in q.items):
            return {}, None
        changed, rows = _changed(con, project, loaded)
        traced = trace(con, c, changed, OLD, "source")
        for table, counts in rows.items():
            counts.months = [MonthRows(month=m, rows=n) for m, n in traced.months.get(table, {}).items()]
        return rows, _growth(con, project, changed, traced.every_month)
    finally:
        con.close()


def _changed(con: Connection, project: Project, loaded: dict[str, Loaded]) -> tuple[list[Changed], dict[str, FileRows]]:
    """Each file's new rows and gone keys, and its counts: an append adds its rows; a rewrite adds the
    keys that are new and removes the keys that are gone (which other rows changed, apply finds)."""
    from leakcli.engine.connection import execute, one_row

    c = project.contracts
    changed, rows = [], {}
    for table, got in loaded.items():
        pk = primary_key(c, table)
        assert pk is not None
        key, old = quote_ident(pk), f"{OLD}{quote_ident(got.model)}"
        (before,) = one_row(con, f"select count(*) from {old}")
        if got.change == "appended":
            changed.append(Changed(table, got.relation))
            rows[table] = FileRows(int(str(before)), int(str(before)) + got.rows, added=got.rows)
            continue
        added, gone = quote_ident(f"leak_added__{table}"), quote_ident(f"leak_gone__{table}")
        execute(con, f"create temp table {added} as select * from {got.relation} "
                     f"where {key} not in (select {key} from {old})")
        execute(con, f"create temp table {gone} as select {key} from {old} "
                     f"where {key} not in (select {key} from {got.relation})")
        (n_added,) = one_row(con, f"select count(*) from {added}")
        (n_gone,) = one_row(con, f"select count(*) from {gone}")
        changed.append(Changed(table, added, gone))
        rows[table] = FileRows(int(str(before)), got.rows, added=int(str(n_added)), removed=int(str(n_gone)),
                               changed=None)
    return changed, rows


def _growth(con: Connection, project: Project, changed: list[Changed], dirty: list[str]) -> Growth:
    """The months the data holds after the change, the window before and after, and where the data ends."""
    from leakcli.engine.connection import rows_as_tuples

    c = project.contracts
    part = c.joins.partition
    assert part is not None
    month = part.month
    old = f"{OLD}{quote_ident(month.model)}"
    key = quote_ident(month.key)
    kept = f"select {quote_ident(month.column)} as m, {quote_ident(month.model_time)} as t from {old}"
    new = ""
    sessions = next((ch for ch in changed if ch.table == month.source), None)
    if sessions is not None:  # the sessions changed: their months and the end of the data move
        if sessions.gone is not None:
            kept += f" where {key} not in (select {key} from {sessions.gone})"
        new = (f" union all select cast(date_trunc('month', {quote_ident(month.time)}) as date), "
               f"{quote_ident(month.time)} from {sessions.new}")
    (after, latest), = rows_as_tuples(con, f"select list(distinct strftime(m, '%Y-%m') order by strftime(m, '%Y-%m')), "
                                          f"max(t) from ({kept}{new})")[1]
    (before,), = rows_as_tuples(con, f"select list(distinct strftime({quote_ident(month.column)}, '%Y-%m') "
                                     f"order by strftime({quote_ident(month.column)}, '%Y-%m')) from {old}")[1]
    n = c.catalog.thresholds.priority_lookback_months
    months_after = [str(m) for m in after] if isinstance(after, list) else []
    months_before = [str(m) for m in before] if isinstance(before, list) else []
    window = None
    if months_after:
        window = Window.model_validate({"from": months_after[-n:][0], "to": months_after[-1],
                                        "previous_from": months_before[-n:][0] if months_before else None,
                                        "previous_to": months_before[-1] if months_before else None})
    return Growth(months_to_rebuild=dirty, months=len(months_after), window=window, data_ends=data_end(latest))


def data_end(latest: object) -> DataEnd | None:
    """Where the data ends: its latest timestamp, and the days of that month it covers."""
    import datetime as dt

    if not isinstance(latest, dt.datetime | dt.date):
        return None
    days = calendar.monthrange(latest.year, latest.month)[1]
    at = latest.strftime("%Y-%m-%d %H:%M" if isinstance(latest, dt.datetime) else "%Y-%m-%d")
    return DataEnd(at=at, month=latest.strftime("%Y-%m"), days=latest.day, of=days)
