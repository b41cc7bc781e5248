"""Kill and interrupt `apply` on the full shared dataset (skipped when it is absent).

SIGKILL at 20 random moments: after each, the database is the previous build byte for byte (or the
new one, when the kill came after the swap) and it verifies. SIGINT: exit 130, previous build kept,
no temporary file left. LEAKCLI_KILLS changes the number of kills."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from conftest import SHARED_RAW, make_project, requires_shared

pytestmark = [requires_shared, pytest.mark.dataset]
KILLS = int(os.environ.get("LEAKCLI_KILLS", "20"))


def _start(root, stderr=subprocess.DEVNULL):
    return subprocess.Popen(
        [sys.executable, "-m", "leakcli", "apply", "--full-refresh", "--data-dir", str(SHARED_RAW)],
        cwd=root, stdout=subprocess.DEVNULL, stderr=stderr, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _finish(proc, timeout=300):
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err or ""


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _verifies(root):
    from leakcli.verify import VerifyRequest, verify

    return verify(VerifyRequest(root)).summary["passed"] == 14


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
    for _ in range(KILLS):
        before = _sha(project.db)
        proc = _start(project.root)
        time.sleep(rng.uniform(0.05, seconds * 1.1))
        proc.kill()
        _finish(proc, 60)
        after = _sha(project.db)
        swapped += after != before  # the kill came after the swap: the new build is complete
        assert _verifies(project.root)
    # the next apply takes the lock at once and clears whatever a kill left behind
    assert _finish(_start(project.root, subprocess.PIPE)) == (0, "")
    leftovers = sorted(p.name for p in (project.root / "target").iterdir() if "building" in p.name)
    assert leftovers == []
    print(f"{KILLS} kills, {swapped} after the swap; apply takes {seconds:.1f}s")


def test_sigint_exits_130_and_keeps_the_build(built):
    project, seconds = built
    before = _sha(project.db)
    proc = _start(project.root, subprocess.PIPE)
    building = project.root / "target" / ".leakcli.duckdb.building"
    deadline = time.monotonic() + 60
    while not building.exists() and time.monotonic() < deadline:  # interrupt the build itself
        time.sleep(0.01)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    code, err = _finish(proc, 60)
    assert code == 130, err
    assert err.strip().splitlines()[-1] == "leakcli: error: interrupted; the previous build is unchanged"
    assert "Traceback" not in err
    assert _sha(project.db) == before
    assert not [p for p in (project.root / "target").iterdir() if "building" in p.name]
