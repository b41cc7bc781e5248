"""Habits of dbt and SQLMesh users (issue 21): the data a build was made from is kept (never a silent
swap to synthetic), --synthetic says so everywhere, tables fit the terminal, the help is printed once,
dbt's command words are answered, the project is found upward, a data folder named one level off is
pointed at, --target-dir takes everything, and plan says "No changes" in a few lines."""

from __future__ import annotations

import io
import json
import re
import shutil

import pytest
from conftest import RAW, make_project

from leakcli.errors import ExitCode

SYNTHETIC = "target/synthetic/maven-fuzzy-factory"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _line(out, code: int) -> str:
    """The one line of a failed command on stderr (nothing else there, no traceback)."""
    assert out.exit_code == code, (out.exit_code, out.stderr)
    (line,) = out.stderr.splitlines()
    assert line.startswith("leakcli: error: ")
    return line


# -- 1. which data a run reads ----------------------------------------------------------------------
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
    assert out.stdout.splitlines()[0].endswith(f"(dataset: SYNTHETIC data, not the shop's at {SYNTHETIC})")
    assert f"leakcli: using the embedded synthetic dataset in {SYNTHETIC} (not real data)" in out.stderr
    assert leak("verify").stdout.splitlines()[0].startswith(
        "Acceptance tests on target/leakcli.duckdb (SYNTHETIC data, not the shop's): 15/15 passed")
    assert leak("verify", "--json").json()["dataset"]["kind"] == "synthetic"
    plan = leak("plan", "--synthetic")
    assert plan.exit_code == 0 and f"Dataset: SYNTHETIC data, not the shop's at {SYNTHETIC}" in plan.stdout
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
    assert f"Dataset: SYNTHETIC data, not the shop's at {SYNTHETIC} (chosen by --synthetic)" in out.stdout


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_synthetic_and_a_data_dir_together_are_refused(project, leak, command):
    out = leak(command, "--synthetic", "--data-dir", str(project.raw))
    assert _line(out, ExitCode.USAGE) == ("leakcli: error: --data-dir: names a second dataset beside --synthetic; "
                                          "pass one of them")
    assert out.stdout == "" and not (project.root / "target/leakcli.duckdb").exists()


# -- 2. tables fit the terminal ---------------------------------------------------------------------
def _render(project, width: int, what: str, model: str = "", limit: int = 3) -> list[str]:
    from leakcli.commands.show import ShowRequest, show_rows
    from leakcli.commands.verify import verify
    from leakcli.context import Project as Context
    from leakcli.outputs.terminal import Reporter

    out = io.StringIO()
    reporter = Reporter(stdout=out, stderr=io.StringIO(), rich=True, width=width)
    if what == "verify":
        reporter.verify(verify(Context.at(project.root)))
    else:
        reporter.show(show_rows(Context.at(project.root), ShowRequest(model=model, limit=limit)))
    return [ANSI.sub("", line) for line in out.getvalue().splitlines()]


