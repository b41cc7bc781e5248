"""The marts on the hand-made shop, against values worked out by hand.

The shop (tests/fixtures/shop): two months, segments
  A gsearch/nonbrand desktop /lander-1, B gsearch/nonbrand mobile /lander-1,
  C direct desktop /home, E direct desktop without pageviews (lands on 'unknown').
January:  A 10 sessions, orders 49.99 + 59.99 (the 59.99 refunded in February);
          B 10 sessions, one order 49.99;  C 8 sessions, orders 49.99 + 49.99;  E 2 sessions.
February: A 10 sessions, one order 49.99;  B 10 sessions, orders 49.99 + 29.99 (refunded) + 45.99;
          C 5 sessions.
Thresholds for the fixture: min_sessions 5, min_orders 1 (indexes as shipped: 0.8, 0.8, 1.5).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from leakcli.apply import ApplyRequest, apply

JAN, FEB = dt.date(2014, 1, 1), dt.date(2014, 2, 1)
A = ("gsearch", "nonbrand", "desktop", "/lander-1")
B = ("gsearch", "nonbrand", "mobile", "/lander-1")
C = ("direct_or_unknown", "direct_or_unknown", "desktop", "/home")
E = ("direct_or_unknown", "direct_or_unknown", "desktop", "unknown")

# Month baselines, by hand.
# January: 30 sessions, 5 orders, gross 259.95, refunds 59.99, net 199.96.
CVR_B1, AOV_B1, RR_B1, NRPS_B1 = 5 / 30, 51.99, 59.99 / 259.95, 199.96 / 30
# February: 25 sessions, 4 orders, gross 175.96, refunds 29.99, net 145.97.
CVR_B2, AOV_B2, RR_B2, NRPS_B2 = 4 / 25, 43.99, 29.99 / 175.96, 145.97 / 25


@pytest.fixture
def built(project):
    apply(ApplyRequest(project.root))
    return project


def summary(project):
    rows = project.rows("select * from mart__core_leak_summary")
    return {(r["session_month"], r["utm_source"], r["utm_campaign"], r["device_type"],
             r["landing_page"]): r for r in rows}


def test_summary_has_one_row_per_segment_and_month(built):
    keys = set(summary(built))
    assert keys == {(JAN, *A), (JAN, *B), (JAN, *C), (JAN, *E), (FEB, *A), (FEB, *B), (FEB, *C)}


def test_volumes_and_money(built):
    s = summary(built)
    a1 = s[(JAN, *A)]
    assert (a1["sessions"], a1["orders"]) == (10, 2)
    # the February refund of a January order stays with January (decision refund_attribution)
    assert a1["gross_revenue_usd"] == Decimal("109.98")
    assert a1["refund_amount_usd"] == Decimal("59.99")
    assert a1["net_revenue_usd"] == Decimal("49.99")
    b2 = s[(FEB, *B)]
    assert (b2["sessions"], b2["orders"], b2["gross_revenue_usd"], b2["refund_amount_usd"],
            b2["net_revenue_usd"]) == (10, 3, Decimal("125.97"), Decimal("29.99"), Decimal("95.98"))
    e1 = s[(JAN, *E)]
    assert (e1["sessions"], e1["orders"], e1["gross_revenue_usd"]) == (2, 0, Decimal("0.00"))


def test_measures_and_baselines(built):
    s = summary(built)
    a1 = s[(JAN, *A)]
    assert a1["conversion_rate"] == pytest.approx(0.2)
    assert a1["average_order_value_usd"] == pytest.approx(54.99)
    assert a1["net_revenue_per_session_usd"] == pytest.approx(4.999)
    assert a1["refund_rate"] == pytest.approx(59.99 / 109.98)  # 0.54546...
    assert a1["baseline_conversion_rate"] == pytest.approx(CVR_B1)
    assert a1["baseline_average_order_value_usd"] == pytest.approx(51.99)
    assert a1["baseline_net_revenue_per_session_usd"] == pytest.approx(6.665333333)
    assert a1["baseline_refund_rate"] == pytest.approx(0.2307751490)
    e1 = s[(JAN, *E)]
    # no orders: average order value and refund rate are 0, not NULL
    assert (e1["average_order_value_usd"], e1["refund_rate"]) == (0, 0)
    b2 = s[(FEB, *B)]
    assert b2["baseline_conversion_rate"] == pytest.approx(0.16)
    assert b2["baseline_average_order_value_usd"] == pytest.approx(43.99)
    assert b2["baseline_refund_rate"] == pytest.approx(29.99 / 175.96)


def test_indexes_and_flags(built):
    s = summary(built)
    a1 = s[(JAN, *A)]
    assert a1["conversion_index"] == pytest.approx(1.2)
    assert a1["net_revenue_index"] == pytest.approx(0.75)
    assert a1["refund_index"] == pytest.approx((59.99 / 109.98) / (59.99 / 259.95))  # 2.3636
    assert (a1["is_low_conversion"], a1["is_weak_net_revenue"], a1["is_high_refund_drag"]) == (False, True, True)
    b1 = s[(JAN, *B)]
    assert b1["conversion_index"] == pytest.approx(0.6)
    assert (b1["is_low_conversion"], b1["is_weak_net_revenue"], b1["is_high_refund_drag"]) == (True, True, False)
    # E has 2 sessions, below min_sessions 5: no flag although it converts nobody
    e1 = s[(JAN, *E)]
    assert e1["conversion_index"] == 0
    assert (e1["is_low_conversion"], e1["is_weak_net_revenue"], e1["is_high_refund_drag"]) == (False, False, False)
    # B in February: refund index 175.96 / 125.97 = 1.3968, under 1.5
    b2 = s[(FEB, *B)]
    assert b2["refund_index"] == pytest.approx(175.96 / 125.97)
    assert b2["is_high_refund_drag"] is False
    # C in February: 5 sessions (= min_sessions), no order: low conversion and weak net revenue
    c2 = s[(FEB, *C)]
    assert (c2["is_low_conversion"], c2["is_weak_net_revenue"], c2["is_high_refund_drag"]) == (True, True, False)
    assert s[(JAN, *C)]["refund_index"] == 0  # no refunds against a baseline that has some


def test_zero_baseline_gives_null_index_and_no_flag(project):
    (project.raw / "order_item_refunds.csv").write_text(
        "order_item_refund_id,created_at,order_item_id,order_id,refund_amount_usd\n")
    apply(ApplyRequest(project.root))
    rows = project.rows("select refund_index, is_high_refund_drag, baseline_refund_rate "
                        "from mart__core_leak_summary")
    assert rows and all(r["baseline_refund_rate"] == 0 for r in rows)
    assert all(r["refund_index"] is None and r["is_high_refund_drag"] is False for r in rows)


def test_leaks_by_hand(built):
    s = summary(built)
    a1 = s[(JAN, *A)]
    # (cvr_b - cvr) * aov_b * (1 - rr_b) * n
    assert a1["conversion_leak_usd"] == pytest.approx((CVR_B1 - 0.2) * AOV_B1 * (1 - RR_B1) * 10)
    assert a1["conversion_leak_usd"] == pytest.approx(-13.33057, abs=1e-4)
    # cvr * (aov_b - aov) * (1 - rr_b) * n
    assert a1["order_value_leak_usd"] == pytest.approx(0.2 * (51.99 - 54.99) * (1 - RR_B1) * 10)
    assert a1["order_value_leak_usd"] == pytest.approx(-4.61535, abs=1e-4)
    # cvr * aov * (rr - rr_b) * n
    assert a1["refund_leak_usd"] == pytest.approx(0.2 * 54.99 * (59.99 / 109.98 - RR_B1) * 10)
    assert a1["refund_leak_usd"] == pytest.approx(34.60925, abs=1e-4)
    # (nrps_b - nrps) * n
    assert a1["revenue_gap_usd"] == pytest.approx((NRPS_B1 - 4.999) * 10)
    assert a1["revenue_gap_usd"] == pytest.approx(16.66333, abs=1e-4)
    c1 = s[(JAN, *C)]
    assert c1["revenue_gap_usd"] == pytest.approx((NRPS_B1 - 99.98 / 8) * 8)  # -46.657: beats its month
    for row in s.values():
        total = row["conversion_leak_usd"] + row["order_value_leak_usd"] + row["refund_leak_usd"]
        assert total == pytest.approx(row["revenue_gap_usd"], abs=1e-9)


def test_priority_actions_by_hand(built):
    rows = built.rows("select * from mart__priority_actions order by priority_rank")
    # Gaps over both months: A 16.663 + 8.398 = 25.061; E 13.331; B -20.929 and C -17.463 are dropped.
    assert [(r["priority_rank"], (r["utm_source"], r["utm_campaign"], r["device_type"], r["landing_page"]))
            for r in rows] == [(1, A), (2, E)]
    a, e = rows
    gap_a = (NRPS_B1 - 4.999) * 10 + (NRPS_B2 - 4.999) * 10
    gap_e = NRPS_B1 * 2
    assert a["revenue_gap_usd"] == pytest.approx(gap_a)
    assert a["revenue_gap_usd"] == pytest.approx(25.06133, abs=1e-4)
    assert e["revenue_gap_usd"] == pytest.approx(gap_e)
    assert a["share_of_total_gap"] == pytest.approx(gap_a / (gap_a + gap_e))
    assert (a["sessions"], a["orders"], a["gross_revenue_usd"], a["refund_amount_usd"]) == (
        20, 3, Decimal("159.97"), Decimal("59.99"))
    # rates recomputed from the sums, not averaged
    assert a["conversion_rate"] == pytest.approx(3 / 20)
    assert a["average_order_value_usd"] == pytest.approx(159.97 / 3)
    assert a["refund_rate"] == pytest.approx(59.99 / 159.97)
    # leaks summed over the months: A's refund leak (34.61 - 8.52) beats its conversion leak
    # (-13.33 + 21.89) and its order-value leak (-4.62 - 4.98)
    conv_a = (CVR_B1 - 0.2) * AOV_B1 * (1 - RR_B1) * 10 + (CVR_B2 - 0.1) * AOV_B2 * (1 - RR_B2) * 10
    assert a["conversion_leak_usd"] == pytest.approx(conv_a)
    assert a["primary_leak"] == "refund_drag"
    assert e["primary_leak"] == "conversion"
    assert a["months_flagged"] == 2 and e["months_flagged"] == 0
    # window baseline: 55 sessions, 9 orders, gross 435.91, refunds 89.98
    assert a["baseline_conversion_rate"] == pytest.approx(9 / 55)
    assert a["baseline_refund_rate"] == pytest.approx(89.98 / 435.91)
    assert a["recommended_action"] == (
        "Refund drag on gsearch/nonbrand desktop landing on /lander-1: 37.5% of revenue refunded "
        "vs 20.6% site-wide; check what the page promises against the product.")
    assert e["recommended_action"] == (
        "Conversion leak on direct_or_unknown/direct_or_unknown desktop landing on unknown: "
        "0.0% vs 16.4% site-wide; fix the page or the bid.")
    assert (a["window_start_month"], a["window_end_month"]) == (JAN, FEB)


def test_landing_page_is_the_lowest_pageview_id(built):
    # session 5 has a /home pageview with an earlier time but a higher id than its /lander-1 one
    (lp,) = built.query("select landing_page from int__session_landing_pages where website_session_id = 5")
    assert lp == ("/lander-1",)


def test_lookback_keeps_only_the_latest_months(project):
    project.edit_json("contracts/metric-catalog.json",
                      lambda d: d["thresholds"].update(priority_lookback_months=1))
    apply(ApplyRequest(project.root))
    rows = project.rows("select * from mart__priority_actions order by priority_rank")
    # February only: A gap 8.398 (5.8388 - 4.999) * 10, C gap 29.194; B beats February
    assert [(r["utm_source"], r["device_type"], r["landing_page"]) for r in rows] == [
        ("direct_or_unknown", "desktop", "/home"), ("gsearch", "desktop", "/lander-1")]
    assert rows[0]["revenue_gap_usd"] == pytest.approx(NRPS_B2 * 5)
    assert rows[0]["window_start_month"] == FEB
