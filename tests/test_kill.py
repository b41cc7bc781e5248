"""Kill and interrupt `apply` on the full shared dataset (skipped when it is absent).

SIGKILL at 8 moments spread over a whole apply (each at a random point of its own stretch, so every
phase is hit and the run stays short): after each, target/ shows one whole build, old or new: the
database verifies, and its exports, compiled SQL and run results are those of the same build. SIGINT
and SIGTERM: exit 130, previous build kept, the attempt removed. An incremental apply (the shop's last
days appended) killed at moments spread over it leaves the old build or the new one, and the next
apply equals a build from scratch. LEAKCLI_KILLS changes the number of kills."""

from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
from conftest import SHARED_RAW, make_project, requires_shared
from growing import FILES, Shop, fingerprints

pytestmark = [requires_shared, pytest.mark.dataset]
KILLS = int(os.environ.get("LEAKCLI_KILLS", "8"))
PROGRESS = re.compile(r"leakcli: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d .+: \d+\.\ds$")


def _start(root, stderr=subprocess.DEVNULL, args=("--full-refresh", "--data-dir", str(SHARED_RAW))):
    return subprocess.Popen(
        [sys.executable, "-m", "leakcli", "apply", *args],
        cwd=root, stdout=subprocess.DEVNULL, stderr=stderr, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _finish(proc, timeout=300):
    """Exit code and stderr without the progress log (a phase over a second is logged: machine speed)."""
    _, err = proc.communicate(timeout=timeout)
    lines = (err or "").splitlines(keepends=True)
    return proc.returncode, "".join(line for line in lines if not PROGRESS.match(line))


def _building(builds, existing) -> bool:
    """A new build's database has its first blocks on disk: DuckDB is writing the models."""
    new = set(builds.iterdir()) - existing
    return any((b / "leakcli.duckdb").is_file() and (b / "leakcli.duckdb").stat().st_size > 0 for b in new)


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _verifies(root):
    from leakcli.commands.verify import verify
    from leakcli.context import Project as Context

    return verify(Context.at(root)).summary["passed"] == 15


def _one_whole_build(root):
    """The published database, exports, compiled SQL and run results all come from one build."""
    import json

    import duckdb

    from leakcli.engine.parse import sql_digest
    from leakcli.store import state

    target = root / "target"
    results = json.loads((target / "current/run_results.json").read_text())
    assert results["status"] == "success"
    meta = state.read_state(target / "leakcli.duckdb")["mart__priority_actions"]
    assert meta is not None and meta.plan == results["plan_fingerprint"]
    con = duckdb.connect(str(target / "leakcli.duckdb"), read_only=True)
    try:
        for mart in ("mart__core_leak_summary", "mart__priority_actions"):
            table = con.execute(f"select * from {mart} order by all").fetchall()
            for suffix in ("csv", "parquet"):
                export = con.execute(f"select * from '{target}/exports/{mart}.{suffix}' order by all").fetchall()
                assert len(export) == len(table)
            assert con.execute(f"select * from '{target}/exports/{mart}.parquet' order by all").fetchall() == table
    finally:
        con.close()
    for name, model_meta in state.read_state(target / "leakcli.duckdb").items():
        assert model_meta is not None
        compiled = (target / "compiled" / f"{name}.sql").read_text().split("\n", 1)[1]
        assert sql_digest(compiled) == model_meta.parts.sql, name


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    project = make_project(tmp_path_factory.mktemp("kill") / "proj", data=None)
    t0 = time.perf_counter()
    assert _finish(_start(project.root, subprocess.PIPE)) == (0, "")
    return project, time.perf_counter() - t0


def test_sigkill_at_random_moments_keeps_a_build_that_verifies(built):
    project, seconds = built
    rng = random.Random(20261128)
    swapped = 0
    for i in range(KILLS):
        before = _sha(project.db)
        proc = _start(project.root)
        stretch = seconds * 1.1 / KILLS  # the i-th stretch of an apply's time, and a little past its end
        time.sleep(0.05 + rng.uniform(i * stretch, (i + 1) * stretch))
        proc.kill()
        _finish(proc, 60)
        after = _sha(project.db)
        swapped += after != before  # the kill came after the publish: the new build is complete
        assert _verifies(project.root)
        _one_whole_build(project.root)
    # the next apply takes the lock at once and clears whatever a kill left behind
    assert _finish(_start(project.root, subprocess.PIPE)) == (0, "")
    kept = {(project.root / "target" / p).resolve().name for p in ("current", "previous")}
    assert {b.name for b in (project.root / "target/builds").iterdir()} <= kept
    print(f"{KILLS} kills, {swapped} after the swap; apply takes {seconds:.1f}s")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_sigint_and_sigterm_exit_130_and_keep_the_build(built, sig):
    project, seconds = built
    before = _sha(project.db)
    builds = project.root / "target" / "builds"
    existing = set(builds.iterdir())
    proc = _start(project.root, subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _building(builds, existing):  # interrupt DuckDB at work
        time.sleep(0.01)
    proc.send_signal(sig)
    code, err = _finish(proc, 60)
    assert code == 130, err
    assert err.strip().splitlines()[-1] == ("leakcli: error: target/leakcli.duckdb: apply interrupted; the "
                                            "previous build is unchanged; run `leakcli apply` again")
    assert "Traceback" not in err
    assert _sha(project.db) == before
    assert set(builds.iterdir()) == existing  # the interrupted attempt is removed
    _one_whole_build(project.root)


@pytest.fixture(scope="module")
def appended(tmp_path_factory):
    """The shop split at 2015-03-18: published, the build of the rows before (its target/ kept aside);
    the files with the rest appended; a build from scratch of those; how long the incremental apply takes."""
    tmp = tmp_path_factory.mktemp("appended")
    shop, base, full, data = Shop(SHARED_RAW, "2015-03-18"), tmp / "base", tmp / "full", tmp / "data"
    for folder in (base, data):
        folder.mkdir()
        shop.write(folder)
    shutil.copytree(base, full)
    shop.append(full, "9999")
    project = make_project(tmp / "proj", data=None)
    args = ("--data-dir", str(data))
    assert _finish(_start(project.root, subprocess.PIPE, args)) == (0, "")
    shutil.copytree(project.root / "target", tmp / "target.base", symlinks=True)
    reference = make_project(tmp / "reference", data=None)
    assert _finish(_start(reference.root, subprocess.PIPE, ("--data-dir", str(full)))) == (0, "")
    for name in FILES:
        shutil.copy(full / name, data / name)
    t0 = time.perf_counter()
    assert _finish(_start(project.root, subprocess.PIPE, args)) == (0, "")
    seconds = time.perf_counter() - t0
    return project, tmp, args, fingerprints(tmp / "target.base/leakcli.duckdb"), fingerprints(reference.db), seconds


def test_sigkill_during_an_incremental_apply_leaves_one_build_and_the_next_apply_is_exact(appended):
    project, tmp, args, old, new, seconds = appended
    assert old != new
    target, kills, swapped = project.root / "target", max(KILLS // 2, 1), 0
    rng = random.Random(20261206)
    for i in range(kills):
        shutil.rmtree(target)
        shutil.copytree(tmp / "target.base", target, symlinks=True)  # published: the rows before the split
        proc = _start(project.root, args=args)
        stretch = seconds * 1.1 / kills
        time.sleep(0.05 + rng.uniform(i * stretch, (i + 1) * stretch))
        proc.kill()
        _finish(proc, 60)
        assert fingerprints(project.db) in (old, new), i  # one whole build, the old or the new
        _one_whole_build(project.root)
        swapped += fingerprints(project.db) == new
        assert _finish(_start(project.root, subprocess.PIPE, args)) == (0, "")
        assert fingerprints(project.db) == new, i
    print(f"{kills} kills of an incremental apply, {swapped} after the swap; it takes {seconds:.1f}s")
