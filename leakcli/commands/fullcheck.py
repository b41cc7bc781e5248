"""`verify --full-check`: the proof that what incremental builds made equals a build from scratch
(LEAK-SPEC §11). The published build's own compiled SQL runs again, model by model, on the very data
it was made from (each file's sha256 checked against what the build recorded), into a scratch database
under target/ (removed afterwards), locked down as apply's; then every model is compared with the
published one on its grain, every row and column (DOUBLE within 1e-9 relative)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli.commands.diff import diff_model, differs
from leakcli.engine.connection import StorageError, connect, execute, lockdown, no_space, run_model, user_tables
from leakcli.engine.sqltext import quote_ident
from leakcli.errors import ExecutionError, UsageError, cannot_write
from leakcli.plan.changes import published_sql
from leakcli.progress import phase
from leakcli.store import state

if TYPE_CHECKING:
    from leakcli.context import Project
    from leakcli.engine.connection import Connection

SAMPLES = 3
SCRATCH = "leakcli"  # the scratch database's name on its own connection (its file is leakcli.duckdb)


@dataclass
class ModelCheck:
    """One model of the published build against its build from scratch."""

    model: str
    rows_published: int
    rows_rebuilt: int
    differing: int  # rows added, removed or changed on the grain
    months: list[str] = field(default_factory=list)  # the session months of the differing rows
    sample: list[dict[str, object]] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return self.differing == 0 and self.rows_published == self.rows_rebuilt


def full_check(project: Project, data: Path) -> list[ModelCheck]:
    """Rebuild the published build from scratch on `data` and compare it with the published one."""
    from leakcli.engine.load import load_sources
    from leakcli.files import digest_file

    c, paths = project.contracts, project.paths
    current = paths.target / "current"
    records = state.read_sources(current)
    built = state.read_state(paths.published, paths.rel(paths.database), trust_summary=project.cache.enabled)
    models = [m for m in c.ir.models if m in built]
    sqls = {m: published_sql(current / "compiled", m) for m in models}
    if not records or any(sql is None for sql in sqls.values()):
        raise UsageError("the published build does not record what it read or the SQL it ran (an older leakcli "
                         "built it)", file=paths.rel(paths.database),
                         hint="rebuild it with `leakcli apply --full-refresh`")
    for table, record in records.items():
        path = data / c.tables[table].file
        with phase(f"hashing {paths.rel(path)}"):
            sha = digest_file(path).sha256 if path.is_file() else ""
        if sha != record.sha256:
            raise UsageError("changed since the published build was made from it: the build and a build from "
                             "scratch would read other data", file=paths.rel(path), hint="run `leakcli apply` first")
    scratch = paths.target / ".full-check"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        scratch.mkdir(parents=True)
    except OSError as exc:  # a full disk (or no inodes), or something of someone's there
        raise cannot_write("the build from scratch", exc, paths.rel(scratch)) from None
    try:
        con = connect(scratch / "leakcli.duckdb", memory_limit=c.phase_plan.engine.limit())
        try:
            load_sources(con, c, data, [t for t in records if t in c.tables], display=paths.rel)
            execute(con, "set preserve_insertion_order = false")
            execute(con, "attach $path as published (read_only)", {"path": str(paths.published)})
            lockdown(con, [data, scratch], [data / c.tables[t].file for t in records])
            for name in models:
                with phase(f"rebuilding {name} from scratch"):
                    run_model(con, name, sqls[name] or "", paths.rel(current / "compiled" / f"{name}.sql"))
            with phase("comparing with the published build"):
                return [_compare(con, project, name) for name in models]
        finally:
            con.close()
    except StorageError as exc:  # the scratch build's disk is full: said of the scratch build, not the model
        if not no_space(exc.detail):
            raise
        raise ExecutionError(f"cannot write the build from scratch: {no_space(exc.detail)}", hint=exc.hint,
                             file=paths.rel(Path(exc.file)) if exc.file else paths.rel(scratch)) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _compare(con: Connection, project: Project, name: str) -> ModelCheck:
    c = project.contracts
    tables = {"old": set(user_tables(con, "published")), "new": set(user_tables(con, SCRATCH))}
    d = diff_model(con, name, list(c.models[name].grain), tables, SAMPLES, old="published", new=SCRATCH)
    months = _months(con, project, name) if d.added or d.removed or d.changed else []
    sample = [*({"row": "only in the build from scratch", **r} for r in d.samples_added),
              *({"row": "only in the published build", **r} for r in d.samples_removed),
              *({"row": "differs", "column": ch.column, **s} for ch in d.column_changes for s in ch.samples)]
    return ModelCheck(name, d.rows_old, d.rows_new, d.added + d.removed + d.changed, months, sample[:SAMPLES * 3])


def _months(con: Connection, project: Project, name: str) -> list[str]:
    """The session months of a model's differing rows, when it holds the partition's month column."""
    from leakcli.engine.connection import rows_as_tuples

    part = project.contracts.joins.partition
    model = project.contracts.models[name]
    if part is None or part.column not in [col.name for col in model.columns]:
        return []
    grain = model.grain
    on = " and ".join(f"o.{quote_ident(k)} is not distinct from n.{quote_ident(k)}" for k in grain)
    cols = [(col.name, col.type) for col in model.columns if col.name not in grain]
    unequal = " or ".join([f"o.{quote_ident(grain[0])} is null", f"n.{quote_ident(grain[0])} is null",
                           *(differs(col, kind, kind) for col, kind in cols)])
    month = quote_ident(part.column)
    both = f"published.main.{quote_ident(name)} o full join {SCRATCH}.main.{quote_ident(name)} n"
    rows = rows_as_tuples(con, f"select distinct strftime(coalesce(o.{month}, n.{month}), '%Y-%m') "
                               f"from {both} on {on} where {unequal} order by 1")[1]
    return [str(r[0]) for r in rows]
