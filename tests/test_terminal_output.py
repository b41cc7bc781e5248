"""What a person reads: tables fit the terminal or become records, the help is printed once, dbt's
command words are answered with leakcli's, show and apply count what they did and did not do, and a
plan with nothing to do is a few lines."""

from __future__ import annotations

import io
import re

import pytest

from leakcli.errors import ExitCode

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _line(out, code: int) -> str:
    """The one line of a failed command on stderr (nothing else there, no traceback)."""
    assert out.exit_code == code, (out.exit_code, out.stderr)
    (line,) = out.stderr.splitlines()
    assert line.startswith("leakcli: error: ")
    return line


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
    wide = _render(project, 160, "verify")  # the passes on one line, the summary last
    assert wide[1].split() == ["pass"] + [f"AT-{i:02d}" for i in range(1, 16)] and len(wide) == 3
    lines = _render(project, 80, "verify")  # 80 columns: the list of passes wrapped at a word, indented
    assert lines[0] == "Acceptance tests on target/leakcli.duckdb:" and max(map(len, lines)) <= 80
    assert " ".join(lines[1:-1]).split() == ["pass"] + [f"AT-{i:02d}" for i in range(1, 16)]
    assert len(lines) == 4 and lines[2].startswith("        AT-")
    assert lines[-1] == "15/15 passed, 0 failed, 0 warned, 0 errored."
    pages = _render(project, 80, "show", "int__session_landing_pages")  # 3 columns fit 80: a table
    assert pages[0] == "int__session_landing_pages: 3 of 351 row(s)"
    assert pages[1].split() == ["website_session_id", "landing_page", "landing_pageview_id"]
    assert max(map(len, pages)) <= 80
    orders = _render(project, 80, "show", "stg__orders")  # 8 columns (116 wide) do not: one record per row
    assert orders[1].startswith("-[ row 1 ]") and max(map(len, orders)) <= 80
    summary = _render(project, 80, "show", "mart__core_leak_summary", 2)  # too wide: one record per row
    assert summary[1].startswith("-[ row 1 ]") and max(map(len, summary)) <= 80


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
    assert _line(out, ExitCode.USAGE) == (f"leakcli: error: No such command '{word}' ({tool}'s `{word}` "
                                          f"is `leakcli {ours}` here); see `leakcli --help`")
    assert out.stdout == ""
    assert leak(ours, "--help").exit_code == 0


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


def test_verify_after_a_partial_first_build_says_what_is_not_built(project, leak):
    assert leak("apply", "--select", "stg__*").exit_code == 0
    out = leak("verify", "--json")
    assert out.exit_code == ExitCode.TESTS_FAILED, out.stderr
    assert "is gone" not in out.stderr and "could not run" not in out.stderr
    results = {r["id"]: r for r in out.json()["results"]}
    not_built = [r for r in results.values() if r["model"].startswith(("int__", "mart__")) and r["status"] == "error"]
    assert not_built and all("is not in the published build" in r["message"] for r in not_built)


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


def test_on_an_80_column_terminal_plan_and_a_no_op_apply_wrap_at_words(project, leak, monkeypatch):
    """Every line fits and no word is cut: the words are those of the lines a pipe gets."""
    from leakcli.commands.apply import ApplyRequest, apply
    from leakcli.context import Project as Context
    from leakcli.outputs.terminal import Reporter
    from leakcli.plan.planner import PlanRequest, build_plan

    monkeypatch.setenv("TERM", "xterm-256color")
    assert leak("apply").exit_code == 0
    project.edit_text("templates/int__order_refunds.sql", "select", "-- a comment\nselect")  # a longer plan
    for show in (lambda r: r.plan(build_plan(Context.at(project.root), PlanRequest())),
                 lambda r: r.apply(apply(Context.at(project.root), ApplyRequest(plan=PlanRequest())))):
        wide, narrow = io.StringIO(), io.StringIO()
        show(Reporter(stdout=wide, stderr=io.StringIO(), rich=False))
        show(Reporter(stdout=narrow, stderr=io.StringIO(), rich=True, width=80))
        lines = [ANSI.sub("", line) for line in narrow.getvalue().splitlines()]
        assert max(map(len, lines)) <= 80, lines
        assert " ".join(lines).split() == wide.getvalue().split()
