"""Which data a run reads: the data the published build was made from is kept (never a silent swap
to synthetic data), --synthetic says so on everything it shows, a generated dataset or a moved copy
is named and recorded, a copy of the project reads its own data, and generate needs no project."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import RAW, make_project

from leakcli.errors import ExitCode

SYNTHETIC = "target/synthetic/maven-fuzzy-factory"


def _line(out, code: int) -> str:
    """The one line of a failed command on stderr (nothing else there, no traceback)."""
    assert out.exit_code == code, (out.exit_code, out.stderr)
    (line,) = out.stderr.splitlines()
    assert line.startswith("leakcli: error: ")
    return line


@pytest.mark.parametrize("named_by", ["--data-dir", "LEAKCLI_DATA_DIR"])
def test_plain_apply_keeps_the_data_the_published_build_was_made_from(project, leak, tmp_path, named_by):
    copy = (tmp_path / "copy").resolve()
    shutil.copytree(project.raw, copy)
    by_option = named_by == "--data-dir"
    out = leak("apply", "--json", *(["--data-dir", str(copy)] if by_option else []),
               env=None if by_option else {"LEAKCLI_DATA_DIR": str(copy)})
    assert out.exit_code == 0, out.stderr
    assert out.json()["dataset"] == {"kind": "files", "origin": "option" if by_option else "environment",
                                     "path": str(copy), "pending": False}
    notice = f"leakcli: using the data the published build was made from: {copy} (name --data-dir to change it)"
    out = leak("apply")
    assert out.exit_code == 0, out.stderr
    assert notice in out.stderr.splitlines()
    assert out.stdout.splitlines()[0].endswith(f"(dataset: files at {copy})")
    doc = leak("plan", "--json").json()
    assert doc["dataset"] == {"kind": "files", "origin": "published", "path": str(copy), "pending": False}
    assert {m["action"] for m in doc["models"]} == {"unchanged"}
    assert not (project.root / SYNTHETIC).exists()  # never a silent swap to the synthetic dataset

    shutil.rmtree(copy)
    gone = (f"leakcli: error: {copy}: the published build was made from this data directory, which is gone; "
            "name the data with --data-dir, or --synthetic for the embedded synthetic dataset")
    for command in ("apply", "plan"):
        out = leak(command)
        assert _line(out, ExitCode.USAGE) == gone and out.stdout == "", command
    assert _line(leak("verify"), ExitCode.USAGE) == (
        f"leakcli: error: {copy}: the data the published build was made from is gone; name it with --data-dir "
        "(or rebuild with leakcli apply)")
    assert not (project.root / SYNTHETIC).exists()
    assert leak("apply", "--data-dir", str(project.raw)).exit_code == 0  # naming the data again is the way out


def _parquet_kind(path) -> str:
    import duckdb

    rows = duckdb.execute("select decode(key), decode(value) from parquet_kv_metadata($p)", {"p": str(path)})
    return dict(rows.fetchall())["dataset_kind"]


def test_synthetic_builds_the_embedded_dataset_and_every_output_says_so(project, leak):
    assert leak("generate", "--scale", "0.02").exit_code == 0  # the embedded dataset, small: apply generates none
    out = leak("apply", "--synthetic")
    assert out.exit_code == 0, out.stderr
    assert out.stdout.splitlines()[0].endswith(f"(dataset: made-up synthetic data in {SYNTHETIC}, not the shop's)")
    assert (f"leakcli: using the embedded synthetic dataset in {SYNTHETIC}: made-up data, not the shop's (name "
            "the shop's CSVs with --data-dir)") in out.stderr
    answer = out.stdout.split("\n\nSYNTHETIC DATA, not the shop's: put the Maven CSVs in "
                              f"{RAW}/ (or name their folder with --data-dir)")[1]  # on the answer itself
    heads = [line for line in answer.splitlines() if line.startswith("#")]
    assert heads and all(" [synthetic] · " in h for h in heads), heads  # a pasted row still says so
    assert leak("verify").stdout.splitlines()[0] == (
        "Acceptance tests on target/leakcli.duckdb (made-up synthetic data, not the shop's):")
    assert leak("verify", "--json").json()["dataset"]["kind"] == "synthetic"
    plan = leak("plan", "--synthetic")
    assert plan.exit_code == 0 and f"Dataset: made-up synthetic data in {SYNTHETIC}, not the shop's" in plan.stdout
    doc = leak("plan", "--synthetic", "--json").json()
    assert doc["dataset"]["kind"] == "synthetic" and {m["action"] for m in doc["models"]} == {"unchanged"}
    assert [a["code"] for a in doc["ambiguities"] if a["severity"] != "info"] == []
    exports = project.root / "target/current/exports"
    meta = json.loads((exports / "metadata.json").read_text())
    assert meta["synthetic"] is True and meta["dataset_kind"] == "synthetic"
    assert [_parquet_kind(p) for p in sorted(exports.glob("*.parquet"))] == ["synthetic", "synthetic"]
    assert project.read_json("target/run_results.json")["dataset"]["kind"] == "synthetic"
    # the project's real files are what a plain apply reads next (the help's order), said as files
    out = leak("apply")
    assert out.exit_code == 0 and out.stdout.splitlines()[0].endswith(f"(dataset: files at {RAW})")


def test_plan_synthetic_says_the_option_chose_it(project, leak):
    assert leak("generate", "--scale", "0.02").exit_code == 0
    out = leak("plan", "--synthetic")
    assert f"Dataset: made-up synthetic data in {SYNTHETIC}, not the shop's (chosen by --synthetic)" in out.stdout


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_synthetic_and_a_data_dir_together_are_refused(project, leak, command):
    out = leak(command, "--synthetic", "--data-dir", str(project.raw))
    assert _line(out, ExitCode.USAGE) == ("leakcli: error: --data-dir: names a second dataset beside --synthetic; "
                                          "pass one of them")
    assert out.stdout == "" and not (project.root / "target/leakcli.duckdb").exists()


def test_generate_out_works_outside_a_project(leak, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = leak("generate", "--scale", "0.01", "--out", "data", "--json")
    assert out.exit_code == 0, out.stderr
    names = {p.name for p in (tmp_path / "data").glob("*.csv")}
    assert {"website_sessions.csv", "website_pageviews.csv", "orders.csv", "order_item_refunds.csv"} <= names
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no target/, nothing else
    p = make_project(tmp_path / "proj", data=None)
    monkeypatch.chdir(p.root)
    out = leak("plan", "--data-dir", str(tmp_path / "data"), "--json")
    assert out.exit_code == 0 and out.json()["dataset"]["kind"] == "synthetic"  # its marker says what it is


def test_a_generated_dataset_stays_the_data_of_the_published_build(project, leak, tmp_path):
    data = tmp_path / "generated"
    assert leak("generate", "--scale", "0.05", "--out", str(data)).exit_code == 0
    assert leak("apply", "--data-dir", str(data)).exit_code == 0
    plan = leak("plan", "--json").json()
    assert plan["dataset"]["origin"] == "published" and plan["dataset"]["kind"] == "synthetic"
    assert {m["action"] for m in plan["models"]} == {"unchanged"}
    out = leak("apply")
    assert out.exit_code == 0 and out.stdout.startswith("No changes: ")
    assert f"using a synthetic dataset in {data.resolve()}" in out.stderr


def test_profile_reads_the_data_of_the_published_build(project, leak, tmp_path):
    copy = tmp_path / "elsewhere"
    shutil.copytree(project.raw, copy)
    shutil.rmtree(project.raw)
    assert leak("apply", "--data-dir", str(copy)).exit_code == 0
    out = leak("profile", "--out", str(tmp_path / "profiles"), "--json")
    assert out.exit_code == 0, out.stderr
    assert out.json()["dataset"]["path"] == str(copy.resolve()) and out.json()["dataset"]["kind"] == "files"


def test_naming_a_moved_copy_of_the_data_records_it_and_the_old_folder_may_go(project, leak, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    shutil.copytree(project.raw, first)
    shutil.copytree(project.raw, second)
    assert leak("apply", "--data-dir", str(first)).exit_code == 0
    plan = leak("plan", "--data-dir", str(second), "--json").json()
    moved = {m["name"]: m for m in plan["models"] if m["action"] != "unchanged"}
    assert set(moved) == {"mart__core_leak_summary", "mart__priority_actions"}
    assert all(m["action"] == "rebuild" and "data directory moved" in m["reason"] for m in moved.values())
    out = leak("apply", "--data-dir", str(second))
    assert out.exit_code == 0 and out.stdout.startswith("Built ") and ": 2 rebuilt, 7 kept" in out.stdout
    shutil.rmtree(first)
    assert leak("plan", "--json").json()["dataset"]["path"] == str(second.resolve())
    assert leak("apply").stdout.startswith("No changes: ")
    assert leak("verify").exit_code == 0


def test_a_copy_of_the_project_reads_its_own_data_not_the_original_s(project, leak, tmp_path, monkeypatch):
    assert leak("apply").exit_code == 0
    copy = tmp_path / "copy"
    shutil.copytree(project.root, copy, symlinks=True)
    shutil.rmtree(project.root)  # the original is gone: the copy must not need it
    monkeypatch.chdir(copy)
    plan = leak("plan", "--json").json()
    assert plan["dataset"]["path"] == str(RAW) and {m["action"] for m in plan["models"]} == {"unchanged"}
    assert leak("verify").exit_code == 0


def test_a_row_that_does_not_read_is_named_in_its_own_file_only(project, leak):
    """DuckDB records a scan's rejects only when there are some: the reject of orders.csv (loaded first,
    it is smaller) was once found again as the 'last scan' of website_sessions.csv and pageviews."""
    orders = project.raw / "orders.csv"
    lines = orders.read_text().splitlines()
    fields = lines[3].split(",")
    fields[1] = fields[1].replace("-01-", "-13-", 1) if "-01-" in fields[1] else "2014-13-03 20:06:00"
    lines[3] = ",".join(fields)
    orders.write_text("\n".join(lines) + "\n")
    for _ in range(2):  # and again, from what the first plan left in the cache
        out = leak("plan", "--json")
        bad = [q["location"] for q in out.json()["ambiguities"] if q["code"] == "bad_value"]
        assert bad == [f"{RAW}/orders.csv:4"], bad
    out = leak("apply", "--json")
    assert out.exit_code == ExitCode.EXECUTION  # a bad data row
    assert (out.json()["error"]["file"], out.json()["error"]["line"]) == (f"{RAW}/orders.csv", 4)
