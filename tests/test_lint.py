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


def test_the_package_keeps_its_floors():
    """pyproject.toml's import-linter contracts: a lower floor never imports a higher one (imports in
    functions and under TYPE_CHECKING included), no cycle between files or subpackages, duckdb only in
    engine/, typer only in cli.py."""
    pytest.importorskip("importlinter")
    code = "from importlinter.cli import lint_imports; raise SystemExit(lint_imports(no_cache=True, no_logo=True))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Contracts: 4 kept, 0 broken." in out.stdout


def test_modules_are_small_and_the_package_has_its_subpackages():
    package = REPO / "leakcli"
    loose = sorted(p.name for p in package.glob("*.py"))
    subpackages = sorted(p.parent.name for p in package.glob("*/__init__.py"))
    assert len(loose) <= 10, loose  # the entry points, the context, and the bottom floor
    assert {"contracts", "engine", "render", "store", "sources", "plan", "commands", "outputs"} <= set(subpackages)
    sizes = {str(p.relative_to(REPO)): len(p.read_text().splitlines()) for p in package.rglob("*.py")}
    assert max(sizes.values()) <= 450, max(sizes.items(), key=lambda kv: kv[1])


def test_every_entry_point_the_command_line_calls_says_what_it_does():
    import ast
    import importlib

    tree = ast.parse((REPO / "leakcli/cli.py").read_text())
    names = [(node.module, a.name) for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
             and node.module and node.module.startswith("leakcli.") and node.module != "leakcli.errors"
             for a in node.names]
    assert len(names) >= 15
    undocumented = [f"{m}.{n}" for m, n in names if not (getattr(importlib.import_module(m), n).__doc__ or "").strip()
                    or (getattr(importlib.import_module(m), n).__doc__ or "").startswith(n + "(")]  # dataclass default
    assert undocumented == []


def _readme_install_lines() -> list[str]:
    """The `pip install` lines of the README, in order (the quick start's, then the dbt section's), and
    of docs/dbt.md."""
    import re

    text = (REPO / "README.md").read_text() + (REPO / "docs" / "dbt.md").read_text()
    return [m.group(1) for m in re.finditer(r"pip install (?:-q )?-e '(\.\[[a-z,]+\])'", text)]


@pytest.mark.network
@pytest.mark.parametrize("extras", ["quick start, then the dbt line", "the dbt line alone"])
def test_the_readme_install_lines_leave_every_requirement_met(extras, tmp_path):
    """What pip would install for the README's dbt line, on top of this environment (the quick
    start's), leaves every installed distribution's requirements met: `.[dbt]` after `.[test]` once
    downgraded pathspec under mypy 2. Asks pip's resolver (`--dry-run`), so it needs the package index."""
    import importlib.metadata as md
    import json

    packaging = pytest.importorskip("packaging.requirements")
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    lines = _readme_install_lines()
    assert lines[0] == ".[test]" and ".[test,dbt]" in lines, lines
    wanted = ".[test,dbt]" if extras == "the dbt line alone" else ".[dbt]"
    report = tmp_path / "report.json"
    out = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--report", str(report),
                          "-e", f"{REPO}{wanted[1:]}"], capture_output=True, text=True, cwd=REPO, timeout=300)
    if out.returncode != 0 and ("No matching distribution" in out.stderr or "connection" in out.stderr.lower()):
        pytest.skip(f"the package index cannot be reached: {out.stderr.strip().splitlines()[-1]}")
    assert out.returncode == 0, out.stderr
    env = {canonicalize_name(d.metadata["Name"]): (Version(d.version), d.requires or []) for d in md.distributions()}
    for item in json.loads(report.read_text())["install"]:
        meta = item["metadata"]
        env[canonicalize_name(meta["name"])] = (Version(meta["version"]), meta.get("requires_dist", []))
    broken = []
    for name, (_, requires) in env.items():
        for text in requires:
            req = packaging.Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            have = env.get(canonicalize_name(req.name))
            if have is None or not req.specifier.contains(have[0], prereleases=True):
                broken.append(f"{name} needs {text}, would have {have[0] if have else 'nothing'}")
    assert not broken, broken
