"""Growing data (LEAK-SPEC §11): each source file's change classified against what the published build
read, only the months it touches rebuilt, and the result equal to a full rebuild of the same files.

The property: random sequences of appends (a day, a month, late refunds), rewrites that change, remove
or only reorder rows, and a file cut shorter, each applied incrementally, give every model equal to
a build from scratch of the same files (on the hand-made shop and on a small generated dataset).
CI runs it with a fixed seed (conftest's "ci" profile); LEAKCLI_SLOW=1 runs more examples."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURE, REPO, make_project
from growing import FILES, Shop, tables
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = 12 if os.environ.get("LEAKCLI_SLOW") else 3


def _ops(shop: Shop, folder: Path, op: str, rng: random.Random) -> None:
    """One change of the data, as a shop's exports change."""
    if op in ("day", "month"):
        pending = sorted(r.split(",")[1] for f in FILES for r in shop.future[f])
        if not pending:
            op = "reorder"
        else:
            start = pending[0]
            days = 1 if op == "day" else 31
            year, month, day = int(start[:4]), int(start[5:7]), int(start[8:10])
            import datetime as dt

            until = (dt.date(year, month, day) + dt.timedelta(days=days)).isoformat()
            shop.append(folder, until)
            return
    if op == "late_refund":  # a refund for an old order, arriving now
        refunded = {r.split(",")[3] for r in shop.rows["order_item_refunds.csv"]}
        orders = [r.split(",") for r in shop.rows["orders.csv"] if r.split(",")[0] not in refunded]
        if orders:
            order = rng.choice(orders[: max(1, len(orders) // 2)])  # an early one
            next_id = 1 + max(int(r.split(",")[0]) for r in [*shop.rows["order_item_refunds.csv"],
                                                                *shop.future["order_item_refunds.csv"]] or ["0"])
            last = max(r.split(",")[1] for f in FILES for r in shop.rows[f])
            row = f"{next_id},{last},{order[0]},{order[0]},{float(order[6]) / 2:.2f}"
            shop.rows["order_item_refunds.csv"].append(row)
            with (folder / "order_item_refunds.csv").open("a") as fh:
                fh.write(row + "\n")
        return
    if op == "change":  # a row exported again with another value
        name = rng.choice(["website_sessions.csv", "website_pageviews.csv"])
        i = rng.randrange(len(shop.rows[name]))
        fields = shop.rows[name][i].split(",")
        if name == "website_sessions.csv":
            fields[7] = "mobile" if fields[7] == "desktop" else "desktop"
        else:
            fields[3] = rng.choice(["/home", "/lander-1", "/products"])
        shop.rows[name][i] = ",".join(fields)
    elif op == "remove":  # a pageview that was never there
        rows = shop.rows["website_pageviews.csv"]
        del rows[rng.randrange(len(rows))]
        name = "website_pageviews.csv"
    elif op == "reorder":  # the same rows in another order
        name = rng.choice(FILES)
        rng.shuffle(shop.rows[name])
    else:  # "cut": the file cut shorter, its last rows gone
        name = "website_pageviews.csv"
        shop.rows[name] = shop.rows[name][: -rng.randint(1, 5)]
    shop.write(folder, name)


def _apply(root: Path, *args: str) -> dict:
    from typer.testing import CliRunner

    from leakcli.cli import app

    cwd = os.getcwd()
    os.chdir(root)
    try:
        result = CliRunner().invoke(app, ["apply", "--json", *args], catch_exceptions=False)
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.stderr
    import json

    return json.loads(result.stdout)


def _run(base: Path, tmp: Path, cutoff: str, ops: list[str], seed: int, thresholds: dict[str, int]) -> None:
    rng = random.Random(seed)
    data = tmp / "data"
    data.mkdir()
    shop = Shop(base, cutoff)
    shop.write(data)
    inc = make_project(tmp / "inc", data=None)
    inc.edit_json("contracts/metric-catalog.json", lambda d: d["thresholds"].update(thresholds))
    _apply(inc.root, "--data-dir", str(data))
    for op in ops:
        _ops(shop, data, op, rng)
        done = _apply(inc.root)
        full = tmp / f"full-{op}-{rng.random():.6f}"
        shutil.copytree(inc.root, full, ignore=shutil.ignore_patterns("target"))
        _apply(full, "--data-dir", str(data))
        assert tables(inc.db) == tables(full / "target" / "leakcli.duckdb"), (op, done["results"])
        shutil.rmtree(full)


OPS = st.sampled_from(["day", "month", "late_refund", "change", "remove", "reorder", "cut"])
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


@PROPERTY
@given(ops=st.lists(OPS, min_size=2, max_size=4), seed=st.integers(0, 10**6))
def test_incremental_builds_equal_a_full_rebuild_on_the_hand_made_shop(tmp_path_factory, ops, seed):
    tmp = tmp_path_factory.mktemp("shop")
    _run(FIXTURE, tmp, "2014-04-01", ops, seed, {"min_sessions": 5, "min_orders": 1})


@PROPERTY
@given(ops=st.lists(OPS, min_size=2, max_size=3), seed=st.integers(0, 10**6))
def test_incremental_builds_equal_a_full_rebuild_on_a_generated_shop(tmp_path_factory, generated, ops, seed):
    tmp = tmp_path_factory.mktemp("generated")
    _run(generated, tmp, "2015-02-01", ops, seed, {})


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A small synthetic shop (about 5,000 sessions), made once."""
    from leakcli.paths import Paths
    from leakcli.sources.generate import GenerateRequest, generate

    out = tmp_path_factory.mktemp("gen") / "raw"
    generate(Paths(REPO), GenerateRequest(scale=0.01, seed=7, out=out))
    return out



# -- bad input (LEAK-SPEC §11): each as on a first apply, and the next apply exact ---------------------
@pytest.fixture
def grown(tmp_path, monkeypatch):
    """A project built on the shop's rows up to March, its data directory, and the shop's rows to come."""
    data = tmp_path / "data"
    data.mkdir()
    shop = Shop(FIXTURE, "2014-04-01")
    shop.write(data)
    project = make_project(tmp_path / "proj", data=None)
    project.edit_json("contracts/metric-catalog.json",
                      lambda d: d["thresholds"].update(min_sessions=5, min_orders=1))
    monkeypatch.chdir(project.root)
    _apply(project.root, "--data-dir", str(data))
    return project, data, shop


def _same_as_a_full_rebuild(project, data, tmp_path) -> None:
    full = tmp_path / "full"
    shutil.copytree(project.root, full, ignore=shutil.ignore_patterns("target"))
    _apply(full, "--data-dir", str(data))
    assert tables(project.db) == tables(full / "target" / "leakcli.duckdb")


def test_plan_says_what_changed_in_each_file_and_which_months(grown, leak):
    project, data, shop = grown
    assert shop.append(data, "2014-05-01")  # April's rows, late refunds of March's orders among them
    doc = leak("plan", "--json").json()
    files = {s["table"]: s for s in doc["sources"]}
    sessions = files["website_sessions"]
    assert sessions["change"] == "appended" and sessions["rows_added"] > 0
    assert sessions["rows_after"] == sessions["rows_before"] + sessions["rows_added"]
    assert [m["month"] for m in sessions["months"]] == ["2014-04"]
    actions = {m["name"]: m["action"] for m in doc["models"]}
    assert actions["stg__website_sessions"] == actions["mart__core_leak_summary"] == "update"
    assert [n for n, a in actions.items() if a == "rebuild"] == ["mart__priority_actions"]
    growth = doc["growth"]
    assert growth["months_to_rebuild"] == sorted({m["month"] for s in doc["sources"] for m in s["months"]})
    assert growth["window"]["to"] == "2014-04" and growth["window"]["previous_to"] == "2014-03"
    assert growth["data_ends"]["month"] == "2014-04"
    text = leak("plan").stdout
    assert "website_sessions.csv: appended" in text and "The priority window moves" in text
    out = leak("apply", "--json")
    assert out.exit_code == 0
    assert out.json()["growth"]["months_to_rebuild"] == growth["months_to_rebuild"]
    assert project.read_json("target/run_results.json")["growth"]["months_to_rebuild"] == growth["months_to_rebuild"]
    assert leak("verify", "--full-check").exit_code == 0


def test_a_late_refund_dirties_its_orders_month_not_its_own(grown, leak):
    project, data, shop = grown
    order = next(r.split(",") for r in shop.rows["orders.csv"] if r.split(",")[1].startswith("2014-01"))
    refunded = {r.split(",")[3] for r in shop.rows["order_item_refunds.csv"]}
    assert order[0] not in refunded
    with (data / "order_item_refunds.csv").open("a") as fh:
        fh.write(f"99,2014-03-31 12:00:00,{order[0]},{order[0]},10.00\n")
    doc = leak("plan", "--json").json()
    refunds = next(s for s in doc["sources"] if s["table"] == "order_item_refunds")
    assert refunds["change"] == "appended"
    assert refunds["months"] == [{"month": "2014-01", "rows": 1}]
    assert "rows of the sessions of 2014-01 (1)" in leak("plan").stdout
    assert leak("apply").exit_code == 0
    _same_as_a_full_rebuild(project, data, project.root.parent)


def test_a_duplicate_key_between_new_and_old_rows_is_asked_and_nothing_is_built(grown, leak):
    project, data, shop = grown
    before = project.db.resolve().read_bytes()
    old = shop.rows["website_sessions.csv"][0]
    with (data / "website_sessions.csv").open("a") as fh:
        fh.write(old + "\n")  # the first session again
    plan = leak("plan", "--json")
    assert plan.exit_code == 2  # blocked, as on a first apply
    assert [a["code"] for a in plan.json()["ambiguities"] if a["severity"] == "blocking"] == ["duplicate_key"]
    out = leak("apply")
    assert out.exit_code == 2 and "repeat a primary key" in out.stderr
    assert project.db.resolve().read_bytes() == before
    shop.write(data, "website_sessions.csv")  # fixed: the file as it was
    assert leak("apply").exit_code == 0
    _same_as_a_full_rebuild(project, data, project.root.parent)


def test_a_bad_row_in_the_new_bytes_is_named_by_its_line_in_the_whole_file(grown, leak):
    project, data, shop = grown
    lines = len((data / "orders.csv").read_text().splitlines())
    with (data / "orders.csv").open("a") as fh:
        fh.write("500,2014-04-02 10:00:00,999,999,1,1,49.99,19.49\n501,not a time,999,999,1,1,49.99,19.49\n")
    out = leak("plan", "--json")
    assert out.exit_code == 3  # a row that cannot be read: plan and apply say the same (LEAK-SPEC §10)
    bad = [a for a in out.json()["ambiguities"] if a["code"] == "bad_value"]
    assert len(bad) == 1 and bad[0]["location"].endswith(f"orders.csv:{lines + 2}")
    out = leak("apply")
    assert out.exit_code == 3 and f"orders.csv:{lines + 2}" in out.stderr
    shop.write(data, "orders.csv")
    assert leak("apply").exit_code == 0


def test_new_bytes_that_continue_a_last_line_without_a_newline_rewrite_the_file(tmp_path, monkeypatch, leak):
    data = tmp_path / "data"
    data.mkdir()
    shop = Shop(FIXTURE, "2014-04-01")
    shop.write(data)
    text = (data / "website_pageviews.csv").read_text()
    (data / "website_pageviews.csv").write_text(text.rstrip("\n")[:-3])  # the last line cut short
    project = make_project(tmp_path / "proj", data=None)
    project.edit_json("contracts/metric-catalog.json", lambda d: d["thresholds"].update(min_sessions=5, min_orders=1))
    monkeypatch.chdir(project.root)
    _apply(project.root, "--data-dir", str(data))
    (data / "website_pageviews.csv").write_text(text)  # the same bytes, the last line completed and ended
    files = {s["table"]: s for s in leak("plan", "--json").json()["sources"]}
    assert files["website_pageviews"]["change"] == "rewritten"
    assert leak("apply").exit_code == 0
    _same_as_a_full_rebuild(project, data, tmp_path)


def test_a_file_that_changes_while_apply_reads_it_stops_the_build(grown, leak, monkeypatch):
    from leakcli.commands.increment import Increment

    project, data, shop = grown
    before = project.db.resolve().read_bytes()
    shop.append(data, "2014-04-15")
    prepare = Increment.prepare

    def prepare_while_a_day_more_arrives(self, *args, **kwargs):  # the export is written while apply reads it
        assert shop.append(data, "2014-05-01")
        return prepare(self, *args, **kwargs)

    monkeypatch.setattr(Increment, "prepare", prepare_while_a_day_more_arrives)
    out = leak("apply")
    assert out.exit_code == 3 and "changed while apply read it" in out.stderr
    assert project.db.resolve().read_bytes() == before
    monkeypatch.setattr(Increment, "prepare", prepare)
    assert leak("apply").exit_code == 0
    _same_as_a_full_rebuild(project, data, project.root.parent)


def test_the_audit_loads_only_the_columns_its_queries_read():
    """A query of sources alone loads the columns it names (a count of rows one of them; a star all),
    so an incremental build's audit of a large file costs its parse, not its load."""
    from leakcli.commands.audit import read_columns
    from leakcli.contracts.load import load

    sessions = load(REPO).tables["website_sessions"]
    every = frozenset(c.name for c in sessions.columns)
    assert read_columns(sessions, "select count(*) from s") == {"website_session_id"}
    assert read_columns(sessions, "select count(*) from o where exists (select 1 from s where "
                                  "s.Website_Session_ID = o.website_session_id)") == {"website_session_id"}
    assert read_columns(sessions, "select s.* from s") == every
    assert read_columns(sessions, "select count(distinct device_type) from s") == {"device_type"}


def test_an_appended_file_is_hashed_once_and_its_old_newlines_are_not_counted_again(tmp_path):
    """The newlines of the bytes a build read are taken from its record while those bytes are the
    same; when they are not, they are counted: the line numbers of the whole file stay true."""
    from leakcli.files import digest_file

    path = tmp_path / "f.csv"
    path.write_bytes(b"h\n1\n2\n")
    before = digest_file(path)
    path.write_bytes(b"h\n1\n2\n3\n4\n")
    grown, whole = digest_file(path, 6, (before.sha256, 3)), digest_file(path)
    assert (grown.lines, grown.sha256, grown.prefix_sha256, grown.lines_after_prefix) == (5, whole.sha256,
                                                                                         before.sha256, 2)
    assert digest_file(path, 6, (before.sha256, 99)).lines == 101  # taken from the record, not counted
    path.write_bytes(b"h\n\n\n\n3\n4\n")  # the first 6 bytes are others: counted
    assert digest_file(path, 6, (before.sha256, 99)).lines == 6
