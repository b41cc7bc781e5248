"""`diff`: what a change did to the answer. The published build against the previous one (or any two
database files): per mart, rows added, removed and changed on the grain, per-column changes with
samples, and the moves of the priority list. Read-only; SQLMesh's table_diff is the model."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli.contracts.results import DiffOutput
from leakcli.engine.connection import count_rows, one_row, rows_as_dicts
from leakcli.engine.sqltext import quote_ident
from leakcli.errors import UsageError
from leakcli.jsonout import did_you_mean, jsonable
from leakcli.paths import Paths

if TYPE_CHECKING:
    from leakcli.context import Project
    from leakcli.contracts.load import Contracts
    from leakcli.engine.connection import Connection

FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")
REL_TOLERANCE = 1e-9  # doubles equal to this relative tolerance are the same value


@dataclass(frozen=True, kw_only=True)
class DiffRequest:
    """What `leakcli diff` was asked: two database files (default: target/previous and current), models, samples."""

    old: Path | None = None  # both None: target/previous against target/current
    new: Path | None = None
    models: tuple[str, ...] = ()
    samples: int = 3


@dataclass
class ColumnChange:
    """A column whose values changed on some rows of the grain, with sample rows (old -> new)."""

    column: str
    rows: int
    samples: list[dict[str, object]]


@dataclass
class ModelDiff:
    """One model compared on its grain: rows added, removed and changed, columns added and removed."""

    model: str
    grain: list[str]
    rows_old: int
    rows_new: int
    added: int = 0
    removed: int = 0
    changed: int = 0
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)
    column_changes: list[ColumnChange] = field(default_factory=list)
    samples_added: list[dict[str, object]] = field(default_factory=list)
    samples_removed: list[dict[str, object]] = field(default_factory=list)
    status: str = "compared"  # compared | added | removed (the table exists on one side only)

    @property
    def same(self) -> bool:
        return (self.status == "compared" and not (self.added or self.removed or self.changed)
                and not (self.columns_added or self.columns_removed))


@dataclass
class RankMove:
    """One action of the priority list: its rank, gap and status before and after."""

    key: dict[str, object]
    old_rank: int | None
    new_rank: int | None
    old_gap: float | None
    new_gap: float | None
    old_status: str | None = None  # action_status (revision 3 of the spec; None in older builds)
    new_status: str | None = None

    @property
    def moved(self) -> bool:
        """It entered or left the list, or its rank or status changed (a gap alone is no move)."""
        return self.kind != "same" or self.old_status != self.new_status

    @property
    def regapped(self) -> bool:
        """Only its gap changed, by a cent or more."""
        return not self.moved and abs((self.old_gap or 0.0) - (self.new_gap or 0.0)) >= 0.01

    @property
    def kind(self) -> str:
        if self.old_rank is None:
            return "entered"
        if self.new_rank is None:
            return "left"
        return "up" if self.new_rank < self.old_rank else "down" if self.new_rank > self.old_rank else "same"


@dataclass
class DiffResult:
    """Two builds compared: per model and the priority list's moves."""

    old: str
    new: str
    models: list[ModelDiff]
    priority_model: str
    rank_keys: list[str]
    moves: list[RankMove]
    datasets: tuple[str, str] = ("", "")  # what each build was made from, as people read it

    def to_dict(self) -> dict[str, object]:
        """`diff --json` (contracts/schemas/diff-output.schema.json)."""
        from dataclasses import asdict

        return DiffOutput.model_validate(jsonable({
            "old": self.old, "new": self.new, "old_dataset": self.datasets[0], "new_dataset": self.datasets[1],
            "identical": all(m.same for m in self.models) and not any(m.moved or m.regapped for m in self.moves),
            "models": [{**asdict(m), "same": m.same} for m in self.models],
            "priority": {"model": self.priority_model, "keys": self.rank_keys,
                         "moves": [{**asdict(m), "kind": m.kind} for m in self.moves
                                   if m.moved or m.regapped]}})).document()


