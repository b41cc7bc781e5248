"""The project's own checks run with the tests: ruff over everything, mypy --strict over leakcli/."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO


@pytest.mark.parametrize("tool, args", [("ruff", ["check", "--quiet", "."]),
                                        ("mypy", ["--config-file", "pyproject.toml"])])
def test_project_checks_are_clean(tool, args):
    pytest.importorskip(tool)
    out = subprocess.run([sys.executable, "-m", tool, *args], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stdout + out.stderr
