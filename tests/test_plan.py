"""plan: every kind of open question on a mutated copy of the fixture project, saved plans,
unchanged models, and --select."""

from __future__ import annotations

import pytest

from leakcli.errors import ExitCode

REG = "contracts/model-registry.json"
CAT = "contracts/metric-catalog.json"
JOINS = "contracts/join-contracts.json"
IR = "ir/stage-01.json"


def _csv_replace(name, old, new, count=1):
    def mutate(p):
        path = p.raw / name
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, count))
    return mutate


def _add_model(name, refs=(), description="extra model"):
    def mutate(p):
        def reg(doc):
            doc["models"].append({"name": name, "layer": "mart", "template": f"templates/{name}.sql",
                                  "grain": ["session_month"], "description": description,
                                  "depends_on": {"refs": list(refs), "sources": []},
                                  "columns": [{"name": "session_month", "type": "DATE", "nullable": False}]})
        p.edit_json(REG, reg)
        p.edit_json(IR, lambda d: d["models"].append(name))
        (p.root / f"templates/{name}.sql").write_text(
            "select distinct session_month from {{ ref('mart__core_leak_summary') }}\n")
    return mutate


def _registry(change):
    return lambda p: p.edit_json(REG, change)


def _model(doc, name):
    return next(m for m in doc["models"] if m["name"] == name)


def _cycle(p):
    # stg__orders now reads the summary, which (through the outcomes) reads stg__orders
    p.edit_text("templates/stg__orders.sql", "from {{ source('maven', 'orders') }}",
                "from {{ source('maven', 'orders') }} where order_id not in "
                "(select orders from {{ ref('mart__core_leak_summary') }})")
    p.edit_json(REG, lambda d: _model(d, "stg__orders")["depends_on"]["refs"].append("mart__core_leak_summary"))


