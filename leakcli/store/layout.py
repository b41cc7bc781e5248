"""What leakcli writes, and where: the builds under target/, their atomic publication, the cleanup of
leftovers, and the checks that keep it from overwriting anything it did not write.

    target/builds/<id>/          one build: leakcli.duckdb, compiled/, exports/, run_results.json,
                                 contracts.json (the contracts it was built from)
    target/current  -> builds/<id>     the published build (one symlink: publishing is one rename)
    target/previous -> builds/<id>     the build before it (for `leakcli diff`)
    target/rejected -> builds/<id>     the last attempt that failed or failed its audit, kept to inspect
    target/leakcli.duckdb, compiled, exports -> current/...   stable names
    target/run_results.json      the last apply, whatever became of it (as dbt's)

A kill at any moment leaves `current` pointing at one whole build, old or new.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from leakcli.errors import UsageError, cannot_write
from leakcli.files import read_bytes, write_atomic

MARKER = ".leakcli"  # in a folder leakcli created: target/, a generated dataset
ARTIFACTS = ("leakcli.duckdb", "compiled", "exports", "run_results.json")
LINKED = ARTIFACTS[:3]  # target/run_results.json is a file: the last apply's, whatever became of it
POINTERS = ("current", "previous", "rejected")
FORCE_HINT = "pass --force to overwrite it"
POINTER_WHAT = {"current": "the published build", "previous": "the build before it",
                "rejected": "the last rejected attempt"}
STABLE_WHAT = {"leakcli.duckdb": "the published database", "compiled": "the published build's compiled SQL",
               "exports": "the published build's exports"}


def mark(folder: Path, what: str) -> None:
    """Say that leakcli created `folder` (and may replace what it holds)."""
    (folder / MARKER).write_text(json.dumps({"created_by": "leakcli", "what": what}) + "\n", "utf-8")


def is_ours(folder: Path) -> bool:
    return (folder / MARKER).is_file() or (folder / ".leakcli.lock").is_file()


def own_target(target: Path, *, force: bool = False) -> None:
    """Create target/ (or take an empty one) as leakcli's, with its marker; refuse a foreign one
    unless `force`."""
    guard_folder(target, _shown(target), force=force)
    try:
        target.mkdir(parents=True, exist_ok=True)
        if not (target / MARKER).exists():
            mark(target, "build artifacts")
    except OSError as exc:
        raise cannot_write("the target directory", exc, shown_in(target, exc.filename)) from None


def _shown(target: Path) -> str:
    """target/ as messages name it: `target` (the project's), else the folder --target-dir named."""
    return "target" if target.name == "target" else str(target)


def shown_in(target: Path, path: object) -> str:
    """`path` (an OSError's filename, perhaps none) as messages name it: under target/, from there."""
    if not isinstance(path, str | os.PathLike):
        return _shown(target)
    full = os.path.abspath(os.path.join(target, path))  # a relative one (a link's target) is target's
    inside = os.path.relpath(full, os.path.abspath(target))
    return full if inside.startswith("..") else os.path.normpath(os.path.join(_shown(target), inside))


def write_output(target: Path, path: Path, shown: str, text: str, what: str) -> None:
    """Write one output file whole, once `guard_file` allowed it; inside target/, target/ is made
    leakcli's first. A failure is one ExecutionError naming the file."""
    if Path(os.path.abspath(path)).is_relative_to(os.path.abspath(target)):
        own_target(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text)
    except OSError as exc:
        raise cannot_write(what, exc, shown) from None


def guard_folder(folder: Path, shown: str, *, force: bool, target: Path | None = None) -> None:
    """Refuse (exit 2) to write into an existing folder that leakcli did not create, unless it is
    empty; and, --force or not, into target/ itself or one of its builds."""
    if target is not None and folder.resolve() == target.resolve():
        raise UsageError("is leakcli's target folder (its builds and data), not a dbt export or a dataset; "
                         "no command writes into it, --force or not", file=shown, hint="choose another folder")
    if target is not None and _builds_folder(folder, target):
        raise UsageError("belongs to one of leakcli's builds; no command writes into it, --force or not", file=shown,
                         hint="name a folder outside target/builds, current, previous and rejected")
    if folder.is_symlink():
        raise UsageError("is a symbolic link; leakcli writes only to real folders", file=shown)
    if folder.exists() and not folder.is_dir():
        raise UsageError("exists and is not a folder", file=shown)
    if folder.is_dir() and any(folder.iterdir()) and not is_ours(folder) and not force:
        raise UsageError(f"holds files leakcli did not write; {FORCE_HINT}, or choose an empty folder",
                         file=shown)


def guard_file(path: Path, shown: str, *, ours: bool, force: bool, target: Path | None = None,
               what: str = "a file this command wrote") -> None:
    """Refuse (exit 2) to write over a symlink, a folder, a database, a file of one of leakcli's builds
    (under `target`), or, unless `force`, a file leakcli did not write. `--force` may overwrite a
    foreign file the user named, never a database and never the published build."""
    if path.is_symlink():
        raise UsageError("is a symbolic link; leakcli does not write through links", file=shown,
                         hint="name the file itself")
    if path.is_dir():
        raise UsageError("is a folder, not a file", file=shown, hint="name a file in it")
    if path.exists() and _is_database(path):
        raise UsageError("is a database; leakcli never writes over one, --force or not", file=shown,
                         hint="name another file")
    if target is not None and _in_builds(path, target):
        raise UsageError("belongs to one of leakcli's builds; no command writes over it, --force or not",
                         file=shown, hint="name a file outside target/builds, current, previous and rejected")
    if path.exists() and not force and not ours:
        raise UsageError(f"exists and is not {what}; leakcli writes over no other file", file=shown, hint=FORCE_HINT)


def _builds_folder(folder: Path, target: Path) -> bool:
    """`folder` is a name of target's layout (builds, current, previous, rejected, linked or not
    yet), or lies in a build."""
    names = {os.path.abspath(target / p) for p in (*POINTERS, "builds")}
    return os.path.abspath(folder) in names or _in_builds(folder, target)


def _in_builds(path: Path, target: Path) -> bool:
    """`path` lies in a build of `target` (through current, previous, rejected or builds/)."""
    real, builds = path.resolve(), (target / "builds").resolve()
    return real.is_relative_to(builds) or any(
        real.is_relative_to((target / p).resolve()) for p in POINTERS if (target / p).is_symlink())


def _is_database(path: Path) -> bool:
    try:
        head = read_bytes(path, 16)
    except OSError:
        return False
    return head[8:12] == b"DUCK" or head.startswith(b"SQLite format 3")


@dataclass(frozen=True)
class Build:
    """One build under target/builds/<id>/ and the paths of what it holds."""

    id: str
    path: Path

    @property
    def database(self) -> Path:
        return self.path / "leakcli.duckdb"

    @property
    def compiled(self) -> Path:
        return self.path / "compiled"

    @property
    def exports(self) -> Path:
        return self.path / "exports"

    @property
    def run_results(self) -> Path:
        return self.path / "run_results.json"


class Layout:
    """target/ as a set of builds; every method runs under the build lock."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.builds = target / "builds"

    def check(self, *, force: bool = False) -> None:
        """Before anything is written: target/ must be leakcli's, or empty, or `force` given."""
        guard_folder(self.target, _shown(self.target), force=force)

    def prepare(self, *, force: bool = False) -> None:
        """Make target/ leakcli's, adopt a build of the older flat layout, remove leftovers, and see
        that the stable names can lead to the published build: a link of leakcli's that leads
        elsewhere is set right; a file or folder that took the place of one is refused before anything
        is built, so apply never publishes and then fails."""
        own_target(self.target, force=force)
        try:
            self.builds.mkdir(parents=True, exist_ok=True)
            self._adopt_flat_layout()
            self.check_names()
            self._clean()
            self._link_stable_names()
        except OSError as exc:
            raise cannot_write("the target directory", exc, shown_in(self.target, exc.filename),
                               "free space (or inodes), or fix its permissions, or pass --target-dir") from None

    def new_build(self) -> Build:
        build_id = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}"
        build = Build(build_id, self.builds / build_id)
        build.path.mkdir(parents=True)
        return build

    def build_of(self, pointer: str) -> Build | None:
        link = self.target / pointer
        if not link.is_symlink():
            return None
        path = link.resolve()
        return Build(path.name, path) if path.is_dir() and path.parent == self.builds.resolve() else None

    def publish(self, build: Build) -> None:
        """One atomic step: `current` now names `build`; `previous` the build it replaces. What follows
        the step (the previous pointer, the stable links, removing old builds) is best effort: the
        build is published already, and the next apply finishes it."""
        old = self.build_of("current")
        self._point("current", build)
        with contextlib.suppress(OSError):
            _fsync_dir(self.target)
            if old is not None and old.id != build.id:
                self._point("previous", old)
            self._link_stable_names()
            self._clean()

    def reject(self, build: Build) -> None:
        """`rejected` names `build` (an OSError when it cannot: the caller discards the build)."""
        self._point("rejected", build)
        with contextlib.suppress(OSError):  # the attempt is kept already; the next apply cleans up
            self._clean()

    def discard(self, build: Build) -> None:
        shutil.rmtree(build.path, ignore_errors=True)

    # -- internals --------------------------------------------------------------------------------
    def _point(self, pointer: str, build: Build) -> None:
        """`pointer` names `build`, in one rename; or, when even a link cannot be made (no inodes
        left), an OSError naming the pointer, which is left as it was."""
        tmp, link = self.target / f".{pointer}.new", self.target / pointer
        try:
            if tmp.is_symlink() or tmp.exists():
                tmp.unlink()
            tmp.symlink_to(Path("builds") / build.id)
            os.replace(tmp, link)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise OSError(exc.errno, exc.strerror, str(link)) from None

    def check_names(self) -> None:
        """A pointer (current, previous, rejected) and a stable name (leakcli.duckdb, compiled,
        exports) must be a link or absent, and run_results.json a file or absent; anything else is
        someone's and stays: refused, one line, before anything is read or built."""
        for name in (*POINTERS, *LINKED, "run_results.json"):
            path = self.target / name
            if name in POINTERS and path.is_symlink() and path.exists() and self.build_of(name) is None:
                raise UsageError(f"is a link to {os.readlink(path)}, not to one of leakcli's builds", hint="remove "
                                 "it and run apply again", file=f"{_shown(self.target)}/{name}")
            if path.is_symlink() or not path.exists() or (name == "run_results.json" and path.is_file()):
                continue
            if name in LINKED and self._flat_layout():
                continue  # a build of leakcli 0.1: prepare takes it in
            what = (f"its link to {STABLE_WHAT[name]}" if name in LINKED else
                    "the last apply's record" if name == "run_results.json" else f"its link to {POINTER_WHAT[name]}")
            raise UsageError(f"is {_kind(path)} where apply keeps {what}; leakcli did not write it there",
                             file=f"{_shown(self.target)}/{name}", hint="move it away and run apply again")

    def _link_stable_names(self) -> None:
        """Each stable name a link into `current`; a link of leakcli's that leads elsewhere is re-pointed."""
        for name in LINKED:
            link, wanted = self.target / name, Path("current") / name
            if link.is_symlink() and Path(os.readlink(link)) == wanted:
                continue
            if link.is_symlink() or not link.exists():
                tmp = self.target / f".{name}.link"
                try:
                    if tmp.is_symlink() or tmp.exists():
                        tmp.unlink()
                    tmp.symlink_to(wanted)
                    os.replace(tmp, link)
                except OSError as exc:  # named as the link it makes, not where the link leads
                    raise OSError(exc.errno, exc.strerror, str(link)) from None

    def _clean(self) -> None:
        """Remove builds no pointer names (an attempt killed or interrupted) and stray temporaries."""
        keep = {b.id for b in (self.build_of(p) for p in POINTERS) if b is not None}
        for entry in self.builds.iterdir():
            if entry.name in keep:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink()
        for stray in (".current.new", ".previous.new", ".rejected.new", ".leakcli.duckdb.building",
                      ".leakcli.duckdb.building.wal", ".exports.building", *(f".{n}.link" for n in LINKED)):
            path = self.target / stray
            if path.is_symlink() or path.is_file():
                path.unlink()
            elif path.is_dir():
                shutil.rmtree(path, ignore_errors=True)

    def _flat_layout(self) -> bool:
        """target/ is as leakcli 0.1 left it: a DuckDB database and its compiled/ folder in place of
        the stable links, nothing published and no build."""
        return _flat_layout(self.target)

    def _adopt_flat_layout(self) -> None:
        """A target/ written by leakcli 0.1 holds the artifacts themselves: make them one build."""
        if not self._flat_layout():
            return  # not the old layout: a file in place of a stable link is refused by check_names
        flat = [self.target / n for n in ARTIFACTS
                if (self.target / n).exists() and not (self.target / n).is_symlink()]
        build = self.new_build()
        for path in flat:
            os.replace(path, build.path / path.name)
        self.publish(build)


