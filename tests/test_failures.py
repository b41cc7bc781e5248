"""The fault catalogue: every bad input ends with the documented exit code, one line on stderr that
names the file and the line, column or JSON pointer, no traceback, and the previous build as it was."""

from __future__ import annotations

import hashlib
import json

import pytest

from leakcli.errors import ExitCode

INTERRUPTED = ("leakcli: error: target/leakcli.duckdb: apply interrupted; the previous build is unchanged; "
               "run `leakcli apply` again")

RAW = "datasets/maven-fuzzy-factory/raw"


def _replace(rel, old, new, count=1):
    def mutate(p):
        path = p.root / rel
        data = path.read_bytes()
        assert old in data, (rel, old)
        path.write_bytes(data.replace(old, new, count))
    return mutate


def _write(rel, data: bytes):
    return lambda p: (p.root / rel).write_bytes(data)


def _delete(rel):
    return lambda p: (p.root / rel).unlink()


ORDERS = f"{RAW}/orders.csv"
ORDERS_HEADER = b"order_id,created_at,website_session_id,user_id,primary_product_id,items_purchased,price_usd,cogs_usd"

# id: (mutation, exit code, the one error line must contain all of these)
FAULTS = {
    "missing_csv": (_delete(f"{RAW}/website_pageviews.csv"), ExitCode.USAGE,
                    [f"{RAW}/website_pageviews.csv: 1 blocking", "'website_pageviews.csv'", "is missing"]),
    "header_missing_column": (_replace(ORDERS, b",price_usd,cogs_usd\n", b",price_usd\n"), ExitCode.USAGE,
                              [f"{ORDERS}:1:", "'cogs_usd' missing"]),
    "header_renamed_column": (_replace(ORDERS, b",price_usd,", b",price,"), ExitCode.USAGE,
                              [f"{ORDERS}:1:", "'price_usd' missing (found 'price')"]),
    "header_extra_column": (_replace(ORDERS, b",cogs_usd\n", b",cogs_usd,coupon\n"), ExitCode.USAGE,
                            [f"{ORDERS}:1:", "unexpected column 'coupon'"]),
    "row_too_many_fields": (_replace(ORDERS, b",59.99,22.49\n", b",59.99,22.49,1\n"), ExitCode.EXECUTION,
                            [f"{ORDERS}:3:", "expected 8 fields, found 9"]),
    "row_too_few_fields": (_replace(ORDERS, b",59.99,22.49\n", b",59.99\n"), ExitCode.EXECUTION,
                           [f"{ORDERS}:3:", "expected 8 fields, found 7"]),
    "bad_number": (_replace(ORDERS, b",59.99,22.49\n", b",59.9x,22.49\n"), ExitCode.EXECUTION,
                   [f"{ORDERS}:3:", "column 'price_usd'", "'59.9x'", "DECIMAL(10,2)"]),
    "bad_timestamp": (_replace(ORDERS, b"2,2014-01-03 11:06:00", b"2,2014-13-03 11:06:00"), ExitCode.EXECUTION,
                      [f"{ORDERS}:3:", "column 'created_at'", "'2014-13-03 11:06:00'", "TIMESTAMP"]),
    "empty_file": (_write(ORDERS, b""), ExitCode.USAGE, [f"{ORDERS}:1:", "file is empty"]),
    "not_utf8": (_replace(f"{RAW}/website_pageviews.csv", b",/cart\n", b",/c\xffrt\n"), ExitCode.EXECUTION,
                 [f"{RAW}/website_pageviews.csv:", "not valid UTF-8"]),
    "duplicate_primary_key": (_replace(ORDERS, b"\n2,2014-01-03", b"\n1,2014-01-03"), ExitCode.USAGE,
                              [f"{ORDERS}: 1 blocking", "repeat a primary key (order_id"]),
    "refund_larger_than_order": (_replace(f"{RAW}/order_item_refunds.csv", b",2,2,59.99", b",2,2,79.99"),
                                 ExitCode.USAGE, [f"{RAW}/order_item_refunds.csv:2:", "79.99 > 59.99"]),
    "malformed_json": (_replace("contracts/join-contracts.json", b'"joins": [', b'"joins": [,'), ExitCode.USAGE,
                       ["contracts/join-contracts.json:3:13: malformed JSON"]),
    "schema_violation": (_replace("contracts/model-registry.json", b'"grain": [\n        "order_id"\n      ]',
                                  b'"grain": "order_id"'), ExitCode.USAGE,
                         ["contracts/model-registry.json#/models/2/grain: schema violation",
                          "Input should be a valid list (found 'order_id')"]),
    "missing_template": (_delete("templates/int__order_refunds.sql"), ExitCode.USAGE,
                         ["templates/int__order_refunds.sql: 1 blocking",
                          "template of model 'int__order_refunds' is missing"]),
    "jinja_syntax_error": (_replace("templates/stg__orders.sql", b"{{ source('maven', 'orders') }}",
                                    b"{{ source('maven', 'orders' }}"), ExitCode.USAGE,
                           ["templates/stg__orders.sql:11: 1 blocking", "Jinja syntax error"]),
    "sql_error_at_run_time": (_replace("templates/stg__website_pageviews.sql", b"from {{ source",
                                       b"where cast(pageview_url as integer) > 0 from {{ source"),
                              ExitCode.USAGE, ["templates/stg__website_pageviews.sql", "does not parse"]),
    "target_not_writable": (lambda p: _block_target(p),
                            ExitCode.EXECUTION, ["target/builds: cannot write the target directory"]),
}


