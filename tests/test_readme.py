"""The README as a new user pastes it: every `sh` block, in order, in one new shell, on a fresh copy of
the project (its tracked files only). Two parts are stood in for: the install (the one step that needs
the package index: this test run's own environment, already installed, is the copy's `.venv`), and the
quick start's second line, which runs this very suite. The shell starts without that environment on
its PATH, so a block that calls `leakcli` or `python` before `source .venv/bin/activate` fails here as
it would for the user."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, SHARED_RAW, requires_shared

pytestmark = [requires_shared, pytest.mark.dataset]
INSTALL = "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && "
TESTS = ".venv/bin/python -m pytest -q"


def _blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", (REPO / "README.md").read_text(), flags=re.DOTALL)


def test_the_quick_start_is_two_lines_and_ci_runs_the_second():
    first, second = _blocks()[0].strip().splitlines()
    assert first.startswith(INSTALL) and first.endswith(".venv/bin/leakcli apply")
    assert second == TESTS and TESTS in (REPO / ".ci" / "run").read_text().splitlines()


def test_the_readme_runs_as_pasted_in_one_new_shell(tmp_path):
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True)
    if tracked.returncode != 0:
        pytest.skip("not a git work tree")
    clone = tmp_path / "leakcli"
    for rel in tracked.stdout.splitlines():
        (clone / rel).parent.mkdir(parents=True, exist_ok=True)
        (clone / rel).write_bytes((REPO / rel).read_bytes())
    (clone / ".venv").symlink_to(Path(sys.prefix))
    (tmp_path / "shared").symlink_to(SHARED_RAW.parents[2])  # ../shared beside the clone, as in CI
    script = "\n".join(_blocks()).replace(INSTALL, "").replace(TESTS, "true  # the suite itself")
    venv_bin = str(Path(sys.prefix) / "bin")
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != venv_bin)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "LEAKCLI_DATA_DIR")} | {"PATH": path}
    done = subprocess.run(["bash", "--noprofile", "--norc", "-e", "-c", script], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("The answer (mart__priority_actions)") >= 2  # the synthetic one, then the shop's
    assert "15/15 passed" in done.stdout