def _flat_layout(target: Path) -> bool:
    database, compiled, builds = target / "leakcli.duckdb", target / "compiled", target / "builds"
    return (not database.is_symlink() and database.is_file() and _is_database(database)
            and not compiled.is_symlink() and compiled.is_dir()
            and not any(os.path.lexists(target / p) for p in POINTERS)
            and not (builds.is_dir() and any(builds.iterdir())))


def _kind(path: Path) -> str:
    if path.is_symlink():
        return f"a link to {os.readlink(path)}"
    return "a folder" if path.is_dir() else "a file" if path.is_file() else "not a regular file"


def check_published(target: Path, command: str, pointers: tuple[str, ...] = ("current",)) -> list[str]:
    """What a command that reads the published build must settle first. It reads through `current`
    (diff through `previous` too): one of them that is not leakcli's link to one of its builds is
    refused, one line with the remedy. The stable names (leakcli.duckdb, compiled, exports) are
    never read; each that is not leakcli's link into `current` gets one warning line, returned, that
    says so, what `command` reads instead and what to do."""
    shown = _shown(target)
    warnings = []
    for pointer in pointers:
        link = target / pointer
        if link.is_symlink():
            real = link.resolve()
            if not real.exists():  # read as nothing published (or nothing before it), as apply takes it
                warnings.append(f"{shown}/{pointer}: leads to {os.readlink(link)}, which is gone, so {command} finds "
                                f"no {POINTER_WHAT[pointer].removeprefix('the ')}; `leakcli apply` makes it again")
            elif real.parent != (target / "builds").resolve() or not real.is_dir():
                raise UsageError(f"is a link to {os.readlink(link)}, not to one of leakcli's builds",
                                 file=f"{shown}/{pointer}", hint="remove it and run `leakcli apply`")
        elif os.path.lexists(link):
            raise UsageError(f"is {_kind(link)} where leakcli keeps its link to {POINTER_WHAT[pointer]}; leakcli "
                             "did not write it there", file=f"{shown}/{pointer}",
                             hint="move it away and run `leakcli apply`")
    published = (target / "current").exists()
    for name in LINKED:
        path = target / name
        if not os.path.lexists(path) or (path.is_symlink() and (
                Path(os.readlink(path)) == Path("current") / name
                or (published and path.resolve() == (target / "current" / name).resolve()))):
            continue
        if path.is_symlink():
            todo = "`leakcli apply` points it back"
        elif _flat_layout(target):
            todo = "`leakcli apply` takes it in as a build (leakcli 0.1 left it), or move it away"
        else:
            todo = "move it away (apply refuses until then)"
        why = "leads nowhere" if os.path.lexists(target / "current") else "is missing"
        reads = (f"{command} reads {shown}/current/{name} instead" if published
                 else f"nothing is published ({shown}/current {why}), and {command} reads nothing from it")
        warnings.append(f"{shown}/{name}: is {_kind(path)}, not leakcli's link to {STABLE_WHAT[name]}; {reads}; {todo}")
    return warnings


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
