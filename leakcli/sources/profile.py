"""Dataset profiles: one JSON file per source table, written by `leakcli profile`, and the drift
check `plan` runs against them (row count, nulls, values never seen)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leakcli.contracts.load import MANIFEST, Contracts
from leakcli.engine.sqltext import quote_ident, source_relation
from leakcli.errors import FULL_ERRNOS, ContractError, UsageError, cannot_write
from leakcli.files import NAME_MAX, TMP, read_json_file, write_atomic
from leakcli.paths import DataSource, Paths, resolve_data
from leakcli.store import state

if TYPE_CHECKING:
    from leakcli.context import Project
    from leakcli.contracts.documents import Profile



@dataclass(frozen=True, kw_only=True)
class ProfileRequest:
    """What `leakcli profile` was asked: the data, the folder and --force."""

    data_dir: str | None = None
    out: Path | None = None  # default: the project's profile folder
    force: bool = False  # replace existing profiles


@dataclass(frozen=True)
class ProfileResult:
    """The profiles written and what they hold."""

    data: DataSource
    written: list[str]
    profiles: list[dict[str, Any]]

    def to_dict(self) -> dict[str, object]:
        """`profile --json` (contracts/schemas/profile-output.schema.json)."""
        from leakcli.contracts.results import ProfileOutput  # the output records: only when one is printed

        return ProfileOutput.model_validate({"dataset": self.data.describe(), "written": self.written}).document()


def profile_table(con: Any, c: Contracts, table: str, sha256: str) -> dict[str, Any]:
    """Profile a loaded source relation in DuckDB."""
    spec = c.tables[table]
    rel = quote_ident(source_relation(c.source_name, table))
    rows = con.execute(f"select count(*) from {rel}").fetchone()[0]
    columns = []
    for col in spec.columns:
        ident = quote_ident(col.name)
        nulls, distinct, lo, hi = con.execute(
            f"select count(*) - count({ident}), count(distinct {ident}), "
            f"cast(min({ident}) as varchar), cast(max({ident}) as varchar) from {rel}"
        ).fetchone()
        top = con.execute(
            f"select cast({ident} as varchar) as v, count(*) as n from {rel} where {ident} is not null "
            f"group by all order by n desc, v limit {int(c.manifest.checks.profile_top_values)}"
        ).fetchall()
        columns.append({
            "name": col.name, "type": col.type, "null_count": int(nulls),
            "distinct_count": int(distinct), "min": lo, "max": hi,
            "top_values": [{"value": v, "count": int(n)} for v, n in top],
        })
    return {"version": 1, "table": table, "file": spec.file, "sha256": sha256,
            "row_count": int(rows), "null_tokens": list(spec.null_tokens),
            "generated_by": "leakcli profile", "columns": columns}


def write_profiles(project: Project, req: ProfileRequest) -> ProfileResult:
    """Profile every source table whose file exists (all required ones must)."""
    from leakcli.engine.connection import connect
    from leakcli.engine.load import load_sources
    from leakcli.files import file_sha256

    c, paths = project.contracts, project.paths
    required = [t for t, spec in c.tables.items() if spec.required]
    data = resolve_data(paths, req.data_dir, [c.tables[t].file for t in required],
                        published=state.published_dataset(paths.published, paths.root, c.ir.final_models,
                                                          trust_summary=project.cache.enabled))
    present = [t for t, spec in c.tables.items() if spec.required or (data.path / spec.file).exists()]
    folder = Path.cwd() / req.out if req.out is not None else paths.profiles
    for i, spec in enumerate(c.manifest.tables):  # a name too long for a file (plan asks too): nothing is written
        if spec.name in present and len(f"{spec.name}.json{TMP}".encode()) > NAME_MAX:
            raise UsageError(f"is {len(spec.name.encode())} bytes long, too long for its profile: <name>.json is "
                             f"written through <name>.json{TMP}, and a file name holds at most {NAME_MAX} bytes",
                             file=MANIFEST, pointer=f"/tables/{i}/name", hint="give the table a shorter name")
    _check_out(folder, [folder / f"{t}.json" for t in present], paths, force=req.force)
    con = connect(memory_limit=c.phase_plan.engine.limit())
    try:
        load_sources(con, c, data.path, present, display=paths.rel)
        profiles = [profile_table(con, c, table, file_sha256(data.path / c.tables[table].file)) for table in present]
    finally:
        con.close()
    written: list[str] = []
    out = folder
    try:  # each profile whole or not at all: a full disk stops at the first that cannot be written
        folder.mkdir(parents=True, exist_ok=True)
        for table, doc in zip(present, profiles, strict=True):
            out = folder / f"{table}.json"
            write_atomic(out, json.dumps(doc, indent=1) + "\n")
            written.append(paths.rel(out))
    except OSError as exc:
        done = f"{len(written)} of {len(present)} profiles were written; " if written else ""
        raise cannot_write("the profile", exc, paths.rel(out), f"{done}free space (or inodes) on its disk and run "
                           "`leakcli profile --force` again" if exc.errno in FULL_ERRNOS else None) from None
    return ProfileResult(data=data, written=written, profiles=profiles)


def _check_out(folder: Path, files: list[Path], paths: Paths, *, force: bool) -> None:
    """Profiles are replaced only with --force; never through a link, never over a foreign file."""
    from leakcli.store.layout import guard_file, guard_folder

    guard_folder(folder, paths.rel(folder), force=True, target=paths.target)  # never into a build
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise UsageError("is not a folder leakcli can write profiles into", file=paths.rel(folder))
    existing = [f for f in files if f.exists() or f.is_symlink()]
    for f in existing:
        guard_file(f, paths.rel(f), ours=_is_profile(f), force=force, what="a leakcli profile")
    if existing and not force:
        raise UsageError(f"holds {len(existing)} profile(s) already", file=paths.rel(folder),
                         hint="pass --force to replace them, or --out DIR to write elsewhere")


def _is_profile(path: Path) -> bool:
    doc = read_json_file(path)
    return isinstance(doc, dict) and doc.get("generated_by") == "leakcli profile"


def load_profiles(c: Contracts, paths: Paths) -> dict[str, Profile]:
    """The committed profile of each source table that has one (datasets/<name>/profile/<table>.json)."""
    from leakcli.contracts.documents import Profile
    from leakcli.contracts.load import read_document

    found: dict[str, Profile] = {}
    for table in c.tables:
        path = paths.profiles / f"{table}.json"
        if not path.exists():
            continue
        rel = paths.rel(path)
        problems: list[ContractError] = []
        doc = read_document(paths.root, rel, Profile, problems, {})
        if doc is None:
            raise ContractError(problems[0].message, problems=problems, file=rel, pointer=problems[0].pointer,
                                line=problems[0].line, column=problems[0].column)
        found[table] = doc
    return found