def diff_builds(project: Project, req: DiffRequest) -> DiffResult:
    """Compare two builds read-only (attached to one locked-down in-memory connection): each mart on
    its grain, and the priority list by action."""
    from leakcli.engine.connection import DamagedDatabase, QueryError, connect, execute, lockdown, reading

    c, paths = project.contracts, project.paths
    old, new = _sides(req, paths)
    con = connect()
    try:
        for alias, (path, shown) in (("old", old), ("new", new)):
            try:
                execute(con, f"attach $path as {alias} (read_only)", {"path": str(path)})
                _tables(con, alias)  # DuckDB reads the catalog lazily: a damaged file fails here
            except QueryError:
                raise DamagedDatabase(shown) from None
        lockdown(con)
        with reading(f"{old[1]} or {new[1]}"):
            return _compare(con, c, req, old[1], new[1])
    finally:
        con.close()


def _compare(con: Connection, c: Contracts, req: DiffRequest, old: str, new: str) -> DiffResult:
    tables = {alias: _tables(con, alias) for alias in ("old", "new")}
    names = list(req.models) or [m for m in c.ir.final_models]
    for name in req.models:
        if name not in tables["old"] | tables["new"]:
            known = sorted(tables["old"] | tables["new"])
            raise UsageError(f"model '{name}' is in neither build{did_you_mean(name, known)}", file="--model",
                             hint="name a model of the builds, or leave it out to compare the marts")
    priority = c.catalog.priority.model
    keys = ["action_scope", *c.catalog.segment.keys]  # what names an action: its rank is what moves

    def grain(name: str) -> list[str]:
        return keys if name == priority else list(c.models[name].grain) if name in c.models else []

    diffs = [diff_model(con, name, grain(name), tables, req.samples)
             for name in names if name in tables["old"] | tables["new"]]
    moves = (_moves(con, priority, keys) if priority in tables["old"] and priority in tables["new"] else [])
    return DiffResult(old, new, diffs, priority, keys, moves, (_dataset(con, "old", c), _dataset(con, "new", c)))


def _dataset(con: Connection, alias: str, c: Contracts) -> str:
    """What a build was made from, by the metadata on its tables: "files at X" or "synthetic data at X"."""
    from leakcli.engine.connection import user_tables
    from leakcli.store import state

    meta = state.built_from({n: state.decode(t) for n, t in user_tables(con, alias).items()}, c.ir.final_models)
    if meta is None:
        return "not said (no leakcli metadata)"
    d = meta.dataset
    return f"{'synthetic data' if d.kind == 'synthetic' else 'files'} at {d.path}"


def _sides(req: DiffRequest, paths: Paths) -> tuple[tuple[Path, str], tuple[Path, str]]:
    if (req.old is None) != (req.new is None):
        raise UsageError("name two database files, or none to compare target/previous with target/current")
    if req.old is not None and req.new is not None:
        sides = ((req.old, str(req.old)), (req.new, str(req.new)))
    else:
        sides = tuple((paths.target / p / "leakcli.duckdb", paths.rel(paths.target / p / "leakcli.duckdb"))
                      for p in ("previous", "current"))  # type: ignore[assignment]
        if not sides[1][0].exists():
            raise UsageError("nothing is published yet: run `leakcli apply` first",
                             file=paths.rel(paths.target / "current"))
        if not sides[0][0].exists():
            raise UsageError("no previous build to compare with: it is kept from the second apply on",
                             file=paths.rel(paths.target / "previous"))
    for path, shown in sides:
        if not path.is_file():
            raise UsageError("does not exist" if not path.exists() else "is not a file", file=shown)
    return sides[0], sides[1]


def _tables(con: Connection, alias: str) -> set[str]:
    rows = con.execute("select table_name from duckdb_tables() where database_name = $db and schema_name = 'main'",
                       {"db": alias}).fetchall()
    return {str(r[0]) for r in rows}


def _columns(con: Connection, alias: str, table: str) -> dict[str, str]:
    rows = con.execute("select column_name, data_type from duckdb_columns() where database_name = $db "
                       "and schema_name = 'main' and table_name = $t order by column_index",
                       {"db": alias, "t": table}).fetchall()
    return {str(n): str(t) for n, t in rows}


