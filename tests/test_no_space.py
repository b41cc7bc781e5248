"""Issue 31: running out of space, of bytes or of inodes, at any step of a command that writes is one
line on stderr with exit 3, no traceback, the published build as it was, and nothing anonymous left
behind: no build folder that no link names, no temporary file, no half-written output.

A full disk is simulated where the OS would say it: each file, folder or link Python makes under the
project spends one inode of a budget, and the one past the last fails with ENOSPC. DuckDB writes its
own files; the tests of those make DuckDB's connection say what it says on a full disk."""

from __future__ import annotations

import builtins
import errno
import io
import os
import pathlib
import re

import pytest
from test_failures import _fingerprint

from leakcli.errors import ExitCode

FULL = "No space left on device"
BEST_EFFORT = ("state.json.tmp", "leakcli.json.tmp", ".cache")  # the summary readers use, the cache


class Disk:
    """The project's disk: unlimited until `left` is set; `made` lists what was made, in order."""

    def __init__(self, root: pathlib.Path) -> None:
        self.root = str(root)
        self.left: int | None = None
        self.made: list[str] = []

    def spend(self, path: object) -> None:
        full = os.path.abspath(os.fspath(path))  # type: ignore[arg-type]
        if not full.startswith(self.root + os.sep) or os.path.lexists(full):
            return
        if self.left is not None:
            if self.left <= 0:
                raise OSError(errno.ENOSPC, FULL, full)
            self.left -= 1
        self.made.append(os.path.relpath(full, self.root))


@pytest.fixture
def disk(project, monkeypatch):
    d = Disk(project.root)
    real = {"mkdir": os.mkdir, "symlink": os.symlink, "open": os.open, "io_open": io.open}

    def mkdir(path, mode=0o777, *, dir_fd=None):
        d.spend(path)
        return real["mkdir"](path, mode)

    def symlink(src, dst, target_is_directory=False, *, dir_fd=None):
        d.spend(dst)
        return real["symlink"](src, dst, target_is_directory)

    def os_open(path, flags, mode=0o777, *, dir_fd=None):
        if flags & os.O_CREAT:
            d.spend(path)
        return real["open"](path, flags, mode, dir_fd=dir_fd)

    def io_open(file, mode="r", *args, **kwargs):
        if isinstance(file, str | os.PathLike) and any(c in mode for c in "wxa"):
            d.spend(file)
        return real["io_open"](file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "symlink", symlink)
    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(io, "open", io_open)
    monkeypatch.setattr(builtins, "open", io_open)
    accessor = getattr(pathlib, "_normal_accessor", None)  # Python 3.10: pathlib calls os through it
    for name, fn in (("mkdir", mkdir), ("symlink", symlink), ("open", io_open)) if accessor is not None else ():
        monkeypatch.setattr(accessor, name, fn, raising=False)
    return d


def _one_line(out, *words):
    assert out.exit_code == ExitCode.EXECUTION, out.stderr
    assert "Traceback" not in out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("leakcli: error: ")]
    assert len(errors) == 1 and len(errors[0]) <= 300, out.stderr
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


def _nothing_anonymous(project):
    """Every build is named by a pointer; no temporary of leakcli's is left anywhere under target/."""
    target = project.root / "target"
    named = {os.path.basename(os.readlink(target / p)) for p in ("current", "previous", "rejected")
             if (target / p).is_symlink()}
    assert {b.name for b in (target / "builds").iterdir()} <= named
    strays = [str(p.relative_to(target)) for p in target.rglob("*")
              if p.name.endswith((".tmp", ".new", ".link", ".building")) or p.name == ".full-check"]
    assert strays == []


def _kind(made: str) -> str:
    """What a path stands for, whatever its build: compiled/*.sql.tmp for each model's SQL."""
    made = re.sub(r"builds/[^/]+", "builds/<id>", made)
    return re.sub(r"compiled/[^/]+\.sql\.tmp$", "compiled/<model>.sql.tmp", made)


@pytest.fixture
def built(project, leak):
    assert leak("apply").exit_code == 0
    return project


def test_apply_out_of_inodes_at_each_step_is_one_line_and_leaves_nothing_anonymous(built, leak, disk):
    assert leak("apply", "--full-refresh").exit_code == 0  # counts what an apply makes
    made = [_kind(m) for m in disk.made]
    publish = made.index("target/.current.new")
    steps = {kind: made.index(kind) for kind in made[:publish + 1]}
    for kind in ("target/builds/<id>", "target/builds/<id>/compiled", "target/builds/<id>/compiled/<model>.sql.tmp",
                 "target/builds/<id>/exports", "target/builds/<id>/run_results.json.tmp"):
        assert kind in steps, made
    before = _fingerprint(built)
    for kind, budget in steps.items():  # the first file of each kind made is the one the disk has no room for
        disk.left, disk.made = budget, []
        out = leak("apply", "--full-refresh")
        disk.left = None
        shown = kind.replace("<id>", "").replace("<model>", "")
        line = _one_line(out, FULL, "the published build is unchanged")
        assert ("target/current: cannot publish the build" if kind == "target/.current.new" else
                "cannot write the build") in line
        if not kind.endswith(BEST_EFFORT):  # a file it can do without fails silently; the next one is named
            assert all(part in line for part in shown.split("/") if part and not part.startswith(".")), (kind, line)
        assert _fingerprint(built) == before, kind
        _nothing_anonymous(built)
    disk.left = publish + 1  # room for the link that publishes: what follows it is best effort
    assert leak("apply", "--full-refresh").exit_code == 0
    disk.left = None
    assert leak("verify").exit_code == 0


