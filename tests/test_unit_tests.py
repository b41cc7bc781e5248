"""Model unit tests (LEAK-SPEC §12): `leakcli test` runs the shipped tests with no data; each shipped test
fails when the rule it pins is broken (one mutation of the templates, the catalog or the join contracts
per rule, in a copy of the project); an invalid test is a blocking question at its JSON pointer; apply
runs the tests of what it builds first and refuses on a failure; `test --create` writes a test from the
published build that passes as written."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import PROJECT_FILES, REPO, Project

from leakcli.errors import ExitCode

UNIT = "contracts/unit-tests.json"
CAT = "contracts/metric-catalog.json"
JOINS = "contracts/join-contracts.json"


@pytest.fixture
def bare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A copy of the shipped project exactly as a fresh clone has it: no data, nothing built."""
    for name in PROJECT_FILES:
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return Project(tmp_path)


def _failed(out: Any) -> dict[str, str]:
    return {r["id"]: r["status"] for r in out.json()["results"] if r["status"] != "pass"}


# -- the shipped tests ------------------------------------------------------------------------------
def test_the_shipped_tests_pass_with_no_data_and_write_nothing(bare, leak):
    before = sorted(p.relative_to(bare.root) for p in bare.root.rglob("*"))
    out = leak("test", "--json")
    assert out.exit_code == 0, out.stdout + out.stderr
    doc = out.json()
    assert doc["summary"]["failed"] == doc["summary"]["errored"] == 0 and doc["summary"]["total"] >= 33
    cov = doc["coverage"]
    assert all(cov["models"].values()) and len(cov["models"]) == 9  # every model has a test
    assert all(cov["decisions"].values()) and sorted(cov["decisions"]) == [f"D-0{i}" for i in range(1, 7)]
    assert sorted(p.relative_to(bare.root) for p in bare.root.rglob("*")) == before  # nothing written, no target/
    assert not (bare.root / "target").exists()
    from leakcli.contracts.schema import json_schema  # the document is what its schema says

    assert set(doc) == set(json.loads(json_schema("unit-test-output"))["properties"])


def test_every_shipped_test_says_its_rule_and_is_small(bare):
    tests = bare.read_json(UNIT)["tests"]
    assert [t["id"] for t in tests] == sorted({t["id"] for t in tests})
    for t in tests:
        given = sum(len(g.get("rows") or g.get("csv", "").splitlines()[1:]) for g in t["given"].values())
        assert len(t["description"].split()) >= 8, t["id"]
        assert given <= 13 and len(t["expect"]["rows"]) <= 6, t["id"]  # a handful of rows each (13 months: UT-28)


# -- each rule broken once: the test that pins it fails ----------------------------------------------
def _text(rel: str, old: str, new: str) -> Callable[[Project], None]:
    return lambda p: p.edit_text(rel, old, new)


def _metric(name: str, old: str, new: str) -> Callable[[Project], None]:
    def change(doc: dict[str, Any]) -> None:
        metric = next(m for m in doc["metrics"] if m["name"] == name)
        assert old in metric["sql"], (name, old)
        metric["sql"] = metric["sql"].replace(old, new)
    return lambda p: p.edit_json(CAT, change)


def _catalog(change: Callable[[dict[str, Any]], None]) -> Callable[[Project], None]:
    return lambda p: p.edit_json(CAT, change)


def _join(name: str, change: Callable[[dict[str, Any]], None]) -> Callable[[Project], None]:
    return lambda p: p.edit_json(JOINS, lambda doc: change(next(j for j in doc["joins"] if j["name"] == name)))


def _unpaid_bid(doc: dict[str, Any]) -> None:
    text = next(t for t in doc["priority"]["texts"] if t["status"] == "act" and "conversion" in t["leaks"])
    text["unpaid_text"] = text["unpaid_text"].replace("fix the page.", "fix the page or the bid.")


def _rank(order: list[str]) -> Callable[[dict[str, Any]], None]:
    return lambda doc: doc["priority"]["rank_by"][0].update(values=order)