def test_tables_fit_an_80_column_terminal_or_become_records(project, leak, monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")  # Rich sizes a dumb terminal 80 columns whatever width it is given
    assert leak("apply").exit_code == 0
    wide = _render(project, 160, "verify")
    assert any(line.replace("┃", " ").split()[:2] == ["id", "status"] for line in wide[:4])  # a table: it fits
    assert max(map(len, wide)) <= 160
    lines = _render(project, 80, "verify")  # 80 columns: one small record per test, text wrapped
    title, records = lines[0], lines[1:]
    assert title.startswith("Acceptance tests on target/leakcli.duckdb: 15/15 passed")
    assert [line.split() for line in records if line.startswith("AT-")] == [[f"AT-{i:02d}", "PASS"]
                                                                             for i in range(1, 16)]
    assert records and max(map(len, records)) <= 80
    assert max(map(len, lines)) <= 80 and lines[1].startswith("errored")  # the title too, wrapped at a word
    pages = _render(project, 80, "show", "int__session_landing_pages")  # 3 columns fit 80: a table
    assert pages[0] == "int__session_landing_pages: 3 of 351 row(s)"
    assert pages[1].split() == ["website_session_id", "landing_page", "landing_pageview_id"]
    assert max(map(len, pages)) <= 80
    orders = _render(project, 80, "show", "stg__orders")  # 8 columns (116 wide) do not: one record per row
    assert orders[1].startswith("-[ row 1 ]") and max(map(len, orders)) <= 80
    summary = _render(project, 80, "show", "mart__core_leak_summary", 2)  # too wide: one record per row
    assert summary[1].startswith("-[ row 1 ]") and max(map(len, summary)) <= 80


# -- 3. help and the words of dbt -------------------------------------------------------------------
@pytest.mark.parametrize("args", [[], ["--help"], ["-h"], ["export"], ["export", "--help"]])
def test_the_help_is_printed_once(leak, args):
    out = leak(*args)
    assert out.exit_code == 0, out.stderr
    assert out.stdout.count("Usage:") == 1 and out.stderr == ""


@pytest.mark.parametrize("word, tool, ours", [
    ("build", "dbt", "apply"), ("run", "dbt", "apply"), ("docs", "dbt", "report"),
    ("ls", "dbt", "plan"), ("seed", "dbt", "generate"), ("compile", "dbt", "plan"),
    ("validate", "Terraform", "plan"),
])
def test_a_command_word_of_dbt_is_answered_with_leakcli_s(leak, word, tool, ours):
    out = leak(word)
    assert _line(out, ExitCode.USAGE) == (f"leakcli: error: leakcli: No such command '{word}' ({tool}'s `{word}` "
                                          f"is `leakcli {ours}` here); see `leakcli --help`")
    assert out.stdout == ""
    assert leak(ours, "--help").exit_code == 0


# -- 4. the project is found upward -----------------------------------------------------------------
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


# -- 5. a data folder named one level off -----------------------------------------------------------
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


# -- 6. --target-dir takes everything ---------------------------------------------------------------
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
    assert run("verify").stdout.startswith(f"Acceptance tests on {target}/leakcli.duckdb: 15/15 passed")
    assert run("show", "stg__orders", "--limit", "1").stdout.startswith("stg__orders: 1 of 121 row(s)")
    assert not (project.root / "target").exists()
    assert _line(leak("verify"), ExitCode.USAGE) == ("leakcli: error: target/leakcli.duckdb: nothing is built yet; "
                                                     "run `leakcli apply` first")


# -- 7. generate needs no project -------------------------------------------------------------------
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


# -- 8. show counts what it does not show ------------------------------------------------------------
def test_show_limit_says_how_many_of_how_many(project, leak):
    assert leak("apply").exit_code == 0
    rows = len((project.raw / "orders.csv").read_text().splitlines()) - 1
    out = leak("show", "stg__orders", "--limit", "3", "-c", "order_id,price_usd")
    assert out.exit_code == 0
    first, header, *shown = out.stdout.splitlines()
    assert first == f"stg__orders: 3 of {rows} row(s)" and header.split() == ["order_id", "price_usd"]
    assert [line.split()[0] for line in shown if line.strip()] == ["1", "2", "3"]
    kept = project.query("select count(*) from stg__orders where price_usd < 50")[0][0]
    assert 3 < kept < rows
    out = leak("show", "stg__orders", "--limit", "3", "--where", "price_usd < 50", "-c", "order_id")
    assert out.stdout.splitlines()[0] == f"stg__orders: 3 of {kept} row(s)"
    doc = leak("show", "stg__orders", "--limit", "3", "--json").json()
    assert doc["total"] == rows and len(doc["rows"]) == 3


def test_apply_headline_counts_what_it_did_and_says_no_changes_when_it_did_nothing(project, leak):
    first = leak("apply").stdout.splitlines()[0]
    assert re.fullmatch(r"Built \S+/leakcli\.duckdb in \d+\.\d\ds: 9 created \(dataset: files at .+\)", first), first
    again = leak("apply").stdout.splitlines()[0]
    assert re.fullmatch(r"No changes: \S+/leakcli\.duckdb is up to date, 9 models kept \(dataset: files at .+\)",
                        again), again
    catalog = project.read_json("contracts/metric-catalog.json")
    catalog["thresholds"]["min_sessions"] += 1
    project.write_json("contracts/metric-catalog.json", catalog)
    changed = leak("apply").stdout.splitlines()[0]
    assert re.fullmatch(r"Built \S+ in \d+\.\d\ds: 2 rebuilt, 7 kept \(dataset: .+\)", changed), changed


# -- 9. plan with nothing to do ---------------------------------------------------------------------
def test_plan_with_nothing_to_change_is_short_and_verbose_lists_the_settled_questions(project, leak):
    assert leak("apply").exit_code == 0
    out = leak("plan")
    assert out.exit_code == 0 and out.stderr == ""
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    assert lines[0] == "Read 23 files: 10 project files, 9 templates, 4 data files."
    assert ("No changes. The published build matches the contracts, templates and data: apply would keep all 9 "
            "models as they are.") in lines
    assert "Questions: 0 blocking, 0 warning, 6 info (6 settled by contracts/decisions.json; --verbose lists them)" \
        in lines
    assert lines[-1].startswith("Plan fingerprint: ")
    assert len(lines) <= 8 and "Models:" not in lines and "Settled by" not in out.stdout

    verbose = leak("plan", "--verbose").stdout
    decisions = project.read_json("contracts/decisions.json")["decisions"]
    settled = re.findall(r"Settled by (D-\d\d) in contracts/decisions\.json", verbose)
    assert sorted(settled) == sorted(d["id"] for d in decisions) and len(settled) == 6
    assert "  contracts/acceptance-tests.json" in verbose.splitlines() and "Models:" in verbose
    assert "  = stg__orders: unchanged (fingerprint matches the built table)" in verbose


# -- 10. sequences a user runs (found by a walk-through in a fresh clone) ---------------------------
def _bump_min_sessions(project, by=1):
    project.edit_json("contracts/metric-catalog.json",
                      lambda d: d["thresholds"].update(min_sessions=d["thresholds"]["min_sessions"] + by))


def test_a_model_built_on_a_skipped_upstream_rebuilds_when_that_upstream_does(project, leak):
    """`apply --select mart__priority_actions` after a change to the summary alone: the summary stays as
    it was built, so the priority list on it is unchanged; the next apply rebuilds both, never only
    the summary."""
    assert leak("apply").exit_code == 0
    _bump_min_sessions(project)
    out = leak("apply", "--select", "mart__priority_actions", "--json")
    assert out.exit_code == 0, out.stderr
    actions = {r["model"]: r["action"] for r in out.json()["results"]}
    assert actions["mart__priority_actions"] == "unchanged" and actions["mart__core_leak_summary"] == "skip"
    planned = {m["name"]: m["action"] for m in leak("plan", "--json").json()["models"]}
    assert planned["mart__core_leak_summary"] == "rebuild" and planned["mart__priority_actions"] == "rebuild"
    assert leak("apply").exit_code == 0
    assert {m["action"] for m in leak("plan", "--json").json()["models"]} == {"unchanged"}
    fresh = project.rows("select * from mart__priority_actions order by priority_rank")
    assert leak("apply", "--full-refresh").exit_code == 0
    assert project.rows("select * from mart__priority_actions order by priority_rank") == fresh


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


def test_verify_after_a_partial_first_build_says_what_is_not_built(project, leak):
    assert leak("apply", "--select", "stg__*").exit_code == 0
    out = leak("verify", "--json")
    assert out.exit_code == ExitCode.TESTS_FAILED, out.stderr
    assert "is gone" not in out.stderr and "could not run" not in out.stderr
    results = {r["id"]: r for r in out.json()["results"]}
    not_built = [r for r in results.values() if r["model"].startswith(("int__", "mart__")) and r["status"] == "error"]
    assert not_built and all("is not in the published build" in r["message"] for r in not_built)


@pytest.mark.parametrize("option", [["--full-refresh"], ["--select", "stg__orders"], ["--exclude", "stg__orders"],
                                    ["--data-dir", "."], ["--synthetic"]])
def test_a_saved_plan_refuses_options_that_would_change_it(project, leak, option):
    assert leak("apply").exit_code == 0
    assert leak("plan", "--out", "target/plan.json").exit_code == 0
    before = (project.root / "target/current").resolve()
    out = leak("apply", "target/plan.json", *option)
    assert _line(out, ExitCode.USAGE).startswith(f"leakcli: error: {option[0]}: cannot be combined with a saved "
                                                 f"plan (target/plan.json)")
    assert (project.root / "target/current").resolve() == before


def test_a_stale_saved_plan_names_what_changed_and_does_not_suspect_an_edit(project, leak):
    assert leak("apply").exit_code == 0
    assert leak("plan", "--out", "target/plan.json").exit_code == 0
    _bump_min_sessions(project)
    line = _line(leak("apply", "target/plan.json"), ExitCode.USAGE)
    assert "contracts/metric-catalog.json changed" in line and "was it edited" not in line, line


def test_apply_of_only_unchanged_and_skipped_models_says_no_changes(project, leak):
    assert leak("apply").exit_code == 0
    out = leak("apply", "--exclude", "mart__*")
    assert out.exit_code == 0
    headline = out.stdout.splitlines()[0]
    assert headline.startswith("No changes: target/leakcli.duckdb is up to date, 7 models kept, 2 skipped "), headline


def test_show_csv_writes_booleans_as_the_exports_do(project, leak):
    assert leak("apply").exit_code == 0
    out = leak("show", "mart__core_leak_summary", "-c", "is_low_conversion", "--format", "csv", "--limit", "50")
    values = set(out.stdout.splitlines()[1:])
    assert values and values <= {"true", "false", ""}, values


def test_diff_of_one_model_is_not_identical_while_the_priority_list_moved(project, leak):
    assert leak("apply").exit_code == 0
    project.edit_json("contracts/metric-catalog.json",
                      lambda d: d["thresholds"].update(false_discovery_rate=0.000001))
    assert leak("apply").exit_code == 0
    doc = leak("diff", "--model", "stg__orders", "--json").json()
    moved = doc["priority"]["moves"]
    assert moved and doc["identical"] is False


def test_a_copy_of_the_project_reads_its_own_data_not_the_original_s(project, leak, tmp_path, monkeypatch):
    assert leak("apply").exit_code == 0
    copy = tmp_path / "copy"
    shutil.copytree(project.root, copy, symlinks=True)
    shutil.rmtree(project.root)  # the original is gone: the copy must not need it
    monkeypatch.chdir(copy)
    plan = leak("plan", "--json").json()
    assert plan["dataset"]["path"] == str(RAW) and {m["action"] for m in plan["models"]} == {"unchanged"}
    assert leak("verify").exit_code == 0


@pytest.mark.parametrize("selection", [["--select", "stg__orders+"], ["--select", "mart__priority_actions"],
                                       ["--exclude", "stg__website_sessions"]])
def test_full_refresh_of_a_selection_keeps_the_models_not_selected(project, leak, selection):
    """As dbt's `--full-refresh --select`: the selected models rebuild on the published upstream tables."""
    assert leak("apply").exit_code == 0
    out = leak("apply", *selection, "--full-refresh", "--json")
    assert out.exit_code == 0, out.stderr
    actions = {r["model"]: r["action"] for r in out.json()["results"]}
    assert "skip" in actions.values() and "rebuild" in actions.values(), actions
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


def test_export_from_a_subfolder_says_how_to_reach_it_from_there(project, leak, monkeypatch):
    assert leak("apply").exit_code == 0
    monkeypatch.chdir(project.root / "templates")
    out = leak("export", "dbt", "dbtout")
    assert out.exit_code == 0, out.stderr
    assert (project.root / "templates/dbtout/dbt_project.yml").exists()
    assert out.stdout.rstrip().endswith("Next: cd dbtout && dbt build --profiles-dir ."), out.stdout
