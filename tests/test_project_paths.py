"""Where things are: the project is found upward from a subfolder, --project-dir and --data-dir
naming the wrong thing are pointed at the right one, and --target-dir takes every artifact."""

from __future__ import annotations

import pytest
from conftest import RAW

from leakcli.errors import ExitCode


def _line(out, code: int) -> str:
    """The one line of a failed command on stderr (nothing else there, no traceback)."""
    assert out.exit_code == code, (out.exit_code, out.stderr)
    (line,) = out.stderr.splitlines()
    assert line.startswith("leakcli: error: ")
    return line


def test_the_project_is_found_from_a_subfolder(project, leak, monkeypatch):
    top = leak("plan").stdout.splitlines()[0]
    monkeypatch.chdir(project.root / "templates")
    out = leak("plan")
    assert out.exit_code == 0 and out.stdout.splitlines()[0] == top
    assert top.startswith("Read 23 files: 10 project files, 9 templates, 4 data files")
    assert leak("apply").exit_code == 0
    assert (project.root / "target/leakcli.duckdb").exists() and not (project.root / "templates/target").exists()
    assert leak("verify").exit_code == 0


def test_outside_a_project_is_one_line(leak, tmp_path, monkeypatch):
    empty = (tmp_path / "empty").resolve()
    empty.mkdir()
    monkeypatch.chdir(empty)
    line = (f"leakcli: error: not a leakcli project: no phase-plan.json in {empty} or any folder above it; "
            "run leakcli in the project folder, or pass --project-dir")
    for command in (["plan"], ["apply"], ["verify"], ["show", "stg__orders"]):
        assert _line(leak(*command), ExitCode.USAGE) == line, command
    assert list(empty.iterdir()) == []


@pytest.mark.parametrize("name, words", [
    ("phase-plan.json", "is a file, not a project directory"),
    ("nope", "project directory does not exist"),
    ("templates", "not a leakcli project: no phase-plan.json here"),
])
def test_project_dir_naming_a_file_or_a_missing_folder_is_one_line(project, leak, name, words):
    path = project.root / name
    for env in (None, {"LEAKCLI_PROJECT_DIR": str(path)}):
        out = leak("plan", *(["--project-dir", str(path)] if env is None else []), env=env)
        assert _line(out, ExitCode.USAGE) == f"leakcli: error: {path}: {words}; name the folder holding phase-plan.json"


@pytest.mark.parametrize("named_by", ["--data-dir", "LEAKCLI_DATA_DIR"])
def test_a_data_dir_one_level_off_is_pointed_at(project, leak, named_by):
    def run(path):
        if named_by == "--data-dir":
            return leak("plan", "--data-dir", path)
        return leak("plan", env={"LEAKCLI_DATA_DIR": path})

    assert _line(run(f"{RAW}/orders.csv"), ExitCode.USAGE) == (
        f"leakcli: error: {RAW}/orders.csv: is a file, not a directory: {named_by} names the folder of the Maven "
        f"CSVs; did you mean {RAW}?")
    assert _line(run("datasets/maven-fuzzy-factory"), ExitCode.USAGE) == (
        f"leakcli: error: datasets/maven-fuzzy-factory: holds none of the Maven CSVs named by {named_by}; did you "
        f"mean {RAW}?")


@pytest.mark.parametrize("named_by", ["--target-dir", "LEAKCLI_TARGET_DIR"])
def test_target_dir_takes_every_artifact(project, leak, tmp_path, named_by):
    target = (tmp_path / "elsewhere").resolve()

    def run(*args):
        if named_by == "--target-dir":
            return leak(*args, "--target-dir", str(target))
        return leak(*args, env={"LEAKCLI_TARGET_DIR": str(target)})

    out = run("apply")
    assert out.exit_code == 0, out.stderr
    assert out.stdout.startswith(f"Built {target}/leakcli.duckdb in ")
    for rel in ("leakcli.duckdb", "run_results.json", "current/state.json", "exports/mart__priority_actions.csv",
                "compiled/stg__orders.sql"):
        assert (target / rel).exists(), rel
    assert {m["action"] for m in run("plan", "--json").json()["models"]} == {"unchanged"}
    assert run("verify").stdout.splitlines()[0] == f"Acceptance tests on {target}/leakcli.duckdb:"
    assert run("show", "stg__orders", "--limit", "1").stdout.startswith("stg__orders: 1 of 121 row(s)")
    assert not (project.root / "target").exists()
    assert _line(leak("verify"), ExitCode.USAGE) == ("leakcli: error: target/leakcli.duckdb: nothing is built yet; "
                                                     "run `leakcli apply` first")


def test_export_from_a_subfolder_says_how_to_reach_it_from_there(project, leak, monkeypatch):
    assert leak("apply").exit_code == 0
    monkeypatch.chdir(project.root / "templates")
    out = leak("export", "dbt", "dbtout")
    assert out.exit_code == 0, out.stderr
    assert (project.root / "templates/dbtout/dbt_project.yml").exists()
    assert out.stdout.rstrip().endswith("Next: cd dbtout && dbt build --profiles-dir ."), out.stdout