def diff_model(con: Connection, name: str, grain: list[str], tables: dict[str, set[str]],
               samples: int, old: str = "old", new: str = "new") -> ModelDiff:
    """One model of two attached databases (`old`, `new`) compared on its grain."""
    o, n = f"{old}.main.{quote_ident(name)}", f"{new}.main.{quote_ident(name)}"
    if name not in tables["old"] or name not in tables["new"]:
        side = "new" if name in tables["new"] else "old"
        rows = count_rows(con, n if side == "new" else o)
        return ModelDiff(name, grain, 0 if side == "new" else rows, rows if side == "new" else 0,
                         status="added" if side == "new" else "removed")
    old_cols, new_cols = _columns(con, old, name), _columns(con, new, name)
    d = ModelDiff(name, grain, count_rows(con, o), count_rows(con, n),
                  columns_added=[c for c in new_cols if c not in old_cols],
                  columns_removed=[c for c in old_cols if c not in new_cols])
    missing = [k for k in grain if k not in old_cols or k not in new_cols]
    if not grain or missing:
        raise UsageError(f"'{name}' cannot be compared row by row: its grain "
                         + (f"column '{missing[0]}' is not in both builds" if missing else "is not declared"))
    keys = ", ".join(quote_ident(k) for k in grain)
    on = " and ".join(f"o.{quote_ident(k)} is not distinct from n.{quote_ident(k)}" for k in grain)
    for side, a, b in (("added", n, o), ("removed", o, n)):
        only = f"select {keys} from {a} except all select {keys} from {b}"
        setattr(d, side, count_rows(con, f"({only})"))
        setattr(d, f"samples_{side}", rows_as_dicts(con, f"{only} order by all limit {int(samples)}"))
    joined = f"from {o} o join {n} n on {on}"
    compared = [c for c in old_cols if c in new_cols and c not in grain]
    unequal = {c: differs(c, old_cols[c], new_cols[c]) for c in compared}
    if not unequal:
        return d
    # one pass over the join: rows changed at all, then per column
    counts = one_row(con, f"select count(*) filter (where {' or '.join(unequal.values())}), "
                          + ", ".join(f"count(*) filter (where {cond})" for cond in unequal.values()) + f" {joined}")
    d.changed = int(str(counts[0]))
    for (col, cond), found in zip(unequal.items(), counts[1:], strict=True):
        rows = int(str(found))
        if rows:
            picked = ", ".join(f"o.{quote_ident(k)}" for k in grain)
            sample = rows_as_dicts(con, f"select {picked}, o.{quote_ident(col)} as old, n.{quote_ident(col)} as new "
                                   f"{joined} where {cond} order by {picked} limit {int(samples)}")
            d.column_changes.append(ColumnChange(col, rows, [
                {"key": {k: s[k] for k in grain}, "old": s["old"], "new": s["new"]} for s in sample]))
    return d


def differs(col: str, old_type: str, new_type: str) -> str:
    a, b = f"o.{quote_ident(col)}", f"n.{quote_ident(col)}"
    if old_type in FLOAT_TYPES and new_type in FLOAT_TYPES:
        return (f"({a} is distinct from {b} and not coalesce(abs({a} - {b}) <= {REL_TOLERANCE} * "
                f"greatest(1, abs({a})), false))")
    return f"({a} is distinct from {b})"


def _moves(con: Connection, model: str, keys: list[str]) -> list[RankMove]:
    cols = ", ".join(quote_ident(k) for k in keys)
    rows: dict[tuple[object, ...], dict[str, dict[str, object]]] = {}
    for alias in ("old", "new"):
        status = "action_status" if "action_status" in _columns(con, alias, model) else "null"
        for r in rows_as_dicts(con, f"select {cols}, priority_rank, gap_usd, {status} as action_status "
                                    f"from {alias}.main.{quote_ident(model)}"):
            key = tuple(r[k] for k in keys)
            rows.setdefault(key, {})[alias] = r
    moves = []
    for key, sides in rows.items():
        o, n = sides.get("old"), sides.get("new")
        moves.append(RankMove(dict(zip(keys, key, strict=True)), _int(o, "priority_rank"), _int(n, "priority_rank"),
                              _float(o, "gap_usd"), _float(n, "gap_usd"), _str(o, "action_status"),
                              _str(n, "action_status")))
    return sorted(moves, key=lambda m: (m.new_rank is None, m.new_rank or 0, m.old_rank or 0))


def _int(row: dict[str, object] | None, col: str) -> int | None:
    value = row.get(col) if row else None
    return int(value) if isinstance(value, (int, float)) else None


def _str(row: dict[str, object] | None, col: str) -> str | None:
    value = row.get(col) if row else None
    return None if value is None else str(value)


def _float(row: dict[str, object] | None, col: str) -> float | None:
    value = row.get(col) if row else None
    return float(value) if isinstance(value, (int, float)) else None
