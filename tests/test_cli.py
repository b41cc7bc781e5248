"""The command-line contract: exit codes, one JSON document on stdout, notices on stderr."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from leakcli.errors import ExitCode

VERIFY_KEYS = {"id", "model", "kind", "severity", "status", "observed", "expected", "failing_rows",
               "sample", "message"}


def test_help_lists_every_command(leak):
    out = leak("--help")
    assert out.exit_code == 0
    for command in ("plan", "apply", "verify", "profile", "generate", "show"):
        assert command in out.stdout


def test_plan_json_shape(project, leak):
    out = leak("plan", "--json")
    assert out.exit_code == 0, out.stderr
    doc = out.json()
    assert doc["schema_version"] == 1
    assert {"read", "ambiguities", "order", "models", "fingerprint"} <= set(doc)
    assert "contracts/model-registry.json" in doc["read"]
    assert "prompts/iteration-01-single-pass-core-leak-summary.md" in doc["read"]
    assert doc["order"][0].startswith("stg__") and doc["order"][-1] == "mart__priority_actions"
    assert [m["name"] for m in doc["models"]] == doc["order"]
    assert {m["action"] for m in doc["models"]} == {"create"}
    model = doc["models"][6]
    assert set(model) >= {"name", "layer", "depends_on", "action", "reason"}
    assert model["name"] == "int__session_outcomes"
    assert model["depends_on"] == ["stg__website_sessions", "int__session_landing_pages",
                                   "stg__orders", "int__order_refunds"]
    assert not [a for a in doc["ambiguities"] if a["severity"] == "blocking"]
    assert out.stderr == ""


def test_plan_is_pure(project, leak):
    assert leak("plan").exit_code == 0
    assert not (project.root / "target").exists()


def test_apply_then_verify_json(project, leak):
    out = leak("apply", "--json")
    assert out.exit_code == 0, out.stderr
    doc = out.json()
    assert doc["schema_version"] == 1 and doc["status"] == "success"
    assert [r["model"] for r in doc["results"]][-1] == "mart__priority_actions"
    assert all(r["status"] == "success" and r["rows"] > 0 for r in doc["results"])
    target = project.root / "target"
    for rel in ("leakcli.duckdb", "run_results.json", "compiled/mart__core_leak_summary.sql",
                "exports/mart__core_leak_summary.csv", "exports/mart__priority_actions.parquet"):
        assert (target / rel).exists(), rel
    run_results = json.loads((target / "run_results.json").read_text())
    assert run_results["results"] == json.loads((target / "current/run_results.json").read_text())["results"]
    models = [r for r in run_results["results"] if r["resource_type"] == "model"]
    assert [(r["unique_id"], r["status"], r["adapter_response"]["rows_affected"]) for r in models] == [
        (f"model.leakcli.{r['model']}", "success", r["rows"]) for r in doc["results"]]
    tests = [r for r in run_results["results"] if r["resource_type"] == "test"]
    assert tests and all(r["status"] == "pass" and r["failures"] == 0 for r in tests)
    assert all(isinstance(r["execution_time"], float) and r["message"] for r in run_results["results"])

    out = leak("verify", "--json")
    assert out.exit_code == 0, out.stdout
    report = out.json()
    assert report["schema_version"] == 1
    assert report["summary"] == {"total": 15, "passed": 15, "failed": 0, "warned": 0, "errored": 0}
    assert [r["id"] for r in report["results"]] == [f"AT-{i:02d}" for i in range(1, 16)]
    assert all(set(r) == VERIFY_KEYS and r["status"] == "pass" for r in report["results"])


def test_verify_fails_with_exit_1_and_reports_rows(project, leak):
    assert leak("apply").exit_code == 0
    # tamper with the built mart: a duplicated grain row and a rate out of range
    import duckdb

    con = duckdb.connect(str(project.db))
    con.execute("insert into mart__core_leak_summary select * from mart__core_leak_summary limit 1")
    con.execute("update mart__core_leak_summary set conversion_rate = 1.5 "
                "where orders = 3 and utm_campaign = 'nonbrand'")
    con.close()
    out = leak("verify", "--json")
    assert out.exit_code == ExitCode.TESTS_FAILED
    results = {r["id"]: r for r in out.json()["results"]}
    assert results["AT-03"]["status"] == "fail" and results["AT-03"]["failing_rows"] == 1
    assert results["AT-03"]["sample"][0]["n"] == 2
    assert results["AT-09"]["status"] == "fail" and results["AT-09"]["failing_rows"] == 1
    assert results["AT-09"]["sample"][0]["conversion_rate"] == 1.5
    assert results["AT-06"]["status"] == "fail"  # the duplicate adds sessions
    assert results["AT-01"]["status"] == "pass"


def test_warn_severity_does_not_fail(project, leak):
    project.edit_json("contracts/acceptance-tests.json",
                      lambda d: d["tests"][2].update(severity="warn"))
    assert leak("apply").exit_code == 0
    import duckdb

    con = duckdb.connect(str(project.db))
    con.execute("insert into mart__core_leak_summary select * from mart__core_leak_summary limit 1")
    con.close()
    out = leak("verify", "--json")
    results = {r["id"]: r for r in out.json()["results"]}
    assert results["AT-03"]["status"] == "warn"
    assert out.json()["summary"]["warned"] == 1
    # AT-06 (error) fails too because sessions are now double counted
    assert out.exit_code == ExitCode.TESTS_FAILED


def test_verify_on_plain_stdout_lists_the_passes_in_one_line_and_ends_with_the_summary(project, leak):
    assert leak("apply").exit_code == 0
    out = leak("verify")
    assert out.exit_code == 0
    lines = out.stdout.splitlines()
    assert lines[0] == "Acceptance tests on target/leakcli.duckdb:"
    assert lines[1].split() == ["pass"] + [f"AT-{n:02d}" for n in range(1, 16)]
    assert lines[-1] == "15/15 passed, 0 failed, 0 warned, 0 errored."
    assert "\x1b[" not in out.stdout and "─" not in out.stdout  # nothing decorative off a terminal


def test_verify_before_apply_is_a_usage_error(project, leak):
    out = leak("verify")
    assert out.exit_code == ExitCode.USAGE
    assert out.stdout == ""
    assert out.stderr.strip() == ("leakcli: error: target/leakcli.duckdb: nothing is built yet; "
                                  "run `leakcli apply` first")


def test_json_error_is_one_document(project, leak):
    out = leak("verify", "--json")
    assert out.exit_code == ExitCode.USAGE
    doc = out.json()
    assert doc["error"]["type"] == "UsageError" and doc["error"]["exit_code"] == 2
    assert out.stderr.startswith("leakcli: error: ")


def test_show_previews_a_model(project, leak):
    assert leak("apply").exit_code == 0
    out = leak("show", "mart__priority_actions", "--json", "--limit", "1")
    assert out.exit_code == 0
    doc = out.json()
    assert doc["rows"][0]["priority_rank"] == 1 and len(doc["rows"]) == 1
    out = leak("show", "mart__priority_action")
    assert out.exit_code == ExitCode.USAGE
    assert "did you mean 'mart__priority_actions'?" in out.stderr


def test_data_dir_option_and_environment(project, leak, tmp_path):
    elsewhere = tmp_path / "data dir with 'quotes' and spaces"
    project.raw.rename(elsewhere)
    out = leak("apply", "--json", "--data-dir", str(elsewhere))
    assert out.exit_code == 0, out.stderr
    assert out.json()["dataset"]["origin"] == "option"
    out = leak("plan", "--json", env={"LEAKCLI_DATA_DIR": str(elsewhere)})
    assert out.exit_code == 0
    assert out.json()["dataset"]["origin"] == "environment"
    assert {m["action"] for m in out.json()["models"]} == {"unchanged"}


@pytest.mark.parametrize("command", ["plan", "apply", "verify", "profile", "generate", "show"])
def test_every_command_has_help_and_is_in_the_docs(leak, command):
    from conftest import REPO

    out = leak(command, "--help")
    assert out.exit_code == 0 and "Usage" in out.stdout
    assert f"leakcli {command}" in (REPO / "docs" / "commands.md").read_text()


def test_ci_runs_the_readme_test_command():
    from conftest import REPO

    readme = (REPO / "README.md").read_text()
    block = readme.split("## Quick start")[1].split("```sh\n")[1].split("```")[0].strip().splitlines()
    assert len(block) == 2
    assert block[1] in (REPO / ".ci" / "run").read_text().splitlines()


def test_verify_ref_discipline_catches_a_literal_name(project, leak):
    assert leak("apply").exit_code == 0
    project.edit_text("templates/int__order_refunds.sql", "{{ ref('stg__order_item_refunds') }}",
                      "stg__order_item_refunds")
    out = leak("verify", "--json")
    assert out.exit_code == ExitCode.TESTS_FAILED
    at02 = next(r for r in out.json()["results"] if r["id"] == "AT-02")
    assert at02["status"] == "fail" and at02["failing_rows"] == 2
    problems = " ".join(s["problem"] for s in at02["sample"])
    assert "names generated model 'stg__order_item_refunds' literally" in problems
    assert "never calls ref('stg__order_item_refunds')" in problems


def test_help_imports_no_heavy_module():
    import subprocess
    import sys

    code = ("import sys, leakcli.cli; heavy = {'duckdb', 'jinja2', 'pydantic', 'rich'} & set(sys.modules); "
            "print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_json_errors_carry_every_problem(project, leak):
    project.edit_json("contracts/model-registry.json", lambda d: (d["models"][0].update(grain="x"),
                                                                  d["models"][1].update(layer="gold")))
    out = leak("plan", "--json")
    assert out.exit_code == ExitCode.USAGE
    problems = out.json()["error"]["problems"]
    assert [p["pointer"] for p in problems] == ["/models/0/grain", "/models/1/layer"]
    assert len(out.stderr.splitlines()) == 2  # one line per problem
    project.edit_json("contracts/model-registry.json", lambda d: (d["models"][0].update(grain=["website_session_id"]),
                                                                  d["models"][1].update(layer="staging")))
    (project.raw / "orders.csv").unlink()
    out = leak("apply", "--json")
    assert out.exit_code == ExitCode.USAGE
    (blocking,) = out.json()["error"]["ambiguities"]
    assert blocking["code"] == "missing_file" and blocking["severity"] == "blocking"


@pytest.mark.parametrize("command", [["plan"], ["apply"], ["verify"], ["report"]])
def test_contracts_are_parsed_once_per_command(project, leak, command):
    from leakcli.progress import counting

    assert leak("apply").exit_code == 0
    with counting() as seen:
        assert leak(*command).exit_code == 0
    parsed = {e.removeprefix("contract parsed: "): n for e, n in seen.items() if e.startswith("contract parsed: ")}
    assert parsed["contracts/metric-catalog.json"] == 1
    assert set(parsed.values()) == {1}


def test_the_answer_names_each_action_by_the_segment_keys_of_the_catalog(project, leak):
    project.edit_json("contracts/metric-catalog.json",
                      lambda d: d["segment"].update(keys=["device_type", "utm_source"]))
    out = leak("apply")
    assert out.exit_code == 0, out.stderr
    answer = out.stdout.split("The answer (mart__priority_actions): ")[1]
    heads = [line for line in answer.splitlines() if line.startswith("#")]
    assert heads and all(re.match(r"#\d+ \w+ · (mobile|desktop) / \w+ · ", h) for h in heads), heads


def test_the_answer_never_prints_a_tiny_q_as_zero(project, leak):
    """A q below 0.01 (0 included: p below the smallest double) reads "<0.01", as the report says
    "< 0.001"; 0.00 would claim a certainty that is not."""
    out = leak("apply")
    assert out.exit_code == 0, out.stderr
    answer = out.stdout.split("The answer (mart__priority_actions): ")[1]
    heads = {int(h.split()[0][1:]): h for h in answer.splitlines() if h.startswith("#")}
    actions = {r["priority_rank"]: r["q_value"] for r in leak("show", "mart__priority_actions", "--json",
                                                               "--limit", "100").json()["rows"]}
    tiny = [rank for rank in heads if 0 <= actions[rank] < 0.01]
    assert tiny, actions  # the hand-made shop has such an action
    for rank in tiny:
        assert "q <0.01" in heads[rank] and "q 0.0" not in heads[rank], heads[rank]
    assert not re.search(r"\bq 0\.00?\b", answer)


def test_the_json_schemas_are_generated_from_the_models():
    from leakcli.contracts.schema import DOCUMENTS, RECORDS, SCHEMA_DIR, json_schema

    for kind in {**DOCUMENTS, **RECORDS}:
        assert (SCHEMA_DIR / f"{kind}.schema.json").read_text() == json_schema(kind), (
            f"run `python -m leakcli.contracts.schema` to regenerate {kind}.schema.json")


def test_version_and_short_help(leak):
    from importlib.metadata import version

    out = leak("--version")
    assert out.exit_code == 0 and out.stdout.strip() == f"leakcli {version('leakcli')}"
    out = leak("plan", "-h")
    assert out.exit_code == 0 and "--detailed-exitcode" in out.stdout and "--exclude" in out.stdout


def test_verify_writes_junit_xml_and_markdown_for_ci(project, leak, tmp_path):
    import xml.etree.ElementTree as ET

    import duckdb

    assert leak("apply").exit_code == 0
    con = duckdb.connect(str(project.db))
    con.execute("insert into mart__core_leak_summary select * from mart__core_leak_summary limit 1")
    con.close()
    junit = tmp_path / "junit.xml"
    out = leak("verify", "--junit-xml", str(junit), "--format", "markdown")
    assert out.exit_code == ExitCode.TESTS_FAILED
    # the repeated row breaks the grain (AT-03) and the three reconciliations (AT-06, 07, 08)
    assert out.stdout.startswith("### leakcli verify: 11/15 passed, 4 failed, 0 warned, 0 errored\n")
    assert "| AT-03 | ❌ fail | error | `mart__core_leak_summary` | 1 |" in out.stdout
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "15" and suite.get("failures") == "4"
    failed = {c.get("name"): c.find("failure") for c in suite.findall("testcase") if c.find("failure") is not None}
    assert sorted(failed) == ["AT-03 unique", "AT-06 reconcile", "AT-07 reconcile", "AT-08 reconcile"]
    assert '"n": 2' in (failed["AT-03 unique"].text or "")
    assert leak("verify", "--junit-xml", str(junit)).exit_code == ExitCode.TESTS_FAILED  # its own file: replaced
    other = tmp_path / "notes.xml"
    other.write_text("<mine/>")
    out = leak("verify", "--junit-xml", str(other))
    assert out.exit_code == ExitCode.USAGE and "is not a JUnit report leakcli wrote" in out.stderr
    assert other.read_text() == "<mine/>"


def test_run_results_record_every_apply_blocked_and_no_op_included(project, leak):
    target = project.root / "target"
    assert leak("apply").exit_code == 0
    built = json.loads((target / "run_results.json").read_text())
    assert leak("apply").exit_code == 0  # nothing to do: still recorded, with what the tables hold
    noop = json.loads((target / "run_results.json").read_text())
    assert noop["status"] == "success" and noop["build"] == built["build"]
    models = {r["model"]: r for r in noop["results"]}
    assert {r["status"] for r in models.values()} == {"no-op"}
    rows = {r["model"]: r["adapter_response"]["rows_affected"] for r in built["results"]
            if r["resource_type"] == "model"}
    assert {m: r["adapter_response"]["rows_affected"] for m, r in models.items()} == rows
    (project.raw / "orders.csv").unlink()
    assert leak("apply").exit_code == ExitCode.USAGE
    blocked = json.loads((target / "run_results.json").read_text())
    assert blocked["status"] == "blocked" and "orders.csv" in blocked["message"]
    assert {r["status"] for r in blocked["results"]} == {"skipped"}
    assert json.loads((target / "current/run_results.json").read_text())["build"] == built["build"]


def test_show_fits_the_terminal_filters_orders_and_exports(project, leak):
    assert leak("apply").exit_code == 0
    out = leak("show", "mart__priority_actions", "--limit", "2")  # 38 columns do not fit 100: vertical
    assert out.exit_code == 0
    lines = out.stdout.splitlines()
    assert lines[1].startswith("-[ row 1 ]") and max(len(line) for line in lines if "|" not in line) <= 100
    assert any(line.startswith("priority_rank ") and line.endswith("| 1") for line in lines)
    assert not any(len(part) > 12 and part.replace(".", "").replace("-", "").isdigit()
                   for line in lines for part in line.split())  # no 17-digit floats
    out = leak("show", "mart__priority_actions", "-c", "priority_rank,action_scope,gap_usd",
               "--where", "action_scope = 'segment'", "--order-by", "gap_usd", "--limit", "2")
    assert out.exit_code == 0, out.stderr
    header, first, second = out.stdout.splitlines()[1:4]
    assert header.split() == ["priority_rank", "action_scope", "gap_usd"]
    gaps = [float(line.split()[-1].replace(",", "")) for line in (first, second)]
    assert gaps == sorted(gaps) and "segment" in first
    raw = leak("show", "mart__priority_actions", "-c", "priority_rank,gap_usd", "--format", "csv", "--limit", "1")
    assert raw.stdout.splitlines()[0] == "priority_rank,gap_usd"
    doc = leak("show", "mart__priority_actions", "-c", "gap_usd", "--json", "--limit", "1").json()
    assert float(raw.stdout.splitlines()[1].split(",")[1]) == doc["rows"][0]["gap_usd"]
    assert leak("show", "mart__priority_actions", "--vertical", "-c", "gap_usd").stdout.count("-[ row ") == 9


def test_show_without_order_by_shows_the_same_rows_in_the_columns_order(project, leak):
    """Models are written in parallel, so a table's stored order means nothing: show orders by every
    column, grain first, whichever columns it prints."""
    orders = project.raw / "orders.csv"
    header, *lines = orders.read_text().splitlines()
    orders.write_text("\n".join([header, *reversed(lines)]) + "\n")  # stored as read: highest id first
    assert leak("apply").exit_code == 0
    ids = sorted(r[0] for r in project.query('select order_id from "stg__orders"'))
    rows = leak("show", "stg__orders", "--json", "--limit", "4").json()["rows"]
    assert [r["order_id"] for r in rows] == ids[:4]
    narrow = leak("show", "stg__orders", "-c", "price_usd", "--json", "--limit", "4").json()["rows"]
    assert [r["price_usd"] for r in narrow] == [r["price_usd"] for r in rows]


@pytest.mark.parametrize(("args", "words"), [
    (["-c", "gap_us"], "has no column 'gap_us'; did you mean 'gap_usd'?"),
    (["--where", "nope = 1"], 'Referenced column "nope" not found'),
    (["--where", "true; drop table mart__priority_actions"], "exactly one SELECT"),
    (["--where", "gap_usd > (select count(*) from read_csv('/etc/passwd'))"], "table function read_csv()"),
    (["--order-by", " "], "--order-by: is empty"),
])
def test_show_refuses_bad_options_in_one_line(project, leak, args, words):
    assert leak("apply").exit_code == 0
    out = leak("show", "mart__priority_actions", *args)
    assert out.exit_code == ExitCode.USAGE and out.stdout == ""
    (line,) = out.stderr.splitlines()
    assert line.startswith("leakcli: error: ") and words in line
    assert leak("show", "mart__priority_actions", "-c", "priority_rank").exit_code == 0  # still there


def test_colour_by_status_on_a_terminal_unless_no_color(project, leak, monkeypatch):
    import io

    from leakcli.commands.verify import verify
    from leakcli.context import Project as Context
    from leakcli.outputs.terminal import Reporter

    assert leak("apply").exit_code == 0
    report = verify(Context.at(project.root))

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    def render(env):
        for k in ("NO_COLOR", "FORCE_COLOR", "TERM"):
            monkeypatch.delenv(k, raising=False)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        out = Terminal()
        Reporter(stdout=out, stderr=io.StringIO()).verify(report)
        return out.getvalue()

    coloured = render({"TERM": "xterm-256color"})
    assert "\x1b[32m  pass  AT-01" in coloured  # green
    plain = render({"TERM": "xterm-256color", "NO_COLOR": "1"})
    assert "pass  AT-01" in plain and not re.search(r"\x1b\[(3[0-7]|9[0-7]|38;)", plain)  # bold stays, colour goes
    piped = io.StringIO()
    Reporter(stdout=piped).verify(report)
    assert "\x1b[" not in piped.getvalue() and "pass  AT-01" in piped.getvalue()


def test_diff_compares_published_with_previous_and_two_files(project, leak, tmp_path):
    import shutil

    import duckdb

    assert leak("apply").exit_code == 0
    out = leak("diff")
    assert out.exit_code == ExitCode.USAGE and "target/previous" in out.stderr
    project.edit_json("contracts/metric-catalog.json", lambda d: d["thresholds"].update(min_sessions=1000))
    assert leak("apply").exit_code == 0
    doc = leak("diff", "--json").json()
    assert doc["old"] == "target/previous/leakcli.duckdb" and doc["identical"] is False
    summary = next(m for m in doc["models"] if m["model"] == "mart__core_leak_summary")
    assert summary["added"] == summary["removed"] == 0 and summary["changed"] > 0
    assert {c["column"] for c in summary["column_changes"]} <= {"is_low_conversion", "is_weak_net_revenue",
                                                                 "is_high_refund_drag"}
    flag = summary["column_changes"][0]
    assert flag["samples"][0]["old"] is True and flag["samples"][0]["new"] is False
    # two files: ranks swapped, one action gone, one gap changed
    old, new = tmp_path / "old.duckdb", tmp_path / "new.duckdb"
    shutil.copyfile(project.root / "target/leakcli.duckdb", old)
    shutil.copyfile(project.root / "target/leakcli.duckdb", new)
    con = duckdb.connect(str(new))
    n = con.execute("select count(*) from mart__priority_actions").fetchone()[0]
    con.execute("update mart__priority_actions set priority_rank = 3 - priority_rank where priority_rank <= 2")
    con.execute(f"delete from mart__priority_actions where priority_rank = {n}")
    con.execute("update mart__priority_actions set gap_usd = gap_usd + 1 where priority_rank = 1")
    con.close()
    doc = leak("diff", str(old), str(new), "--json", "--model", "mart__priority_actions").json()
    kinds = {(m["old_rank"], m["new_rank"]): m["kind"] for m in doc["priority"]["moves"]}
    assert kinds[(1, 2)] == "down" and kinds[(2, 1)] == "up" and kinds[(n, None)] == "left"
    (mart,) = doc["models"]
    assert (mart["removed"], mart["added"], mart["rows_new"]) == (1, 0, n - 1)
    assert {c["column"] for c in mart["column_changes"]} >= {"priority_rank", "gap_usd"}
    text = leak("diff", str(old), str(new), "-m", "mart__priority_actions").stdout
    assert "↓ 1 -> 2:" in text and "↑ 2 -> 1:" in text and f"- was {n}:" in text
    assert leak("diff", str(old), str(tmp_path / "nope.duckdb")).exit_code == ExitCode.USAGE
    (tmp_path / "bad.duckdb").write_text("not a database")
    bad = leak("diff", str(old), str(tmp_path / "bad.duckdb"))
    assert bad.exit_code == ExitCode.EXECUTION and "bad.duckdb" in bad.stderr and len(bad.stderr.splitlines()) == 1
    assert "did you mean" in leak("diff", str(old), str(new), "-m", "mart__priority").stderr


def test_help_texts_match_the_readme_and_flags_take_no_value(leak):
    """Each command's row of the command table (docs/commands.md) starts with its help's first sentence
    and names every option; flags show no value placeholder."""
    import typer

    from leakcli.cli import app
    from leakcli.outputs.helptext import tidy_help

    readme = (Path(__file__).parent.parent / "docs" / "commands.md").read_text()
    rows = {tuple(w for w in line.split("`")[1].split()[1:] if w.islower() and w.isidentifier()): line.split(" | ")
            for line in readme.splitlines() if line.startswith("| `leakcli ")}
    group = typer.main.get_command(app)
    tidy_help(group)
    commands = {}
    for name, command in group.commands.items():
        subs = getattr(command, "commands", None)
        if subs:
            tidy_help(command)
        commands.update({(name, sub): c for sub, c in subs.items()} if subs else {(name,): command})
    assert set(rows) == set(commands)
    for key, command in commands.items():
        _, what, options = rows[key]
        assert what.startswith(command.short_help), key
        for param in command.params:
            if param.param_type_name == "option":
                assert f"`{param.opts[0]}" in options, (key, param.opts[0])
            else:
                assert param.name.upper() in rows[key][0], (key, param.name)
        text = leak(*key, "--help").stdout
        assert "<bool>" not in text and "<list" not in text, key
    assert "--install-completion" in leak("--help").stdout


def test_shell_completion_offers_commands_and_model_names(project):
    import os
    import subprocess
    import sys

    def complete(words):
        env = {**os.environ, "_LEAKCLI_COMPLETE": "complete_bash", "COMP_WORDS": words,
               "COMP_CWORD": str(len(words.split()) - 1)}
        return subprocess.run([sys.executable, "-m", "leakcli"], env=env, cwd=project.root,
                              capture_output=True, text=True, check=True).stdout.split()

    assert complete("leakcli pl") == ["plan"]
    assert complete("leakcli show mart__p") == ["mart__priority_actions"]
    assert "stg__orders" in complete("leakcli plan --select stg__")


@pytest.mark.parametrize("data", ["the shop's CSVs", "none: a fresh checkout"])
def test_the_readme_ci_example_runs(project, tmp_path, data):
    """The GitHub Actions workflow of docs/ci.md: every `run:` step but the install, in order, as the runner
    runs them (bash -eo pipefail), on a copy of the project; with no CSVs (a fresh checkout) the plan is
    of the synthetic default, which the saved plan's apply writes first."""
    import os
    import shutil

    if data.startswith("none"):
        shutil.rmtree(project.raw)
    import subprocess
    import sys

    import yaml

    readme = (Path(__file__).parent.parent / "docs" / "ci.md").read_text()
    workflow = yaml.safe_load(readme.split("```yaml\n", 1)[1].split("```", 1)[0])
    (job,) = workflow["jobs"].values()
    steps = [s for s in job["steps"] if "run" in s and s.get("name") != "Install"]
    assert [s["name"] for s in steps] == ["Plan", "Apply the saved plan", "Verify"]
    summary = tmp_path / "summary.md"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for step in steps:
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                              cwd=project.root, env=env, capture_output=True, text=True)
        assert done.returncode == 0, (step["name"], done.stderr)
    assert summary.read_text().startswith("### leakcli verify: 15/15 passed")
    assert (project.root / "target/junit.xml").read_text().count("<testcase ") == 15
    assert json.loads((project.root / "target/run_results.json").read_text())["status"] == "success"
    assert all(Path(project.root, p.strip()).exists() for p in job["steps"][-1]["with"]["path"].splitlines())


