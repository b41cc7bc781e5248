"""Shared fixtures: a throw-away copy of the project on the hand-made shop data, and a CLI runner."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from typer.testing import CliRunner

# CI runs the property tests with a fixed seed, so a run fails only for a change in the code; a
# developer's run explores new examples each time.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "shop"
SHARED_RAW = REPO.parent / "shared" / "datasets" / "maven-fuzzy-factory" / "raw"
PROJECT_FILES = ["phase-plan.json", "contracts", "templates", "ir", "prompts"]
RAW = Path("datasets/maven-fuzzy-factory/raw")
# Thresholds scaled to a few dozen sessions and six months; everything else is the shipped contract.
FIXTURE_THRESHOLDS = {"min_sessions": 5, "min_orders": 1, "priority_lookback_months": 6}

requires_shared = pytest.mark.skipif(not (SHARED_RAW / "website_sessions.csv").exists(),
                                     reason="the shared Maven dataset is not present")


@dataclass
class Project:
    root: Path

    @property
    def raw(self) -> Path:
        return self.root / RAW

    @property
    def db(self) -> Path:
        return self.root / "target" / "leakcli.duckdb"

    def read_json(self, rel: str) -> Any:
        return json.loads((self.root / rel).read_text())

    def write_json(self, rel: str, doc: Any) -> None:
        (self.root / rel).write_text(json.dumps(doc, indent=2) + "\n")

    def edit_json(self, rel: str, change: Callable[[Any], Any]) -> None:
        """Apply `change` to the parsed document in place and write it back."""
        doc = self.read_json(rel)
        change(doc)
        self.write_json(rel, doc)

    def edit_text(self, rel: str, old: str, new: str) -> None:
        path = self.root / rel
        text = path.read_text()
        assert old in text, f"{old!r} not in {rel}"
        path.write_text(text.replace(old, new))

    def drop_unit_tests(self, keep: Callable[[dict[str, Any]], bool]) -> None:
        """Keep only the unit tests (contracts/unit-tests.json) for which `keep` holds: for a test that
        changes on purpose a rule or a word the shipped unit tests pin."""
        self.edit_json("contracts/unit-tests.json", lambda doc: doc.update(tests=[t for t in doc["tests"] if keep(t)]))

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        import duckdb

        con = duckdb.connect(str(self.db), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def rows(self, sql: str) -> list[dict[str, Any]]:
        import duckdb

        con = duckdb.connect(str(self.db), read_only=True)
        try:
            cur = con.execute(sql)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        finally:
            con.close()


def make_project(dest: Path, data: Path | None = FIXTURE) -> Project:
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        else:
            shutil.copy(src, dest / name)
    project = Project(dest)
    project.edit_json("contracts/metric-catalog.json",
                      lambda doc: doc["thresholds"].update(FIXTURE_THRESHOLDS))
    if data is not None:
        project.raw.mkdir(parents=True)
        for csv in data.glob("*.csv"):
            shutil.copy(csv, project.raw / csv.name)
    return project


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A copy of the shipped contracts and templates, on the hand-made shop data, as the cwd."""
    p = make_project(tmp_path / "proj")
    monkeypatch.chdir(p.root)
    return p


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("LEAKCLI_DATA_DIR", "LEAKCLI_PROJECT_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "dumb")


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def leak() -> Callable[..., Outcome]:
    """Run the CLI in-process; stdout and stderr are kept apart."""
    from leakcli.cli import app

    def run(*args: str, env: dict[str, str] | None = None) -> Outcome:
        runner = CliRunner(env={"COLUMNS": "100", **(env or {})})
        result = runner.invoke(app, list(args), catch_exceptions=False)
        return Outcome(result.exit_code, result.stdout, result.stderr)

    return run


LONGEST_FIRST = ("test_incremental.py", "test_kill.py", "test_cli.py", "test_bad_inputs.py")  # about a minute each


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # the longest files first, so the two workers (one file each at a time) finish together
    items.sort(key=lambda item: LONGEST_FIRST.index(item.path.name) if item.path.name in LONGEST_FIRST
               else len(LONGEST_FIRST))
    if os.environ.get("LEAKCLI_SLOW"):
        return
    skip = pytest.mark.skip(reason="slow: set LEAKCLI_SLOW=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