MUTATIONS: dict[str, tuple[Callable[[Project], None], str, str]] = {
    # rule: (mutation, the model whose tests run, the test that must fail)
    "landing page by the highest pageview id (D-01)": (
        _text("templates/int__session_landing_pages.sql", "arg_min(pageview_url", "arg_max(pageview_url"),
        "int__session_landing_pages", "UT-06"),
    "refunds by the refund date's month (D-02)": (
        _text("templates/int__order_refunds.sql", "group by order_id",
              "group by order_id, date_trunc('month', refund_created_at)"), "int__order_refunds", "UT-07"),
    "a session without pageviews dropped (D-04)": (
        _join("session_landing_page", lambda j: j.update(type="inner")), "int__session_outcomes", "UT-09"),
    "an order whose session is missing kept (D-03)": (
        _text("templates/int__session_outcomes.sql", "{{ join('session_order') }}",
              "full join {{ ref('stg__orders') }} as o on o.website_session_id = s.website_session_id"),
        "int__session_outcomes", "UT-11"),
    "a session without an order dropped": (
        _join("session_order", lambda j: j.update(type="inner")), "int__session_outcomes", "UT-08"),
    "orders joined to sessions by user_id": (
        _join("session_order", lambda j: j["right"].update(keys=["user_id"])), "int__session_outcomes", "UT-08"),
    "money as DOUBLE (D-05)": (
        _text("templates/stg__orders.sql", "    price_usd,\n", "    cast(price_usd as double) as price_usd,\n"),
        "stg__orders", "UT-04"),
    "partial first month dropped (D-06)": (
        _text("templates/mart__core_leak_summary.sql", "    from {{ ref('int__session_outcomes') }}\n    group by all",
              "    from {{ ref('int__session_outcomes') }}\n    where session_month > (select min(session_month) "
              "from {{ ref('int__session_outcomes') }})\n    group by all"), "mart__core_leak_summary", "UT-18"),
    "session_month by the week": (
        _text("templates/stg__website_sessions.sql", "date_trunc('month', created_at)",
              "date_trunc('week', created_at)"), "stg__website_sessions", "UT-01"),
    "a session without a source labelled as one without a campaign": (
        _text("templates/stg__website_sessions.sql", "coalesce(utm_source, {{ var('unknown_utm_source') }})",
              "coalesce(utm_source, {{ var('unknown_utm_campaign') }})"), "stg__website_sessions", "UT-02"),
    "the sample variance for the population's": (
        _metric("net_revenue_variance", "var_pop", "var_samp"), "mart__core_leak_summary", "UT-13"),
    "the device gap against the segment": (
        _metric("device_gap_usd", "device_net_revenue_per_session_usd", "net_revenue_per_session_usd"),
        "mart__core_leak_summary", "UT-14"),
    "an index of exactly 0.8 flagged low": (
        _metric("is_low_conversion", "conversion_index <", "conversion_index <="), "mart__core_leak_summary", "UT-17"),
    "expected rates over the window, not the same months": (
        _catalog(lambda doc: doc["priority"]["expectation"][0].update(sql="sum(sessions) * avg({x}conversion_rate)")),
        "mart__priority_actions", "UT-19"),
    "Benjamini-Hochberg over the window tests only (revision 3's family)": (
        _metric("bh_step", "count(*) over ()", "count(p_value) over ()"), "mart__priority_actions", "UT-20"),
    "the recent months one short": (
        _metric("recent_start_month", "{{ var('recent_months') }} - 1", "{{ var('recent_months') }} - 2"),
        "mart__priority_actions", "UT-22"),
    "the liveness boundary off by one": (
        _metric("is_live", "{{ var('live_months') }} - 1", "{{ var('live_months') }}"), "mart__priority_actions",
        "UT-23"),
    "emerging ranked after stopped": (
        _catalog(_rank(["act", "stopped", "emerging", "noise"])), "mart__priority_actions", "UT-24"),
    "emerging ranked by the window's gap": (
        _catalog(lambda doc: doc["priority"]["rank_by"][1].update(column="gap_usd")), "mart__priority_actions",
        "UT-24"),
    "unpaid traffic told to fix the bid": (_catalog(_unpaid_bid), "mart__priority_actions", "UT-25"),
    "ties of the primary leak in another order": (
        _catalog(lambda doc: doc["priority"]["leaks"].insert(0, doc["priority"]["leaks"].pop(1))),
        "mart__priority_actions", "UT-27"),
    "the window one month short": (
        _text("templates/mart__priority_actions.sql", "limit {{ var('priority_lookback_months') }}",
              "limit {{ var('priority_lookback_months') }} - 1"), "mart__priority_actions", "UT-28"),
    "a segment that stopped lately called emerging": (
        _catalog(lambda doc: doc["priority"]["statuses"][1].update(
            when="not is_significant and is_recent_significant")), "mart__priority_actions", "UT-33"),
    "significant at twice the false discovery rate": (
        _metric("is_significant", "{{ var('false_discovery_rate') }}", "{{ var('false_discovery_rate') }} * 2"),
        "mart__priority_actions", "UT-33"),
    "an eligible segment-month counted by its orders": (
        _metric("is_low_conversion", "sessions >=", "orders >="), "mart__core_leak_summary", "UT-15"),
    "a gap of exactly a cent dropped": (
        _catalog(lambda doc: [s.update(keep=s["keep"].replace(">=", ">")) for s in doc["priority"]["scopes"]]),
        "mart__priority_actions", "UT-29"),
}