def test_the_program_exits_with_the_documented_code_and_survives_a_closed_pipe(project):
    """`python -m leakcli` leaves through os._exit once its output is flushed."""
    import subprocess
    import sys

    bad = subprocess.run([sys.executable, "-m", "leakcli", "nosuch"], cwd=project.root, capture_output=True,
                         text=True)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("leakcli: error: ") and "No such command 'nosuch'" in bad.stderr
    plan = subprocess.run([sys.executable, "-m", "leakcli", "plan", "--json"], cwd=project.root,
                          capture_output=True, text=True)
    assert plan.returncode == 0 and json.loads(plan.stdout)["schema_version"] == 1
    piped = subprocess.run(f"'{sys.executable}' -m leakcli plan | head -1", shell=True, cwd=project.root,
                           capture_output=True, text=True)
    assert piped.stdout.startswith("Read ") and "Traceback" not in piped.stderr and "Error" not in piped.stderr
    # a reader gone before the output (`| true`) leaves the command's own exit code (Click's is 1, "a test failed")
    assert subprocess.run([sys.executable, "-m", "leakcli", "apply"], cwd=project.root).returncode == 0
    for command in ("show mart__core_leak_summary --limit 300", "show stg__website_sessions --limit 300 --json",
                    "verify"):
        closed = subprocess.run(["bash", "-o", "pipefail", "-c", f"'{sys.executable}' -m leakcli {command} | true"],
                                cwd=project.root, capture_output=True, text=True)
        assert closed.returncode == 0 and closed.stderr == "", (command, closed.returncode, closed.stderr)
