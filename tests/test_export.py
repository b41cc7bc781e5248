"""export dbt: the pipeline as a dbt project; built with dbt-duckdb when the [dbt] extra is installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from leakcli.errors import ExitCode

DBT = os.environ.get("LEAKCLI_DBT") or shutil.which("dbt", path=str(Path(sys.executable).parent))
MARTS = ("mart__core_leak_summary", "mart__priority_actions")


def _dbt(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    return subprocess.run([str(DBT), *args, "--profiles-dir", "."], cwd=out, env=env, capture_output=True,
                          text=True, timeout=600)


def test_export_writes_a_dbt_project_and_refuses_foreign_folders(project, leak, tmp_path):
    out = tmp_path / "dbt"
    result = leak("export", "dbt", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert set(doc["models"]) == {p.stem for p in out.glob("models/*/*.sql")} and len(doc["models"]) == 9
    assert doc["tests"] == [f"AT-{i:02d}" for i in range(1, 16) if i != 2] and "AT-02" in doc["skipped_tests"]
    for rel in ("dbt_project.yml", "profiles.yml", "models/sources.yml", "models/schema.yml", "README.md"):
        assert (out / rel).is_file(), rel
    model = (out / "models/intermediate/int__session_outcomes.sql").read_text()
    assert "{{ ref('stg__website_sessions') }}" in model and '"stg__website_sessions"' not in model
    assert "{{ source('maven', 'orders') }}" in (out / "models/staging/stg__orders.sql").read_text()
    schema = json.loads((out / "models/schema.yml").read_text().split("\n", 1)[1])  # YAML written as JSON
    summary = next(m for m in schema["models"] if m["name"] == "mart__core_leak_summary")
    assert summary["description"] and summary["columns"][0] == {"name": "session_month", "data_type": "DATE"}
    project_yml = (out / "dbt_project.yml").read_text()
    assert "read_csv(" in project_yml and str(project.raw) in project_yml
    # its own folder is rewritten: a file of the last export that is gone goes, dbt's own files stay
    (out / "tests/AT-99.sql").write_text("select 1")
    marker = json.loads((out / ".leakcli").read_text())
    (out / ".leakcli").write_text(json.dumps({**marker, "files": [*marker["files"], "tests/AT-99.sql"]}))
    (out / "leakcli_dbt.duckdb").write_text("dbt's database")
    assert leak("export", "dbt", str(out)).exit_code == 0
    assert not (out / "tests/AT-99.sql").exists() and (out / "leakcli_dbt.duckdb").read_text() == "dbt's database"
    assert leak("apply").exit_code == 0
    into_target = leak("export", "dbt", "target")
    assert into_target.exit_code == ExitCode.USAGE and "not a dbt export" in into_target.stderr
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    refused = leak("export", "dbt", str(mine))
    assert refused.exit_code == ExitCode.USAGE and "mine" in refused.stderr and len(refused.stderr.splitlines()) == 1
    assert sorted(p.name for p in mine.iterdir()) == ["keep.txt"]


@pytest.mark.skipif(not DBT, reason="dbt-duckdb is not installed (pip install -e '.[test,dbt]')")
def test_dbt_builds_the_export_equal_to_leakcli(project, leak, tmp_path):
    import duckdb

    assert leak("apply").exit_code == 0
    out = tmp_path / "dbt"
    assert leak("export", "dbt", str(out)).exit_code == 0
    built = _dbt(out, "build")
    assert built.returncode == 0, built.stdout[-3000:]
    results = json.loads((out / "target/run_results.json").read_text())["results"]
    tests = [r for r in results if r["unique_id"].startswith("test.")]
    assert len(tests) == 14 and {r["status"] for r in tests} == {"pass"}
    con = duckdb.connect()
    con.execute("attach $p as dbt (read_only)", {"p": str(out / "leakcli_dbt.duckdb")})
    con.execute("attach $p as leak (read_only)", {"p": str(project.root / "target/leakcli.duckdb")})
    for mart in MARTS:
        n = con.execute(f"select count(*) from leak.main.{mart}").fetchone()[0]
        assert n > 0 and con.execute(f"select count(*) from dbt.main.{mart}").fetchone()[0] == n
        for a, b in (("leak", "dbt"), ("dbt", "leak")):
            extra = con.execute(f"select count(*) from (select * from {a}.main.{mart} "
                                f"except all select * from {b}.main.{mart})").fetchone()[0]
            assert extra == 0, (mart, a, b)
    con.close()
    # the data tests can fail: a duplicated grain row fails AT-03
    con = duckdb.connect(str(out / "leakcli_dbt.duckdb"))
    con.execute("insert into mart__core_leak_summary select * from mart__core_leak_summary limit 1")
    con.close()
    failed = _dbt(out, "test", "--select", "AT-03")
    assert failed.returncode == 1 and "Failure in test AT-03" in failed.stdout


def test_export_needs_the_data_it_will_read(tmp_path, leak, monkeypatch):
    from conftest import make_project

    p = make_project(tmp_path / "fresh", data=None)  # no CSVs, nothing generated yet
    monkeypatch.chdir(p.root)
    out = leak("export", "dbt", str(tmp_path / "dbt"))
    assert out.exit_code == ExitCode.USAGE and "run `leakcli apply` first" in out.stderr
    assert len(out.stderr.splitlines()) == 1 and not (tmp_path / "dbt").exists()