def _block_target(p):
    """Put a file where apply writes its builds (as root, permission bits do not stop writes)."""
    (p.root / "target/builds").rename(p.root / "target/builds.old")
    (p.root / "target/builds").write_text("not a directory")


def _fingerprint(project):
    """The published build, all of it: database, exports, compiled SQL and run results (the kept
    attempt target/rejected aside)."""
    target = project.root / "target"
    digest = hashlib.sha256()
    for path in sorted([target / "leakcli.duckdb", target / "current/run_results.json",
                        *(target / "exports").iterdir(), *(target / "compiled").iterdir()]):
        digest.update(path.name.encode() + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest(), sorted(p.name for p in target.iterdir() if p.name != "rejected")


@pytest.mark.parametrize("case", sorted(FAULTS))
def test_fault(project, leak, case):
    mutate, code, words = FAULTS[case]
    assert leak("apply").exit_code == 0
    before = _fingerprint(project)
    mutate(project)
    out = leak("apply", "--full-refresh")  # some faults change no input the plan fingerprints
    assert out.exit_code == code, out.stderr
    first = out.stderr.splitlines()[0]
    assert first.startswith("leakcli: error: ")
    for word in words:
        assert word in first
    assert "Traceback" not in out.stderr and out.stdout == ""
    if case == "target_not_writable":
        (project.root / "target/builds").unlink()
        (project.root / "target/builds.old").rename(project.root / "target/builds")
    assert _fingerprint(project) == before


def test_sql_error_at_run_time_names_model_and_compiled_sql(project, leak):
    assert leak("apply").exit_code == 0
    before = _fingerprint(project)
    # binds (the plan cannot see it) but fails on the data: a cast of text to a number (its unit test would
    # fail first, on its own rows: here the build itself must)
    project.drop_unit_tests(lambda t: t["model"] != "stg__orders")
    project.edit_text("templates/stg__orders.sql", "    price_usd,\n",
                      "    cast(cast(price_usd as varchar) || 'x' as decimal(10, 2)) as price_usd,\n")
    out = leak("apply")
    assert out.exit_code == ExitCode.EXECUTION
    (line,) = [w for w in out.stderr.splitlines() if "has no unit test" not in w]  # the warnings of the tests dropped
    assert line.startswith("leakcli: error: target/rejected/compiled/stg__orders.sql: model 'stg__orders' failed: "
                           "Conversion Error")
    assert line.endswith("; the published build is unchanged; the attempt is kept in target/rejected/")
    # the failed attempt is kept whole for inspection; the published build is the previous one
    assert "|| 'x'" in (project.root / "target/rejected/compiled/stg__orders.sql").read_text()
    assert "|| 'x'" not in (project.root / "target/compiled/stg__orders.sql").read_text()
    attempt = json.loads((project.root / "target/rejected/run_results.json").read_text())
    assert attempt["status"] == "error" and "stg__orders" in attempt["message"]
    failed = [r for r in attempt["results"] if r["status"] == "error"]
    assert [r["unique_id"] for r in failed] == ["model.leakcli.stg__orders"]
    assert _fingerprint(project) == before


def test_header_only_file_works_with_a_warning(project, leak):
    assert leak("apply").exit_code == 0
    (project.raw / "order_item_refunds.csv").write_text(
        "order_item_refund_id,created_at,order_item_id,order_id,refund_amount_usd\n")
    out = leak("apply")
    assert out.exit_code == 0
    assert ("leakcli: warning: datasets/maven-fuzzy-factory/raw/order_item_refunds.csv:1: "
            "'order_item_refunds.csv' has a header but no rows: is the export complete?") in out.stderr
    assert project.query("select sum(refund_amount_usd) from mart__core_leak_summary") == [(0,)]


def test_a_required_table_with_no_rows_blocks_unless_the_manifest_allows_it(project, leak):
    assert leak("apply").exit_code == 0
    before = _fingerprint(project)
    (project.raw / "website_sessions.csv").write_text((project.raw / "website_sessions.csv").read_text()
                                                      .splitlines()[0] + "\n")
    out = leak("apply")
    assert out.exit_code == ExitCode.USAGE
    (line,) = out.stderr.splitlines()[:1]
    assert line.startswith("leakcli: error: datasets/maven-fuzzy-factory/raw/website_sessions.csv:1: ")
    assert "contracts/source-manifest.json#/tables/0/allow_empty does not allow it" in line
    assert _fingerprint(project) == before
    # the manifest can allow it: then it is a warning
    project.edit_json("contracts/source-manifest.json", lambda d: d["tables"][0].update(allow_empty=True))
    out = leak("plan", "--json")
    (a,) = [a for a in out.json()["ambiguities"] if a["code"] == "empty_source"]
    assert a["severity"] == "warning"


def test_byte_order_mark_and_crlf_simply_work(project, leak):
    for name in ("website_sessions.csv", "orders.csv"):
        path = project.raw / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    out = leak("apply", "--json")
    assert out.exit_code == 0, out.stderr
    assert project.query("select sum(sessions), sum(orders), sum(gross_revenue_usd) from mart__core_leak_summary") \
        == [(353, 121, __import__("decimal").Decimal("5810.79"))]
    assert leak("verify").exit_code == 0


def test_a_build_that_fails_its_audit_is_not_published(project, leak):
    """An order whose session is missing is left out of the marts and counted by AT-07, which fails:
    apply exits 1, keeps the previous build published, and keeps the rejected attempt to inspect."""
    assert leak("apply").exit_code == 0
    before = _fingerprint(project)
    with (project.raw / "orders.csv").open("a") as fh:
        fh.write("122,2014-02-20 10:00:00,999,999,1,1,49.99,19.49\n")
    out = leak("apply")
    assert out.exit_code == ExitCode.TESTS_FAILED
    (line,) = out.stderr.splitlines()
    assert line == ("leakcli: error: build rejected: AT-07 failed (1 failing row(s)): orders whose session is "
                    "missing: 1 != 0; the published build is unchanged; the attempt is kept in target/rejected/")
    assert _fingerprint(project) == before
    attempt = json.loads((project.root / "target/rejected/run_results.json").read_text())
    assert attempt["status"] == "rejected"
    assert {"unique_id": "test.leakcli.AT-07", "status": "fail", "failures": 1} in [
        {k: a[k] for k in ("unique_id", "status", "failures")} for a in attempt["results"]]
    # target/run_results.json is this apply's, as in dbt; the published build keeps its own
    last = json.loads((project.root / "target/run_results.json").read_text())
    assert last["status"] == "rejected" and last["build"] == attempt["build"]
    assert json.loads((project.root / "target/current/run_results.json").read_text())["status"] == "success"
    import duckdb

    con = duckdb.connect(str(project.root / "target/rejected/leakcli.duckdb"), read_only=True)
    assert con.execute("select sum(orders) from mart__core_leak_summary").fetchall() == [(121,)]
    con.close()


def test_interrupted_apply_exits_130_and_keeps_the_build(project, leak):
    from leakcli.progress import inject

    assert leak("apply").exit_code == 0
    before = _fingerprint(project)
    project.edit_json("contracts/metric-catalog.json", lambda d: d["thresholds"].update(min_orders=2))
    with inject("model mart__core_leak_summary", KeyboardInterrupt):  # Ctrl-C as that model starts
        out = leak("apply", "--full-refresh")
    assert out.exit_code == ExitCode.INTERRUPTED
    assert out.stderr.strip() == INTERRUPTED
    assert _fingerprint(project) == before


def test_an_interrupt_outside_a_build_names_what_it_left_alone(project, leak):
    from leakcli.progress import inject

    assert leak("apply").exit_code == 0
    (project.raw / "orders.csv").write_text((project.raw / "orders.csv").read_text() + "\n")  # checked anew
    with inject("checking ", KeyboardInterrupt):  # Ctrl-C while plan reads the data
        out = leak("plan")
    assert out.exit_code == ExitCode.INTERRUPTED
    assert out.stderr.strip() == ("leakcli: error: target/leakcli.duckdb: interrupted; the published build is "
                                  "unchanged; run the command again")


def test_ctrl_c_while_duckdb_is_first_imported_waits_for_the_import():
    """A signal inside the initialisation of DuckDB's C extension broke the import (an ImportError with a
    traceback, an abort, or the signal lost and apply going on to exit 0): it is held until the import
    is done, then unwinds as any Ctrl-C."""
    import subprocess
    import sys

    code = ("import os, signal, sys\n"
            "signal.signal(signal.SIGINT, signal.default_int_handler)\n"  # started in the background, it is ignored
            "from leakcli.engine import signals_held\n"
            "try:\n"
            "    with signals_held():\n"
            "        os.kill(os.getpid(), signal.SIGINT)\n"
            "        import duckdb\n"
            "        print('imported', duckdb.__version__ is not None)\n"
            "except KeyboardInterrupt:\n"
            "    print('interrupted after the import')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["imported True", "interrupted after the import"]


def test_second_apply_fails_at_once_naming_the_holder(project, leak):
    from leakcli.store.lock import build_lock

    assert leak("apply").exit_code == 0
    with build_lock(project.root / "target/.leakcli.lock", "apply"):
        out = leak("apply")
        assert out.exit_code == ExitCode.EXECUTION
        (line,) = out.stderr.splitlines()
        assert line.startswith("leakcli: error: ")
        assert "target/.leakcli.lock: another apply is running (pid " in line
        assert "`leakcli apply` since" in line
        # readers are never blocked by a running apply
        assert leak("verify").exit_code == 0
        assert leak("show", "mart__priority_actions").exit_code == 0
        assert leak("plan").exit_code == 0
    assert leak("apply").exit_code == 0


def test_broken_acceptance_test_is_an_error_result(project, leak):
    assert leak("apply").exit_code == 0

    def break_tests(d):
        d["tests"][12]["join"] = "nope"
        d["tests"][3]["columns"] = ["no_such_column"]

    project.edit_json("contracts/acceptance-tests.json", break_tests)
    out = leak("verify", "--json")
    assert out.exit_code == ExitCode.USAGE  # a test that cannot run is a contract to fix, not a failed build
    first = "leakcli: error: contracts/acceptance-tests.json#/tests/3: AT-04 could not run: Binder Error"
    assert out.stderr.startswith(first) and out.stderr.endswith("; fix it and run `leakcli plan`\n")
    assert out.stderr.count("\n") == 1
    results = {r["id"]: r for r in out.json()["results"]}
    assert results["AT-13"]["status"] == "error"
    assert results["AT-13"]["message"] == ("contracts/acceptance-tests.json#/tests/12/join: join 'nope' is not "
                                           "in contracts/join-contracts.json; fix it and run `leakcli plan`")
    assert results["AT-04"]["status"] == "error" and "no_such_column" in results["AT-04"]["message"]
    assert out.json()["summary"]["errored"] == 2