@pytest.mark.parametrize("rule", list(MUTATIONS))
def test_each_rule_broken_fails_the_test_that_pins_it(bare, leak, rule):
    mutate, model, test_id = MUTATIONS[rule]
    mutate(bare)
    out = leak("test", "--json", "--select", test_id)  # the test that pins the rule (junit's test runs them all)
    assert out.exit_code == ExitCode.TESTS_FAILED, out.stdout + out.stderr
    assert _failed(out) == {test_id: "fail"} or _failed(out) == {test_id: "error"}, _failed(out)
    assert [r["model"] for r in out.json()["results"]] == [model]


def test_a_failure_reads_in_one_glance_at_80_columns(bare, leak):
    MUTATIONS["landing page by the highest pageview id (D-01)"][0](bare)
    out = leak("test", "-s", "int__session_landing_pages", env={"COLUMNS": "80"})
    assert out.exit_code == ExitCode.TESTS_FAILED
    lines = out.stdout.splitlines()
    assert lines[:2] == ["Unit tests (contracts/unit-tests.json):", ""]  # no pass line: its one test failed
    diff = out.stdout.split("\n\nFAIL ", 1)[1].split("\n\n")[0].splitlines()
    assert diff[0] == f"UT-06 int__session_landing_pages at {UNIT}#/tests/5"
    assert diff[2:] == ["  expected 2 rows, got 2: 1 row differs (landing_page)",
                        "  ~ row website_session_id 1",
                        '      landing_page  expected "/lander-1"',
                        '                    actual   "/products"']
    assert max(len(line) for line in lines) <= 80
    assert lines[-2:-1] == ["Coverage: 33 tests; every model (9) and every decision (6) has one."]
    assert lines[-1].startswith("0/1 passed, 1 failed, 0 errored in ")  # the summary last, on the screen


def test_missing_unexpected_and_long_texts_in_the_difference(bare, leak):
    _catalog(_unpaid_bid)(bare)
    _join("session_landing_page", lambda j: j.update(type="inner"))(bare)
    out = leak("test", "-s", "UT-09 UT-25", env={"COLUMNS": "80"})
    assert out.exit_code == ExitCode.TESTS_FAILED
    text = out.stdout
    assert '  - missing: website_session_id 2, landing_page "unknown"' in text  # UT-09: the session is gone
    assert "expected 4 rows, got 4: 1 row differs (recommended_action)" in text  # UT-25
    cut = [line for line in text.splitlines() if "…" in line]
    assert cut and all(len(line) <= 80 for line in cut) and any("fix the page or the bid" in line for line in cut)


def test_junit_xml_of_the_unit_tests(bare, leak, tmp_path):
    import xml.etree.ElementTree as ET

    MUTATIONS["refunds by the refund date's month (D-02)"][0](bare)
    junit = tmp_path / "unit.xml"
    out = leak("test", "--junit-xml", str(junit))
    assert out.exit_code == ExitCode.TESTS_FAILED
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "1" and int(suite.get("tests") or 0) >= 33
    failed = [c for c in suite.findall("testcase") if c.find("failure") is not None]
    assert [c.get("name", "").split()[0] for c in failed] == ["UT-07"]
    assert "refunded_items" in (failed[0].find("failure").text or "")  # type: ignore[union-attr]
    passes = [line for line in out.stdout.splitlines() if line.startswith("  pass  ")]
    assert len(passes) == 1 and "UT-06 UT-08" in passes[0] and "UT-07" not in passes[0]  # one line, the failure apart
    assert out.stdout.splitlines()[-1].startswith(f"{len(suite) - 1}/{len(suite)} passed, 1 failed, 0 errored in ")


