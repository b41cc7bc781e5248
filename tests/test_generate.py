"""The synthetic dataset (keys, funnel, determinism), profiles, and the embedded default."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from conftest import make_project

from leakcli.errors import ExitCode
from leakcli.paths import Paths
from leakcli.sources.generate import GenerateRequest, generate

SCALE = 0.02


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "data"
    generate(Paths(Path(".")), GenerateRequest(scale=SCALE, seed=7, out=out))
    return out


def _q(data: Path, sql: str):
    con = duckdb.connect()
    try:
        for name in ("website_sessions", "website_pageviews", "orders", "order_items", "order_item_refunds",
                     "products"):
            con.execute(f"create table {name} as select * from read_csv($p, nullstr = 'NULL')",
                        {"p": str(data / f"{name}.csv")})
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_real_dialect(synthetic):
    head = (synthetic / "website_sessions.csv").read_text().splitlines()
    assert head[0] == ("website_session_id,created_at,user_id,is_repeat_session,utm_source,utm_campaign,"
                       "utm_content,device_type,http_referer")
    assert any(",NULL," in line for line in head[1:200])
    assert head[1].split(",")[1][10] == " " and len(head[1].split(",")[1]) == 19  # YYYY-MM-DD HH:MM:SS
    assert (synthetic / "maven_fuzzy_factory_data_dictionary.csv").exists()


def test_key_relations(synthetic):
    # every order's session exists and has the order's user
    assert _q(synthetic, "select count(*) from orders o left join website_sessions s using (website_session_id) "
                         "where s.website_session_id is null or s.user_id <> o.user_id") == [(0,)]
    # at most one order per session; primary keys unique
    assert _q(synthetic, "select count(*) - count(distinct website_session_id) from orders") == [(0,)]
    for table, key in (("website_sessions", "website_session_id"), ("website_pageviews", "website_pageview_id"),
                       ("orders", "order_id"), ("order_items", "order_item_id"),
                       ("order_item_refunds", "order_item_refund_id")):
        assert _q(synthetic, f"select count(*) - count(distinct {key}) from {table}") == [(0,)], table
    # refunds reference items of their order and never exceed them
    assert _q(synthetic, "select count(*) from order_item_refunds r left join order_items i using (order_item_id) "
                         "where i.order_id is distinct from r.order_id or r.refund_amount_usd > i.price_usd "
                         "or r.created_at <= i.created_at") == [(0,)]
    # an order's price is the sum of its items; no product sells before its launch
    assert _q(synthetic, "select count(*) from orders o join (select order_id, sum(price_usd) p, count(*) n "
                         "from order_items group by 1) i using (order_id) "
                         "where i.p <> o.price_usd or i.n <> o.items_purchased") == [(0,)]
    assert _q(synthetic, "select count(*) from order_items i join products p using (product_id) "
                         "where i.created_at < p.created_at") == [(0,)]


def test_ordering_sessions_walk_the_funnel(synthetic):
    paths = _q(synthetic, """
        select list(v.pageview_url order by v.website_pageview_id), list(v.created_at order by v.website_pageview_id),
               any_value(o.created_at)
        from website_pageviews as v join orders o using (website_session_id) group by website_session_id""")
    assert paths
    for urls, times, ordered_at in paths:
        assert urls[0] in ("/home", "/lander-1", "/lander-2", "/lander-3", "/lander-4", "/lander-5")
        assert urls[1:2] == ["/products"] and urls[3:5] == ["/cart", "/shipping"]
        assert urls[2].startswith("/the-") and urls[5] in ("/billing", "/billing-2")
        assert urls[6] == "/thank-you-for-your-order"
        assert times == sorted(times) and times[-1] == ordered_at


def test_deterministic_for_a_seed_and_different_for_another(synthetic, tmp_path):
    generate(Paths(Path(".")), GenerateRequest(scale=SCALE, seed=7, out=tmp_path / "again"))
    generate(Paths(Path(".")), GenerateRequest(scale=SCALE, seed=8, out=tmp_path / "other"))
    for name in ("website_sessions.csv", "website_pageviews.csv", "orders.csv", "order_item_refunds.csv"):
        assert (tmp_path / "again" / name).read_bytes() == (synthetic / name).read_bytes()
        assert (tmp_path / "other" / name).read_bytes() != (synthetic / name).read_bytes()


def test_counts_follow_the_scale(synthetic):
    (sessions,) = _q(synthetic, "select count(*) from website_sessions")[0]
    (orders,) = _q(synthetic, "select count(*) from orders")[0]
    assert abs(sessions - 472_871 * SCALE) / (472_871 * SCALE) < 0.02
    assert abs(orders - 32_313 * SCALE) / (32_313 * SCALE) < 0.05


def test_generate_rejects_a_bad_scale(leak, tmp_path):
    out = leak("generate", "--scale", "0", "--out", str(tmp_path / "x"))
    assert out.exit_code == ExitCode.USAGE
    assert out.stderr.strip() == ("leakcli: error: leakcli generate: Invalid value for '--scale': must be a finite "
                                  "number greater than 0, not 0; see `leakcli generate --help`")


def test_profile_round_trip(project, leak):
    out = leak("profile", "--json")
    assert out.exit_code == 0
    written = out.json()["written"]
    assert "datasets/maven-fuzzy-factory/profile/orders.json" in written
    doc = project.read_json("datasets/maven-fuzzy-factory/profile/orders.json")
    assert doc["row_count"] == 121 and doc["file"] == "orders.csv" and len(doc["sha256"]) == 64
    price = next(c for c in doc["columns"] if c["name"] == "price_usd")
    assert price == {**price, "type": "DECIMAL(10,2)", "null_count": 0, "distinct_count": 4,
                     "min": "29.99", "max": "59.99"}
    assert price["top_values"][0] == {"value": "49.99", "count": 106}
    # the same data plans without drift; new data drifts with the figures
    assert not [a for a in leak("plan", "--json").json()["ambiguities"] if a["code"] == "profile_drift"]
    with (project.raw / "website_sessions.csv").open("a") as fh:
        for i in range(354, 394):
            fh.write(f"{i},2014-06-20 10:00:00,{i},0,tiktok,NULL,NULL,mobile,NULL\n")
    doc = leak("plan", "--json").json()
    drift = [a["question"] for a in doc["ambiguities"] if a["code"] == "profile_drift"]
    assert any("website_sessions.csv has 393 rows where its profile" in q and "has 353 (+11.3%)" in q
               for q in drift)
    assert any("website_sessions.utm_source holds 40 value(s) its profile" in q and "'tiktok' (40)" in q
               for q in drift)
    assert any("website_sessions.utm_campaign is 14.0% null where its profile" in q and "has 4.2%" in q
               for q in drift)
    assert all(a["severity"] == "warning" for a in doc["ambiguities"] if a["code"] == "profile_drift")


def test_fresh_clone_falls_back_to_the_synthetic_default(tmp_path, monkeypatch, leak):
    p = make_project(tmp_path / "fresh", data=None)
    monkeypatch.chdir(p.root)
    out = leak("apply", "--json")
    assert out.exit_code == 0, out.stderr
    assert ("leakcli: no Maven CSVs found: made up the embedded synthetic dataset in "
            "target/synthetic/maven-fuzzy-factory") in out.stderr
    assert "using the embedded synthetic dataset" not in out.stderr  # the line above said which data this is
    doc = out.json()
    assert doc["dataset"]["kind"] == "synthetic"
    run_results = json.loads((p.root / "target/run_results.json").read_text())
    assert run_results["dataset"]["kind"] == "synthetic"
    meta = p.query("select comment from duckdb_tables() where table_name = 'mart__core_leak_summary'")[0][0]
    assert json.loads(meta)["leakcli"]["dataset"]["kind"] == "synthetic"
    assert leak("verify").exit_code == 0
    # generated once: a second apply does not generate again
    out = leak("apply")
    assert "made up" not in out.stderr and out.exit_code == 0
    assert "using the embedded synthetic dataset" in out.stderr


def test_named_data_dir_with_missing_files_is_an_error(project, leak, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = leak("apply", "--data-dir", str(empty))
    assert out.exit_code == ExitCode.USAGE
    assert "website_sessions.csv' of table 'website_sessions' is missing" in out.stderr
    assert not (project.root / "target" / "synthetic").exists()
    out = leak("plan", env={"LEAKCLI_DATA_DIR": str(tmp_path / "nope")})
    assert out.exit_code == ExitCode.USAGE
    assert out.stderr.strip().endswith("nope: data directory named by LEAKCLI_DATA_DIR does not exist; "
                                       "name the folder of the Maven CSVs")


def test_drift_thresholds_come_from_the_manifest(project, leak):
    assert leak("profile").exit_code == 0
    with (project.raw / "website_sessions.csv").open("a") as fh:
        fh.write("354,2014-06-20 10:00:00,354,0,gsearch,nonbrand,g_ad_1,desktop,https://www.gsearch.com\n")
    drift = [a for a in leak("plan", "--json").json()["ambiguities"] if a["code"] == "profile_drift"]
    assert not [a for a in drift if "rows where its profile" in a["question"]]  # +0.3% < 10%
    project.edit_json("contracts/source-manifest.json", lambda d: d["checks"].update(row_drift=0.001))
    drift = [a for a in leak("plan", "--json").json()["ambiguities"] if a["code"] == "profile_drift"]
    assert [a for a in drift if "has 354 rows where its profile" in a["question"] and "(+0.3%)" in a["question"]]