def test_the_first_apply_with_no_inode_left_names_the_lock_file(project, leak, disk):
    disk.left = 0
    _one_line(leak("apply"), "target/.leakcli.lock: cannot write the lock file", FULL,
              "free space (or inodes) on its disk")
    disk.left = 1  # target/ itself, then nothing
    _one_line(leak("apply"), "target/.leakcli.lock: cannot write the lock file", FULL)
    assert [p.name for p in (project.root / "target").iterdir()] == []
    disk.left = None
    assert leak("apply").exit_code == 0


def _duckdb_full(path: str) -> Exception:
    import duckdb

    return duckdb.IOException(f'IO Error: Cannot open file "{path}": {FULL}')


def test_duckdb_unable_to_make_the_build_database_is_no_space_not_a_damaged_file(built, leak, monkeypatch):
    import duckdb

    real = duckdb.connect

    def connect(database=":memory:", read_only=False, **kwargs):
        if "/builds/" in str(database) and not read_only:
            raise _duckdb_full(str(database))
        return real(database, read_only=read_only, **kwargs)

    before = _fingerprint(built)
    monkeypatch.setattr(duckdb, "connect", connect)
    line = _one_line(leak("apply", "--full-refresh"), "leakcli.duckdb: cannot write the build: " + FULL,
                     "the published build is unchanged")
    assert line.startswith("leakcli: error: target/builds/") and "damaged" not in line
    assert _fingerprint(built) == before
    _nothing_anonymous(built)


@pytest.mark.parametrize("statement, failure", [
    ("copy ", 'IO Error: Cannot open file "{build}/exports/mart__core_leak_summary.parquet": ' + FULL),
    ("create table \"stg__orders\"", 'TransactionContext Error: Failed to commit: Cannot open file '
                                     '"{build}/leakcli.duckdb.wal": ' + FULL),
])
def test_duckdb_out_of_space_while_writing_the_build_is_one_line(built, leak, monkeypatch, statement, failure):
    import duckdb

    from leakcli.engine import connection

    real = connection.execute

    def execute(con, sql, params=None):
        if sql.startswith(statement):
            build = con.execute("select path from duckdb_databases() where database_name = current_database()")
            folder = os.path.dirname(build.fetchone()[0])
            with connection.translated():
                kind = duckdb.IOException if failure.startswith("IO") else duckdb.TransactionException
                raise kind(failure.format(build=folder))
        return real(con, sql, params)

    monkeypatch.setattr(connection, "execute", execute)
    monkeypatch.setattr("leakcli.commands.stages.execute", execute)
    before = _fingerprint(built)
    line = _one_line(leak("apply", "--full-refresh"), "cannot write the build", FULL, "target/builds/",
                     "the published build is unchanged")
    assert ("exports/mart__core_leak_summary.parquet" if statement == "copy " else "stg__orders") in line
    assert _fingerprint(built) == before
    _nothing_anonymous(built)


@pytest.mark.parametrize("args, budget, words, left", [
    (["plan", "--out", "target/plan.json"], 0, ["target/plan.json: cannot write the plan"], ["target/plan.json"]),
    (["report"], 0, ["target/report.html: cannot write the report"], ["target/report.html"]),
    (["verify", "--junit-xml", "junit.xml"], 0, ["junit.xml: cannot write the JUnit report"], ["junit.xml"]),
    (["verify", "--full-check"], 0, ["target/.full-check: cannot write the build from scratch"], []),
    (["export", "dbt", "dbt_out"], 3, ["dbt_out/", "cannot write the export"], ["dbt_out"]),
    (["profile", "--out", "profiles"], 2, ["profiles/", "cannot write the profile", "1 of 6 profiles were written",
                                           "leakcli profile --force"], []),
    (["generate", "--out", "shop", "--scale", "0.01"], 1, ["shop: cannot write the dataset"], ["shop"]),
])
def test_every_command_that_writes_says_a_full_disk_in_one_line(built, leak, disk, args, budget, words, left):
    before = _fingerprint(built)
    disk.left = budget
    out = leak(*args)
    disk.left = None
    _one_line(out, FULL, *words)
    assert _fingerprint(built) == before
    for rel in left:  # nothing half-made where the output goes
        assert not os.path.lexists(built.root / rel), rel
    _nothing_anonymous(built)