# -- an invalid test is a blocking question at its JSON pointer ---------------------------------------
def _edit_test(index: int, change: Callable[[dict[str, Any]], None]) -> Callable[[Project], None]:
    return lambda p: p.edit_json(UNIT, lambda doc: change(doc["tests"][index]))


def _pageviews(test: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = test["given"]["stg__website_pageviews"]["rows"]
    return rows


INVALID: dict[str, tuple[Callable[[Project], None], str, str]] = {
    "unknown model": (_edit_test(5, lambda t: t.update(model="int__session_landing_page")), "/tests/5/model",
                      "did you mean 'int__session_landing_pages'"),
    "a missing input": (_edit_test(8, lambda t: t["given"].pop("stg__orders")), "/tests/8/given",
                        "gives no rows for 'stg__orders'"),
    "an input that is none": (_edit_test(5, lambda t: t["given"].update(stg__orders={"rows": []})),
                              "/tests/5/given/stg__orders", "not an input"),
    "an unknown given column": (_edit_test(5, lambda t: _pageviews(t)[1].update(url="/x")),
                                "/tests/5/given/stg__website_pageviews/rows/1/url", "column 'url'"),
    "an unknown expected column": (_edit_test(5, lambda t: [r.update(page="/x") for r in t["expect"]["rows"]]),
                                   "/tests/5/expect/rows/0/page", "expects column 'page'"),
    "a value that does not cast": (
        _edit_test(5, lambda t: _pageviews(t)[0].update(website_pageview_id="seven")),
        "/tests/5/given/stg__website_pageviews/rows/0/website_pageview_id", "does not cast to its declared type"),
    "an expected value that does not cast": (
        _edit_test(5, lambda t: t["expect"]["rows"][0].update(landing_pageview_id=True)),
        "/tests/5/expect/rows/0/landing_pageview_id", "type BIGINT"),
    "an unknown CTE": (_edit_test(20, lambda t: t.update(cte="familly")), "/tests/20/cte", "did you mean 'family'"),
    "a CTE's unknown column": (_edit_test(20, lambda t: [r.update(q=1) for r in t["expect"]["rows"]]),
                               "/tests/20/expect/rows/0/q", "CTE 'family' does not return"),
    "an unknown decision": (_edit_test(5, lambda t: t.update(decision="D-09")), "/tests/5/decision", "D-09"),
    "an id given twice": (_edit_test(6, lambda t: t.update(id="UT-06")), "/tests/6/id", "both UT-06"),
    "vars the catalog refuses": (_edit_test(14, lambda t: t["vars"].update(min_sessions=0)),
                                 "/tests/14/vars/min_sessions", "min_sessions"),
    "vars that are no threshold": (_edit_test(14, lambda t: t["vars"].update(min_session=2)),
                                   "/tests/14/vars/min_session", "did you mean 'min_sessions'"),
}


PLANNED = {"unknown model", "a missing input", "a value that does not cast", "an unknown CTE",
           "vars the catalog refuses"}  # plan asks each question as `leakcli test` does; these are checked there too


@pytest.mark.parametrize("case", list(INVALID))
def test_an_invalid_test_is_a_blocking_question_at_its_pointer(bare, leak, case):
    change, pointer, words = INVALID[case]
    change(bare)
    out = leak("test", "--json")
    assert out.exit_code == ExitCode.USAGE, out.stdout + out.stderr
    error = out.json()["error"]
    assert error["file"] == f"{UNIT}#{pointer}" and words in error["message"], error
    if case not in PLANNED:
        return
    plan = leak("plan", "--json")  # plan asks the same question
    assert plan.exit_code == ExitCode.USAGE
    asked = [a for a in plan.json()["ambiguities"] if a["code"] == "unit_test"]
    assert [a["location"] for a in asked] == [f"{UNIT}#{pointer}"] and words in asked[0]["question"]


def test_plan_reads_the_unit_tests_and_warns_of_what_has_none(bare, leak):
    out = leak("plan", "--json")
    doc = out.json()
    assert UNIT in doc["read"] and doc["unit_tests"]["tests"] >= 33
    assert not [a for a in doc["ambiguities"] if a["code"] == "untested"]
    bare.edit_json(UNIT, lambda d: d.update(tests=[t for t in d["tests"] if t["model"] != "int__order_refunds"
                                                   and t.get("decision") != "D-04"]))
    doc = leak("plan", "--json").json()
    warned = {a["location"]: a["question"] for a in doc["ambiguities"] if a["code"] == "untested"}
    assert set(warned) == {"contracts/model-registry.json#/models/5", "contracts/decisions.json#/decisions/3"}
    assert doc["unit_tests"]["models"]["int__order_refunds"] == 0
    (bare.root / UNIT).unlink()
    out = leak("plan")
    assert out.exit_code == ExitCode.USAGE and f"{UNIT}: required file is missing" in out.stderr


# -- apply runs them first ----------------------------------------------------------------------------
def test_a_failing_unit_test_stops_apply_before_anything_is_built(project, leak):
    assert leak("apply").exit_code == 0
    results = json.loads((project.root / "target/run_results.json").read_text())["results"]
    ran = {r["unique_id"]: r["status"] for r in results if r["resource_type"] == "unit_test"}
    assert len(ran) >= 33 and set(ran.values()) == {"pass"} and "unit_test.leakcli.UT-06" in ran
    original = (project.root / UNIT).read_text()
    project.edit_json(UNIT, lambda d: d["tests"][0]["expect"]["rows"][0].update(user_id=1))  # a wrong expectation
    assert leak("apply").exit_code == 0  # nothing to build, nothing to test
    assert leak("test", "-s", "stg__website_sessions").exit_code == ExitCode.TESTS_FAILED
    (project.root / UNIT).write_text(original)

    published = (project.root / "target/current").resolve()
    builds = sorted((project.root / "target/builds").iterdir())
    MUTATIONS["landing page by the highest pageview id (D-01)"][0](project)
    out = leak("apply")
    assert out.exit_code == ExitCode.TESTS_FAILED
    assert out.stderr.startswith(f"leakcli: error: {UNIT}#/tests/5: unit test UT-06 of int__session_landing_pages "
                                 f"failed: 1 row differs (landing_page); apply built nothing; the published build is "
                                 f"unchanged"), out.stderr
    assert (project.root / "target/current").resolve() == published
    assert sorted((project.root / "target/builds").iterdir()) == builds
    assert not (project.root / "target/rejected").exists()
    record = json.loads((project.root / "target/run_results.json").read_text())
    assert record["status"] == "error" and "UT-06" in record["message"]
    statuses = {r["unique_id"]: r["status"] for r in record["results"]}
    assert statuses["unit_test.leakcli.UT-06"] == "fail"
    # only the tests of the models it would build: the landing pages and everything downstream
    assert "unit_test.leakcli.UT-04" not in statuses and statuses["unit_test.leakcli.UT-29"] == "pass"
    assert {s for k, s in statuses.items() if k.startswith("model.")} == {"skipped"}


def _unit_messages(project) -> dict[str, str]:
    results = json.loads((project.root / "target/run_results.json").read_text())["results"]
    return {r["unique_id"].rsplit(".", 1)[1]: r["message"] for r in results if r["resource_type"] == "unit_test"}


def test_apply_runs_again_only_the_tests_whose_sql_or_rows_changed(project, leak):
    again = "passed before on the same SQL, rows and versions: not run again"
    assert leak("apply").exit_code == 0
    assert again not in _unit_messages(project).values()
    assert leak("apply", "--full-refresh").exit_code == 0  # every model rebuilt, nothing in them changed
    assert set(_unit_messages(project).values()) == {again}
    _metric("is_low_conversion", "sessions >=", "sessions >= 0 + ")(project)  # the same rule in other SQL
    assert leak("apply").exit_code == 0
    messages = _unit_messages(project)
    assert messages["UT-15"] != again and messages["UT-29"] == again  # the summary's SQL changed, the priority's not
    assert "UT-01" not in messages  # staging is not rebuilt: its tests are not asked for
    assert leak("apply", "--full-refresh", "--no-cache").exit_code == 0
    assert again not in _unit_messages(project).values()


# -- test --create --------------------------------------------------------------------------------------
CREATE = [("int__session_landing_pages", "website_session_id in (1, 2)"),
          ("int__session_outcomes", "website_session_id in (1, 5, 40)"),
          ("stg__orders", "order_id < 3"),
          ("mart__core_leak_summary", "utm_source = 'gsearch' and device_type = 'mobile'"),
          ("mart__priority_actions", "priority_rank <= 3")]


def test_create_writes_tests_that_pass_as_written(project, leak):
    assert leak("apply").exit_code == 0
    created = []
    for model, where in CREATE:
        before = (project.root / UNIT).read_text()
        out = leak("test", "--create", model, "--where", where, "--json")
        assert out.exit_code == 0, out.stdout + out.stderr
        doc = out.json()
        assert [(r["id"], r["status"]) for r in doc["results"]] == [(doc["created"], "pass")]
        after = (project.root / UNIT).read_text()
        assert after.startswith(before.rstrip()[:-len("]\n}")].rstrip())  # the tests there are kept byte for byte
        test = project.read_json(UNIT)["tests"][-1]
        assert test["id"] == doc["created"] and test["model"] == model and where in test["description"]
        created.append(doc["created"])
    assert created == [f"UT-{n}" for n in range(34, 39)]  # the next free ids
    again = leak("test", "--json")  # read back from the file: they pass as written, beside the shipped ones
    assert again.exit_code == 0 and set(created) <= {r["id"] for r in again.json()["results"]}

    tests = {t["id"]: t for t in project.read_json(UNIT)["tests"]}
    outcomes = tests["UT-35"]["given"]  # the rows the outcomes of sessions 1, 5 and 40 came from
    assert sorted(r["website_session_id"] for r in outcomes["stg__website_sessions"]["rows"]) == [1, 5, 40]
    assert {r["website_session_id"] for r in outcomes["stg__orders"]["rows"]} <= {1, 5, 40}
    orders = {r["order_id"] for r in outcomes["stg__orders"]["rows"]}
    assert orders and {r["order_id"] for r in outcomes["int__order_refunds"]["rows"]} <= orders  # by the join
    assert [r["website_session_id"] for r in tests["UT-35"]["expect"]["rows"]] == [1, 5, 40]
    orders = tests["UT-36"]  # a staging model: the rows of the source file, as the manifest reads it
    assert [r["order_id"] for r in orders["given"]["orders"]["rows"]] == [1, 2] and "created_at" in orders[
        "given"]["orders"]["rows"][0]

    out = leak("test", "--create", "stg__orders", "--where", "order_id = 1", "--id", "UT-35")
    assert out.exit_code == ExitCode.USAGE and "UT-35 is already a test" in out.stderr  # never written over
    for where in ("1; drop table x", "no_such_column = 1", "order_id < 0"):
        out = leak("test", "--create", "stg__orders", "--where", where)
        assert out.exit_code == ExitCode.USAGE and "--where" in out.stderr, out.stderr
    assert (project.root / UNIT).read_text() == after
    out = leak("test", "--where", "order_id = 1")
    assert out.exit_code == ExitCode.USAGE and "--where: is an option of --create" in out.stderr
    out = leak("test", "-s", "UT-99")
    assert out.exit_code == ExitCode.USAGE and "UT-99 is no test" in out.stderr


def test_ci_runs_the_unit_tests_first_and_the_readme_shows_them():
    lines = (REPO / ".ci" / "run").read_text().splitlines()
    assert lines.index(".venv/bin/leakcli test --json") < lines.index(".venv/bin/python -m pytest -q")
    readme, doc = (REPO / "README.md").read_text(), (REPO / "docs" / "unit-tests.md").read_text()
    assert "leakcli test " in readme and "FAIL UT-06 int__session_landing_pages" in readme
    assert "$ leakcli test --json" in doc and "FAIL UT-06 int__session_landing_pages" in doc