CASES = {
    # id: (mutation, code, severity, words the question must contain)
    "renamed_column": (_csv_replace("orders.csv", "price_usd", "price_in_usd"), "header_mismatch", "blocking",
                       ["'price_usd' missing", "'price_in_usd'", "orders.csv"]),
    "na_token": (_csv_replace("website_sessions.csv", "gsearch,nonbrand", "N/A,nonbrand", 3),
                 "undeclared_null_token", "blocking", ["website_sessions.utm_source", "'N/A'", "null_tokens"]),
    "na_in_typed_column": (_csv_replace("orders.csv", "49.99,19.49", "N/A,19.49"), "undeclared_null_token",
                           "blocking", ["orders.price_usd", "'N/A'"]),
    "unknown_utm_source": (_csv_replace("website_sessions.csv", "gsearch,nonbrand", "tiktok,nonbrand", 2),
                           "unaccepted_value", "warning", ["website_sessions.utm_source", "'tiktok' (2)"]),
    "duplicate_key": (_csv_replace("orders.csv", "\n2,2014-01-03", "\n1,2014-01-03"), "duplicate_key",
                      "blocking", ["1 rows of 'orders.csv' repeat a primary key", "order_id"]),
    "missing_file": (lambda p: (p.raw / "order_item_refunds.csv").unlink(), "missing_file", "blocking",
                     ["order_item_refunds.csv", "missing"]),
    "ir_registry_mismatch": (lambda p: p.edit_json(IR, lambda d: d["models"].remove("int__order_refunds")),
                             "ir_registry_mismatch", "blocking", ["int__order_refunds", "not in the stage IR"]),
    "undeclared_ref": (_registry(lambda d: _model(d, "int__session_outcomes")["depends_on"]["refs"].remove(
        "int__order_refunds")), "undeclared_dependency", "blocking",
        ["ref('int__order_refunds')", "int__session_outcomes"]),
    "unknown_ref": (lambda p: p.edit_text("templates/mart__core_leak_summary.sql", "ref('int__session_outcomes')",
                                          "ref('int__session_outcome')"),
                    "unknown_ref", "blocking",
                    ["ref('int__session_outcome')", "Did you mean 'int__session_outcomes'?"]),
    "cycle": (_cycle, "cycle", "blocking",
              ["int__session_outcomes -> mart__core_leak_summary -> stg__orders -> int__session_outcomes"]),
    "source_for_model": (lambda p: p.edit_text("templates/int__order_refunds.sql",
                                               "{{ ref('stg__order_item_refunds') }}",
                                               "{{ source('maven', 'stg__order_item_refunds') }}"),
                         "source_for_model", "blocking", ["source('maven', 'stg__order_item_refunds')",
                                                          "ref('stg__order_item_refunds')"]),
    "metric_unknown_column": (lambda p: p.edit_json(CAT, lambda d: d["metrics"][0].update(
        inputs=["orders", "sesions"])), "metric_unknown_column", "blocking",
        ["'conversion_rate'", "'sesions'", "Did you mean 'sessions'?"]),
    "join_without_cardinality": (lambda p: p.edit_json(JOINS, lambda d: d["joins"][1].pop("cardinality")),
                                 "join_cardinality", "blocking", ["session_order", "cardinality"]),
    "join_key_types": (_registry(lambda d: _model(d, "stg__orders")["columns"][2].update(type="VARCHAR")),
                       "join_key_types", "blocking", ["website_session_id (BIGINT)", "(VARCHAR)"]),
    "funnel_model": (_add_model("mart__funnel_steps", ["mart__core_leak_summary"]), "out_of_scope", "blocking",
                     ["mart__funnel_steps", "funnel"]),
    "experiment_description": (_registry(lambda d: _model(d, "mart__priority_actions").update(
        description="Ranks segments for the next landing page experiment.")), "out_of_scope", "blocking",
        ["mart__priority_actions", "experiment"]),
    "open_decision": (lambda p: p.edit_json("contracts/decisions.json",
                                            lambda d: d["decisions"].pop(0)), "open_decision", "blocking",
                      ["landing_page_rule", "requires a decision"]),
    "misspelt_column": (lambda p: p.edit_text("templates/int__order_refunds.sql", "sum(refund_amount_usd)",
                                              "sum(refund_amount)"), "bind_error", "blocking",
                        ["int__order_refunds", "refund_amount", "refund_amount_usd"]),
    "registry_type_mismatch": (_registry(lambda d: _model(d, "int__order_refunds")["columns"][2].update(
        type="INTEGER")), "contract_mismatch", "blocking", ["'refunded_items' as BIGINT", "declares INTEGER"]),
    "render_error": (lambda p: p.edit_text("templates/stg__orders.sql", "select", "select {{ nope }}"),
                     "render_error", "blocking", ["stg__orders", "'nope' is undefined"]),
    "literal_model_name": (lambda p: p.edit_text("templates/int__order_refunds.sql",
                                                 "{{ ref('stg__order_item_refunds') }}",
                                                 "{{ ref('stg__order_item_refunds') }} where order_id in "
                                                 "(select order_id from stg__orders)"),
                           "literal_model_name", "blocking", ["stg__orders", "literally"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_ambiguity(project, leak, case):
    mutate, code, severity, words = CASES[case]
    mutate(project)
    out = leak("plan", "--json")
    expected_exit = ExitCode.USAGE if severity == "blocking" else ExitCode.OK
    assert out.exit_code == expected_exit, out.stderr
    found = [a for a in out.json()["ambiguities"] if a["code"] == code]
    assert found, [a["code"] for a in out.json()["ambiguities"]]
    a = found[0]
    assert a["severity"] == severity
    assert set(a) >= {"id", "code", "severity", "location", "question"}
    text = a["location"] + " " + a["question"]
    for word in words:
        assert word in text
    assert a["question"].rstrip().endswith("?") or "Did you mean" in a["question"]
    assert "Traceback" not in out.stderr


def test_a_question_keeps_its_id_and_two_questions_never_share_one(project, leak):
    """An id is drawn from what the question is about: a bad value and a missing file differ, and a
    question found again, beside another one, keeps its id."""
    def questions():
        return {a["code"]: a["id"] for a in leak("plan", "--json").json()["ambiguities"] if a["code"] != "decision"}

    _csv_replace("orders.csv", ",49.99,19.49", ",abc,19.49")(project)
    first = questions()
    CASES["missing_file"][0](project)
    both = questions()
    assert set(both) == {"bad_value", "missing_file"} and both["bad_value"] == first["bad_value"]
    assert both["bad_value"] != both["missing_file"]
    ids = [a["id"] for a in leak("plan", "--json").json()["ambiguities"]]
    assert len(set(ids)) == len(ids)


def test_apply_refuses_a_blocking_plan_and_keeps_the_build(project, leak):
    assert leak("apply").exit_code == 0
    before = project.db.read_bytes()
    CASES["duplicate_key"][0](project)
    out = leak("apply")
    assert out.exit_code == ExitCode.USAGE
    assert out.stderr.startswith("leakcli: error: datasets/maven-fuzzy-factory/raw/orders.csv: 1 blocking "
                                 "question(s) open; apply changed nothing. First: 1 rows of 'orders.csv' repeat")
    assert project.db.read_bytes() == before


def test_decisions_are_shown_resolved(project, leak):
    doc = leak("plan", "--json").json()
    resolved = {a["resolved_by"] for a in doc["ambiguities"] if a["code"] == "decision"}
    assert resolved == {"D-01", "D-02", "D-03", "D-04", "D-05", "D-06"}
    assert all(a["severity"] == "info" for a in doc["ambiguities"] if a["code"] == "decision")


def test_synthetic_fallback_is_info(tmp_path, monkeypatch, leak):
    from conftest import make_project

    p = make_project(tmp_path / "fresh", data=None)
    monkeypatch.chdir(p.root)
    out = leak("plan", "--json")
    assert out.exit_code == 0
    doc = out.json()
    (a,) = [a for a in doc["ambiguities"] if a["code"] == "synthetic_fallback"]
    assert a["severity"] == "info" and "synthetic" in a["question"]
    assert doc["dataset"]["kind"] == "synthetic" and doc["dataset"]["pending"] is True
    assert not (p.root / "target").exists()  # plan generated nothing


def test_unchanged_models_are_skipped_and_changes_propagate(project, leak):
    assert leak("apply").exit_code == 0
    doc = leak("plan", "--json").json()
    assert {m["action"] for m in doc["models"]} == {"unchanged"}
    before = project.db.read_bytes()
    out = leak("apply", "--json")
    assert {r["status"] for r in out.json()["results"]} == {"unchanged"}
    assert project.db.read_bytes() == before  # nothing to do: the database is not rewritten
    # change a threshold: only the marts whose SQL changes, and their children, rebuild
    project.edit_json(CAT, lambda d: d["thresholds"].update(high_refund_index=2.0))
    doc = leak("plan", "--json").json()
    actions = {m["name"]: (m["action"], m["reason"]) for m in doc["models"]}
    assert actions["stg__orders"] == ("unchanged", "fingerprint matches the built table")
    assert actions["mart__core_leak_summary"] == ("rebuild", "its SQL changed")
    assert actions["mart__priority_actions"] == ("rebuild", "upstream model mart__core_leak_summary changed")
    out = leak("apply", "--json")
    statuses = {r["model"]: r["status"] for r in out.json()["results"]}
    assert statuses["stg__orders"] == "copied" and statuses["mart__core_leak_summary"] == "success"
    # a changed source file updates its staging model and everything downstream, in the months it touches
    _csv_replace("order_item_refunds.csv", "29.99", "19.99")(project)
    doc = leak("plan", "--json").json()
    actions = {m["name"]: (m["action"], m["reason"]) for m in doc["models"]}
    assert actions["stg__order_item_refunds"] == (
        "update", "only the partitions the change touches (source order_item_refunds rewritten)")
    assert actions["stg__orders"][0] == "unchanged"
    assert actions["int__order_refunds"][0] == "update" and actions["mart__priority_actions"][0] == "rebuild"
    out = leak("apply", "--json", "--full-refresh")
    assert {r["status"] for r in out.json()["results"]} == {"success"}
    assert {r["action"] for r in out.json()["results"]} == {"rebuild"}


def test_saved_plan_applies_and_stale_plan_is_refused(project, leak):
    out = leak("plan", "--out", "target/plan.json")
    assert out.exit_code == 0
    assert (project.root / "target/plan.json").exists()
    assert not (project.root / "target/leakcli.duckdb").exists()
    out = leak("apply", "target/plan.json", "--json")
    assert out.exit_code == 0, out.stderr
    # the same plan again: the database changed since (it is built now)
    out = leak("apply", "target/plan.json")
    assert out.exit_code == ExitCode.USAGE
    assert "the built database changed since the plan" in out.stderr
    # a new plan, then a contract edit: stale, naming the file
    assert leak("plan", "--out", "target/plan.json").exit_code == 0
    project.edit_json(CAT, lambda d: d["thresholds"].update(min_orders=2))
    before = project.db.read_bytes()
    out = leak("apply", "target/plan.json")
    assert out.exit_code == ExitCode.USAGE
    assert out.stderr.strip() == ("leakcli: error: target/plan.json: saved plan is stale: "
                                  "contracts/metric-catalog.json changed; run `leakcli plan --out FILE` again")
    assert project.db.read_bytes() == before


def test_stale_plan_after_data_change(project, leak):
    assert leak("plan", "--out", "target/plan.json").exit_code == 0
    _csv_replace("orders.csv", "59.99,22.49", "58.99,22.49")(project)
    out = leak("apply", "target/plan.json")
    assert out.exit_code == ExitCode.USAGE
    assert "datasets/maven-fuzzy-factory/raw/orders.csv changed" in out.stderr


def test_select_operators(project, leak):
    out = leak("plan", "--json", "--select", "int__order_refunds+")
    chosen = {m["name"] for m in out.json()["models"] if m["action"] != "skip"}
    assert chosen == {"int__order_refunds", "int__session_outcomes", "mart__core_leak_summary",
                      "mart__priority_actions"}
    out = leak("plan", "--json", "--select", "+int__order_refunds")
    assert {m["name"] for m in out.json()["models"] if m["action"] != "skip"} == {
        "stg__order_item_refunds", "int__order_refunds"}
    # building a model whose parents were never built is refused with a hint
    out = leak("apply", "--select", "int__order_refunds")
    assert out.exit_code == ExitCode.USAGE
    assert "select it too (--select +int__order_refunds)" in out.stderr
    out = leak("apply", "--json", "--select", "+int__order_refunds")
    assert out.exit_code == 0
    statuses = {r["model"]: r["status"] for r in out.json()["results"]}
    assert statuses["int__order_refunds"] == "success" and statuses["mart__core_leak_summary"] == "skipped"


def test_select_matching_nothing_is_an_error(project, leak):
    out = leak("plan", "--select", "mart__priority")
    assert out.exit_code == ExitCode.USAGE
    assert out.stderr.strip() == ("leakcli: error: --select: 'mart__priority' matches no model; "
                                  "did you mean 'mart__priority_actions'?")
    out = leak("apply", "--select", "nothing_like_it")
    assert out.exit_code == ExitCode.USAGE and out.stdout == ""


def test_a_build_under_revision_1_says_which_models_rebuild_and_why(project, leak):
    """Built with revision 1's rules (indexes against the site, no device columns), planned under
    revision 2: the two marts rebuild, for their SQL and their registry contract; nothing else."""
    rev2_catalog = project.read_json(CAT)
    rev2_registry = project.read_json("contracts/model-registry.json")

    def revision_1(cat):
        for m in cat["metrics"]:
            if m["name"].endswith("_index"):
                m["sql"] = m["sql"].replace("device_", "baseline_")
    project.edit_json(CAT, revision_1)
    project.edit_json("contracts/model-registry.json", lambda d: next(
        m for m in d["models"] if m["name"] == "mart__core_leak_summary")["columns"].append(
        {"name": "revision_1_only", "type": "DOUBLE", "nullable": True}))
    last = "as refund_leak_usd\nfrom indexed"
    project.edit_text("templates/mart__core_leak_summary.sql", last,
                      "as refund_leak_usd,\n    cast(null as double) as revision_1_only\nfrom indexed")
    unit_tests = (project.root / "contracts/unit-tests.json").read_text()  # they pin revision 3's indexes
    project.drop_unit_tests(lambda t: t["model"] != "mart__core_leak_summary")
    assert leak("apply").exit_code == 0
    (project.root / "contracts/unit-tests.json").write_text(unit_tests)
    project.write_json(CAT, rev2_catalog)
    project.write_json("contracts/model-registry.json", rev2_registry)
    project.edit_text("templates/mart__core_leak_summary.sql",
                      "as refund_leak_usd,\n    cast(null as double) as revision_1_only\nfrom indexed", last)
    out = leak("plan", "--json")
    assert out.exit_code == 0
    actions = {m["name"]: (m["action"], m["reason"]) for m in out.json()["models"]}
    assert actions.pop("mart__core_leak_summary") == ("rebuild", "its SQL changed; its registry contract changed")
    assert actions.pop("mart__priority_actions") == (
        "rebuild", "upstream model mart__core_leak_summary changed")
    assert set(actions.values()) == {("unchanged", "fingerprint matches the built table")}


def test_every_question_code_has_one_rule():
    from leakcli.contracts.questions import RULES, Code

    assert set(RULES) == set(Code)


def test_the_out_of_scope_words_come_from_the_catalog(project, leak):
    project.edit_json("contracts/model-registry.json", lambda d: d["models"][-1].update(
        description="Ranks segments by cohort."))
    assert not [a for a in leak("plan", "--json").json()["ambiguities"] if a["code"] == "out_of_scope"]
    project.edit_json(CAT, lambda d: d["out_of_scope"].append("cohort"))
    out = leak("plan", "--json")
    assert out.exit_code == ExitCode.USAGE
    (a,) = [a for a in out.json()["ambiguities"] if a["code"] == "out_of_scope"]
    assert "'cohort'" in a["question"]


def test_the_null_like_tokens_come_from_the_manifest(project, leak):
    _csv_replace("website_sessions.csv", "gsearch,nonbrand", "unset,nonbrand", 3)(project)
    assert not [a for a in leak("plan", "--json").json()["ambiguities"] if a["code"] == "undeclared_null_token"]
    project.edit_json("contracts/source-manifest.json", lambda d: d["checks"]["null_like"].append("unset"))
    out = leak("plan", "--json")
    (a,) = [a for a in out.json()["ambiguities"] if a["code"] == "undeclared_null_token"]
    assert "'unset' (3)" in a["question"]


def test_the_leak_order_is_the_tie_order(project):
    """Two leaks of exactly the same size: the one listed first in the catalog is the primary leak."""
    from leakcli.contracts import load as contracts
    from leakcli.render.renderer import Renderer

    def sql_of(order):
        project.edit_json(CAT, lambda d: d["priority"].update(leaks=[
            next(x for x in d["priority"]["leaks"] if x["name"] == n) for n in order]))
        return Renderer(contracts.load(project.root)).render_model("mart__priority_actions").sql

    import duckdb

    for order in (["conversion", "order_value", "refund_drag"], ["refund_drag", "conversion", "order_value"]):
        case = sql_of(order).split("case when action_scope")[1].split(" end as primary_leak")[0]
        (leak,), = duckdb.execute("select case when action_scope" + case + " end from (select 'segment' "
                                  "as action_scope, 1.0 as conversion_leak_usd, 1.0 as order_value_leak_usd, "
                                  "1.0 as refund_leak_usd)").fetchall()
        assert leak == order[0]


@pytest.mark.parametrize("mutate", [
    lambda p: None,
    _csv_replace("website_sessions.csv", "gsearch,nonbrand", "N/A,nonbrand", 3),
    _csv_replace("website_sessions.csv", "gsearch,nonbrand", "tiktok,nonbrand", 2),
    _csv_replace("orders.csv", "\n2,", "\n1,"),
    _csv_replace("website_pageviews.csv", "/products", " NULL ", 5),
    _csv_replace("orders.csv", ",49.99,", ",-49.99,", 2),  # below the minimum price
    _csv_replace("website_sessions.csv", ",2014-", ",1969-", 2),  # far outside the range its profile saw
    lambda p: (p.raw / "order_item_refunds.csv").write_text(
        "order_item_refund_id,created_at,order_item_id,order_id,refund_amount_usd\n"),
])
def test_checks_of_a_loaded_table_equal_the_checks_of_its_file(project, mutate):
    """apply's fast path (bitmap keys, histograms) finds what plan's scan of the file finds."""
    from leakcli.contracts import load as contracts
    from leakcli.engine.connection import connect
    from leakcli.engine.load import load_sources
    from leakcli.sources.scan import loaded_table_stats, scan_file

    mutate(project)
    c = contracts.load(project.root)
    null_like = c.manifest.checks.null_like
    known = {"utm_source": ["gsearch", "bsearch"], "range:created_at": ["2013-01-01 00:00:00", "2016-01-01 00:00:00"]}
    con = connect()
    present = {n: t for n, t in c.tables.items() if (project.raw / t.file).exists()}
    load_sources(con, c, project.raw, list(present), rejects={})
    assert len(present) >= 6
    for name, table in present.items():
        scanned = scan_file(con, table, project.raw / table.file, c.manifest.dialect, null_like, known)
        loaded = loaded_table_stats(con, table, f'"source__maven__{name}"', null_like, known)
        assert loaded == scanned, name
    con.close()


@pytest.mark.parametrize("select, exclude, expected", [
    (["stg__orders+,int__order_refunds+"], None, {"int__session_outcomes", "mart__core_leak_summary",
                                                   "mart__priority_actions"}),  # comma: both hold
    (["stg__orders int__order_refunds"], None, {"stg__orders", "int__order_refunds"}),  # space: either
    (["1+int__session_outcomes"], None, {"int__session_outcomes", "stg__website_sessions",
                                         "int__session_landing_pages", "stg__orders", "int__order_refunds"}),
    (["stg__order_item_refunds+1"], None, {"stg__order_item_refunds", "int__order_refunds"}),
    (["@int__order_refunds"], None, {"int__order_refunds", "stg__order_item_refunds", "int__session_outcomes",
                                     "stg__website_sessions", "int__session_landing_pages",
                                     "stg__website_pageviews", "stg__orders", "mart__core_leak_summary",
                                     "mart__priority_actions"}),
    (["stg__*"], ["stg__website_*"], {"stg__orders", "stg__order_item_refunds"}),
    ([], ["mart__*"], {"stg__website_sessions", "stg__website_pageviews", "stg__orders",
                       "stg__order_item_refunds", "int__session_landing_pages", "int__order_refunds",
                       "int__session_outcomes"}),
])
def test_select_and_exclude_follow_dbt(project, leak, select, exclude, expected):
    args = [a for s in select for a in ("--select", s)] + [a for s in exclude or [] for a in ("--exclude", s)]
    out = leak("plan", "--json", *args)
    assert out.exit_code == 0, out.stderr
    assert {m["name"] for m in out.json()["models"] if m["action"] != "skip"} == expected


def test_detailed_exitcode_says_whether_apply_would_change_anything(project, leak):
    assert leak("plan", "--detailed-exitcode").exit_code == 4  # nothing built yet
    assert leak("apply").exit_code == 0
    assert leak("plan", "--detailed-exitcode").exit_code == 0
    project.edit_json(CAT, lambda d: d["thresholds"].update(min_orders=2))
    assert leak("plan", "--detailed-exitcode").exit_code == 4
    assert leak("plan").exit_code == 0


def test_a_comment_or_layout_edit_rebuilds_nothing(project, leak):
    assert leak("apply").exit_code == 0
    project.edit_text("templates/int__order_refunds.sql", "select", "-- why: one row per order\nselect  ")
    project.edit_text("templates/mart__core_leak_summary.sql", "    group by all", "    group   by   all  -- all keys")
    out = leak("plan", "--json")
    assert {m["action"] for m in out.json()["models"]} == {"unchanged"}
    project.edit_text("templates/int__order_refunds.sql", "select  ", "select distinct ")
    actions = {m["name"]: m["action"] for m in leak("plan", "--json").json()["models"]}
    assert actions["int__order_refunds"] == "rebuild" and actions["stg__orders"] == "unchanged"
    # the comment edit is named, not hidden
    assert "comments or layout only" in _model(out.json(), "mart__core_leak_summary")["reason"]


def test_plan_shows_contract_values_and_sql_diff(project, leak):
    assert leak("plan", "--json").json()["contract_changes"] is None  # nothing published to compare with
    assert leak("apply").exit_code == 0
    assert leak("plan", "--json").json()["contract_changes"] == []
    project.edit_json(CAT, lambda d: d["thresholds"].update(min_sessions=200))
    doc = leak("plan", "--json").json()
    assert doc["contract_changes"] == [{"file": CAT, "pointer": "/thresholds/min_sessions", "op": "~",
                                        "old": 5, "new": 200}]
    summary = _model(doc, "mart__core_leak_summary")
    assert summary["action"] == "rebuild"
    diff = summary["diff"]
    assert diff[0] == "--- published/mart__core_leak_summary.sql"
    assert any(line.startswith("-") and ">= 5 " in line for line in diff[2:])
    assert any(line.startswith("+") and ">= 200" in line for line in diff[2:])
    assert "diff" not in _model(doc, "mart__priority_actions")  # its own SQL did not change
    text = leak("plan").stdout
    assert "  ~ contracts/metric-catalog.json#/thresholds/min_sessions: 5 -> 200" in text
    assert "  ~ mart__core_leak_summary: rebuild (its SQL changed)" in text
    assert "  = stg__orders: unchanged" in text
    # what apply builds is what plan diffed against next time: no change left
    assert leak("apply").exit_code == 0
    doc = leak("plan", "--json").json()
    assert doc["contract_changes"] == [] and not any("diff" in m for m in doc["models"])


def test_a_blocked_plan_puts_its_questions_first_and_last(project, leak):
    _csv_replace("orders.csv", "price_usd", "price_in_usd")(project)
    out = leak("plan")
    assert out.exit_code == 2
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    assert lines[0].startswith("Blocked: 1 blocking question(s) open")
    assert "header_mismatch" in lines[1]
    assert lines[-1] == "Apply will not run until the blocking questions are answered."
    assert "header_mismatch" in lines[-2]
    assert "Apply will:" not in out.stdout


def test_contract_changes_name_added_removed_and_changed_values():
    from leakcli.plan.changes import value_changes

    old = {"a": 1, "gone": [1, 2], "models": [{"name": "m", "cols": ["x"]}], "list": [1, 2]}
    new = {"a": 2, "models": [{"name": "m", "cols": ["x", "y"]}, {"name": "n"}], "list": [2, 1], "b/c": None}
    out = value_changes("f.json", old, new)
    got = [(c.op, c.pointer, c.old, c.new) for c in out]
    assert got == [("~", "/a", 1, 2), ("-", "/gone", [1, 2], None), ("+", "/models/0/cols/1", None, "y"),
                   ("+", "/models/1", None, {"name": "n"}), ("~", "/list/0", 1, 2), ("~", "/list/1", 2, 1),
                   ("+", "/b~1c", None, None)]


def test_a_build_without_its_contracts_says_changes_are_not_known(project, leak):
    assert leak("apply").exit_code == 0
    (project.root / "target/current/contracts.json").unlink()  # as a build of an older leakcli
    out = leak("plan")
    assert out.exit_code == 0 and "Contract changes: not known" in out.stdout
    assert leak("plan", "--json").json()["contract_changes"] is None


def test_models_that_bound_cleanly_are_not_bound_again(project, leak):
    from leakcli.progress import counting

    with counting() as seen:
        assert leak("plan").exit_code == 0
    assert seen["sql bound"] == 9  # nothing cached yet: every model binds
    assert leak("apply").exit_code == 0  # apply keeps the key of the clean bind
    with counting() as seen:
        assert leak("plan").exit_code == 0
    assert seen["sql bound"] == 0
    # a changed model binds again, and a mismatch is still found
    project.edit_text("templates/stg__orders.sql", "    price_usd,\n", "    price_usd as price,\n")
    with counting() as seen:
        out = leak("plan", "--json")
    assert seen["sql bound"] >= 1 and any(a["code"] == "contract_mismatch" for a in out.json()["ambiguities"])


def test_after_apply_plan_and_a_no_op_apply_open_no_database_and_parse_no_sql(project, leak):
    """The build's summary (state.json) and the cache's SQL digests stand in for the database and the
    parser while the files they describe are unchanged; a write to the database, or a cache of another
    DuckDB version, sends leakcli back to the files themselves."""
    import duckdb

    from leakcli.progress import counting

    first = leak("apply", "--json").json()
    assert (project.root / "target/current/state.json").is_file()
    with counting() as seen:  # each command starts afresh: only the cache knows the SQL
        plan = leak("plan", "--json").json()
        assert {m["action"] for m in plan["models"]} == {"unchanged"}
        again = leak("apply", "--json").json()
    assert seen["database opened"] == 0 and seen["sql parsed"] == 0
    assert again["top_actions"] == first["top_actions"] and len(first["top_actions"]) > 0
    assert ([(r["model"], r["rows"]) for r in again["results"]]
            == [(r["model"], r["rows"]) for r in first["results"]])

    con = duckdb.connect(str(project.db))  # someone edits the published database by hand
    con.execute('comment on table "mart__priority_actions" is null')
    con.close()
    with counting() as seen:
        steps = {m["name"]: m for m in leak("plan", "--json").json()["models"]}
    assert seen["database opened"] > 0 and steps["mart__priority_actions"]["action"] == "rebuild"
    assert "carries no leakcli metadata" in steps["mart__priority_actions"]["reason"]

    project.edit_json("target/.cache/leakcli.json", lambda doc: doc["sql"].update(version="0.0.1"))
    with counting() as seen:
        assert leak("plan").exit_code == 0
    assert seen["sql parsed"] >= 9  # another DuckDB's parse is not trusted


def test_exports_hold_the_marts_in_grain_order(project, leak):
    import csv

    assert leak("apply").exit_code == 0
    registry = {m["name"]: m for m in project.read_json("contracts/model-registry.json")["models"]}
    for mart in ("mart__core_leak_summary", "mart__priority_actions"):
        grain = registry[mart]["grain"]
        with (project.root / f"target/exports/{mart}.csv").open() as fh:
            exported = [tuple(row[k] for k in grain) for row in csv.DictReader(fh)]
        cols = ", ".join(f'coalesce("{k}"::varchar, \'\')' for k in grain)
        ordered = project.query(f'select {cols} from "{mart}" order by {", ".join(grain)}')
        assert len(exported) > 1 and exported == ordered


def test_templates_rendered_by_the_last_apply_are_not_rendered_again_until_an_input_changes(project, leak):
    from leakcli.progress import counting

    def rendered(seen):
        return [e.removeprefix("template rendered: ") for e in seen if e.startswith("template rendered: ")]

    assert leak("apply").exit_code == 0
    with counting() as seen:  # each command starts afresh: only the cache knows them
        first = leak("plan", "--json").json()
    assert rendered(seen) == [] and {m["action"] for m in first["models"]} == {"unchanged"}

    project.edit_text("templates/mart__priority_actions.sql", "order by priority_rank", "order by priority_rank\n")
    with counting() as seen:
        leak("plan")
    assert rendered(seen) == ["mart__priority_actions"]  # only the edited template
    project.edit_json("contracts/metric-catalog.json", lambda doc: doc["thresholds"].update(min_sessions=6))
    with counting() as seen:
        steps = {m["name"]: m for m in leak("plan", "--json").json()["models"]}
    assert len(rendered(seen)) >= 9  # a contract changed: every template renders anew
    assert any(line.startswith("+") and ">= 6" in line for line in steps["mart__core_leak_summary"]["diff"])


def test_a_plan_with_nothing_to_check_does_not_even_import_duckdb_or_jinja(project, leak):
    """Nor the records of other commands' outputs: what a start costs is what the command needs."""
    import json
    import subprocess
    import sys

    assert leak("apply").exit_code == 0
    for args in (["plan", "--json"], ["plan"]):
        code = (f"import sys\nfrom leakcli.cli import app\n"
                f"try:\n    app({args!r}, prog_name='leakcli')\nexcept SystemExit as exc:\n    code = exc.code\n"
                "print(*(m in sys.modules for m in ('jinja2', 'duckdb', 'leakcli.contracts.results')), code, "
                "file=sys.stderr)")
        out = subprocess.run([sys.executable, "-c", code], cwd=project.root, capture_output=True, text=True)
        assert out.stderr.split()[-4:] == ["False", "False", "False", "0"], (args, out.stderr)
    assert {m["action"] for m in json.loads(leak("plan", "--json").stdout)["models"]} == {"unchanged"}


# -- selections and saved plans, as a user runs them --------------------------------------------
def _line(out, code: int) -> str:
    """The one line of a failed command on stderr (nothing else there, no traceback)."""
    assert out.exit_code == code, (out.exit_code, out.stderr)
    (line,) = out.stderr.splitlines()
    assert line.startswith("leakcli: error: ")
    return line


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
