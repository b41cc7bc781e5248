"""The marts on the hand-made shop, against values worked out by hand (LEAK-SPEC §6-7, revision 2).

The shop (tests/fixtures/shop): two months, segments
  A gsearch/nonbrand desktop /lander-1, B gsearch/nonbrand mobile /lander-1,
  C direct desktop /home, E direct desktop without pageviews (lands on 'unknown'),
  F gsearch/brand mobile /home.
January:  A 10 sessions, orders 49.99 + 59.99 (the 59.99 refunded in February);
          B 10 sessions, one order 49.99;  C 8 sessions, orders 49.99 + 49.99;  E 2 sessions.
February: A 10 sessions, one order 49.99;  B 10 sessions, orders 49.99 + 29.99 (refunded) + 45.99;
          C 5 sessions;  F exactly like B (so both convert exactly at the mobile rate).
B is January's only mobile segment: it is the mobile device that month (segment gap 0, device gap not).
Desktop and mobile have opposite device gaps in each month, and over the two months.
Thresholds for the fixture: min_sessions 5, min_orders 1 (indexes as shipped: 0.8, 0.8, 1.5).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from leakcli.build.apply import ApplyRequest, apply

JAN, FEB = dt.date(2014, 1, 1), dt.date(2014, 2, 1)
A = ("gsearch", "nonbrand", "desktop", "/lander-1")
B = ("gsearch", "nonbrand", "mobile", "/lander-1")
C = ("direct_or_unknown", "direct_or_unknown", "desktop", "/home")
E = ("direct_or_unknown", "direct_or_unknown", "desktop", "unknown")
F = ("gsearch", "brand", "mobile", "/home")
DESKTOP = ("(all)", "(all)", "desktop", "(all)")

# Site baselines of each month, by hand.
# January: 30 sessions, 5 orders, gross 259.95, refunds 59.99, net 199.96.
CVR_B1, AOV_B1, RR_B1, NRPS_B1 = 5 / 30, 51.99, 59.99 / 259.95, 199.96 / 30
# February: 35 sessions, 7 orders, gross 301.93, refunds 59.98, net 241.95.
CVR_B2, AOV_B2, RR_B2, NRPS_B2 = 7 / 35, 301.93 / 7, 59.98 / 301.93, 241.95 / 35
# Device baselines. January desktop (A, C, E): 20 sessions, 4 orders, gross 209.96, refunds 59.99.
CVR_D1, AOV_D1, RR_D1, NRPS_D1 = 4 / 20, 52.49, 59.99 / 209.96, 149.97 / 20
# January mobile (B alone): 10 sessions, 1 order, 49.99, no refund.
NRPS_M1 = 4.999
# February desktop (A, C): 15 sessions, 1 order 49.99, no refund.
CVR_D2, AOV_D2, RR_D2, NRPS_D2 = 1 / 15, 49.99, 0.0, 49.99 / 15
# February mobile (B, F): 20 sessions, 6 orders, gross 251.94, refunds 59.98, net 191.96.
CVR_M2, AOV_M2, RR_M2, NRPS_M2 = 6 / 20, 251.94 / 6, 59.98 / 251.94, 191.96 / 20


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
    assert keys == {(JAN, *A), (JAN, *B), (JAN, *C), (JAN, *E), (FEB, *A), (FEB, *B), (FEB, *C), (FEB, *F)}


def test_volumes_and_money(built):
    s = summary(built)
    a1 = s[(JAN, *A)]
    assert (a1["sessions"], a1["orders"]) == (10, 2)
    # the February refund of a January order stays with January (decision refund_attribution)
    assert a1["gross_revenue_usd"] == Decimal("109.98")
    assert a1["refund_amount_usd"] == Decimal("59.99")
    assert a1["net_revenue_usd"] == Decimal("49.99")
    for b2 in (s[(FEB, *B)], s[(FEB, *F)]):
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
    # the device baseline: January's desktop sessions only
    assert a1["device_conversion_rate"] == pytest.approx(0.2)
    assert a1["device_average_order_value_usd"] == pytest.approx(52.49)
    assert a1["device_net_revenue_per_session_usd"] == pytest.approx(7.4985)
    assert a1["device_refund_rate"] == pytest.approx(0.2857210897)
    e1 = s[(JAN, *E)]
    # no orders: average order value and refund rate are 0, not NULL
    assert (e1["average_order_value_usd"], e1["refund_rate"]) == (0, 0)
    b2 = s[(FEB, *B)]
    assert b2["baseline_conversion_rate"] == pytest.approx(0.2)
    assert b2["baseline_average_order_value_usd"] == pytest.approx(43.132857143)
    assert b2["baseline_refund_rate"] == pytest.approx(59.98 / 301.93)
    assert (b2["device_conversion_rate"], b2["device_average_order_value_usd"]) == (
        pytest.approx(0.3), pytest.approx(41.99))
    assert b2["device_net_revenue_per_session_usd"] == pytest.approx(9.598)
    # January's only mobile segment is the mobile device that month
    b1 = s[(JAN, *B)]
    assert [b1["device_" + m] for m in ("conversion_rate", "average_order_value_usd",
                                        "net_revenue_per_session_usd", "refund_rate")] == [
        b1[m] for m in ("conversion_rate", "average_order_value_usd", "net_revenue_per_session_usd",
                        "refund_rate")]


def test_indexes_and_flags_are_against_the_device(built):
    s = summary(built)
    a1 = s[(JAN, *A)]
    # A converts exactly like January's desktop sessions, earns 2/3 of them per session, and is
    # refunded 1.91 times as much
    assert a1["conversion_index"] == pytest.approx(1.0)
    assert a1["net_revenue_index"] == pytest.approx(4.999 / 7.4985)  # 0.6667
    assert a1["refund_index"] == pytest.approx(209.96 / 109.98)  # 1.9091
    assert (a1["is_low_conversion"], a1["is_weak_net_revenue"], a1["is_high_refund_drag"]) == (False, True, True)
    # B was low and weak against the site (0.6 and 0.75 of it); against its device it is the norm
    b1 = s[(JAN, *B)]
    assert (b1["conversion_index"], b1["net_revenue_index"], b1["refund_index"]) == (1.0, 1.0, None)
    assert (b1["is_low_conversion"], b1["is_weak_net_revenue"], b1["is_high_refund_drag"]) == (False, False, False)
    # E has 2 sessions, below min_sessions 5: no flag although it converts nobody
    e1 = s[(JAN, *E)]
    assert e1["conversion_index"] == 0
    assert (e1["is_low_conversion"], e1["is_weak_net_revenue"], e1["is_high_refund_drag"]) == (False, False, False)
    # B and F in February are the mobile device's twins: every index exactly 1
    for seg in (B, F):
        row = s[(FEB, *seg)]
        assert (row["conversion_index"], row["net_revenue_index"], row["refund_index"]) == (1.0, 1.0, 1.0)
        assert (row["is_low_conversion"], row["is_weak_net_revenue"], row["is_high_refund_drag"]) == (
            False, False, False)
    # C in February: 5 sessions (= min_sessions), no order against desktop's 1 in 15; desktop had
    # no refund that month, so its refund index is NULL and not a flag
    c2 = s[(FEB, *C)]
    assert (c2["conversion_index"], c2["refund_index"]) == (0, None)
    assert (c2["is_low_conversion"], c2["is_weak_net_revenue"], c2["is_high_refund_drag"]) == (True, True, False)
    assert s[(JAN, *C)]["refund_index"] == 0  # no refunds against a device baseline that has some


def test_zero_baseline_gives_null_index_and_no_flag(project):
    (project.raw / "order_item_refunds.csv").write_text(
        "order_item_refund_id,created_at,order_item_id,order_id,refund_amount_usd\n")
    apply(ApplyRequest(project.root))
    rows = project.rows("select refund_index, is_high_refund_drag, device_refund_rate "
                        "from mart__core_leak_summary")
    assert rows and all(r["device_refund_rate"] == 0 for r in rows)
    assert all(r["refund_index"] is None and r["is_high_refund_drag"] is False for r in rows)


def test_gaps_and_leaks_by_hand(built):
    s = summary(built)
    a1 = s[(JAN, *A)]
    # the gap to the site (nrps_b - nrps) * n, split at the device's nrps
    assert a1["revenue_gap_usd"] == pytest.approx((NRPS_B1 - 4.999) * 10)
    assert a1["revenue_gap_usd"] == pytest.approx(16.66333, abs=1e-4)
    assert a1["device_gap_usd"] == pytest.approx((NRPS_B1 - NRPS_D1) * 10)
    assert a1["device_gap_usd"] == pytest.approx(-8.33167, abs=1e-4)  # desktop beats January
    assert a1["segment_gap_usd"] == pytest.approx((NRPS_D1 - 4.999) * 10)
    assert a1["segment_gap_usd"] == pytest.approx(24.995, abs=1e-9)
    # (cvr_d - cvr) * aov_d * (1 - rr_d) * n: A converts exactly at desktop's rate
    assert a1["conversion_leak_usd"] == pytest.approx(0, abs=1e-12)
    # cvr * (aov_d - aov) * (1 - rr_d) * n
    assert a1["order_value_leak_usd"] == pytest.approx(0.2 * (52.49 - 54.99) * (1 - RR_D1) * 10)
    assert a1["order_value_leak_usd"] == pytest.approx(-3.57139, abs=1e-4)
    # cvr * aov * (rr - rr_d) * n
    assert a1["refund_leak_usd"] == pytest.approx(0.2 * 54.99 * (59.99 / 109.98 - RR_D1) * 10)
    assert a1["refund_leak_usd"] == pytest.approx(28.56639, abs=1e-4)
    # a segment that is its device, or converts exactly like it: no gap of its own, all of it the device's
    b1 = s[(JAN, *B)]
    assert b1["segment_gap_usd"] == 0
    assert b1["device_gap_usd"] == pytest.approx((NRPS_B1 - NRPS_M1) * 10)  # +16.663: mobile trails January
    for seg in (B, F):
        row = s[(FEB, *seg)]
        assert row["segment_gap_usd"] == 0
        assert row["device_gap_usd"] == pytest.approx((NRPS_B2 - NRPS_M2) * 10)  # -26.851: mobile leads February
    c1 = s[(JAN, *C)]
    assert c1["segment_gap_usd"] == pytest.approx((NRPS_D1 - 99.98 / 8) * 8)  # -39.992: beats desktop
    assert c1["segment_gap_usd"] == pytest.approx(-39.992, abs=1e-9)
    for row in s.values():
        leaks = row["conversion_leak_usd"] + row["order_value_leak_usd"] + row["refund_leak_usd"]
        assert leaks == pytest.approx(row["segment_gap_usd"], abs=1e-9)
        assert row["device_gap_usd"] + row["segment_gap_usd"] == pytest.approx(row["revenue_gap_usd"], abs=1e-9)
    # each month, the device gaps of all sessions cancel out: the two devices have opposite gaps
    for month in (JAN, FEB):
        gaps = {d: sum(r["device_gap_usd"] for k, r in s.items() if k[0] == month and k[3] == d)
                for d in ("desktop", "mobile")}
        assert gaps["desktop"] == pytest.approx(-gaps["mobile"])
        assert gaps["desktop"] * gaps["mobile"] < 0


# Window sums (January and February).
DEVICE_GAP_DESKTOP = (NRPS_B1 - NRPS_D1) * 20 + (NRPS_B2 - NRPS_D2) * 15  # -16.663 + 53.703 = 37.040
GAP_A = (NRPS_D1 - 4.999) * 10 + (NRPS_D2 - 4.999) * 10  # 24.995 - 16.663 = 8.332
GAP_E = NRPS_D1 * 2  # 14.997


def test_priority_actions_by_hand(built):
    rows = built.rows("select * from mart__priority_actions order by priority_rank")
    # desktop's device gap +37.04 (mobile's -37.04 is dropped); segment gaps: E 14.997, A 8.332;
    # C -23.33 is dropped, and B and F have no gap of their own
    assert [(r["priority_rank"], r["action_scope"],
             (r["utm_source"], r["utm_campaign"], r["device_type"], r["landing_page"])) for r in rows] == [
        (1, "device", DESKTOP), (2, "segment", E), (3, "segment", A)]
    d, e, a = rows
    assert d["gap_usd"] == pytest.approx(DEVICE_GAP_DESKTOP)
    assert d["gap_usd"] == pytest.approx(37.03952, abs=1e-4)
    assert d["device_gap_usd"] == d["gap_usd"]
    assert d["segment_gap_usd"] == pytest.approx(0, abs=1e-9)  # desktop's segments cancel out
    assert d["revenue_gap_usd"] == pytest.approx(DEVICE_GAP_DESKTOP)
    assert e["gap_usd"] == e["segment_gap_usd"] == pytest.approx(GAP_E)
    assert a["gap_usd"] == a["segment_gap_usd"] == pytest.approx(GAP_A)
    assert a["gap_usd"] == pytest.approx(8.33167, abs=1e-4)
    total = DEVICE_GAP_DESKTOP + GAP_E + GAP_A
    assert [r["share_of_total_gap"] for r in rows] == [
        pytest.approx(DEVICE_GAP_DESKTOP / total), pytest.approx(GAP_E / total), pytest.approx(GAP_A / total)]
    # the device row: every desktop session of the window; leaks and flags are a segment's
    assert (d["sessions"], d["orders"], d["gross_revenue_usd"], d["refund_amount_usd"]) == (
        35, 5, Decimal("259.95"), Decimal("59.99"))
    assert d["conversion_rate"] == pytest.approx(5 / 35) == d["device_conversion_rate"]
    assert (d["conversion_leak_usd"], d["order_value_leak_usd"], d["refund_leak_usd"], d["months_flagged"]) == (
        0, 0, 0, 0)
    assert d["primary_leak"] == "device"
    # window site baseline: 65 sessions, 12 orders, gross 561.88, refunds 119.97
    assert d["baseline_conversion_rate"] == pytest.approx(12 / 65)
    assert d["baseline_refund_rate"] == pytest.approx(119.97 / 561.88)
    # mobile converts at 7/30 = 23.3% over the window: it is the other device named
    assert d["recommended_action"] == (
        "Desktop converts at 14.3% vs 23.3% on mobile and 18.5% site-wide (2014-01..2014-02): "
        "fix the desktop experience before single pages.")
    # A: rates recomputed from the sums, not averaged; device baseline over the window
    assert (a["sessions"], a["orders"], a["gross_revenue_usd"], a["refund_amount_usd"]) == (
        20, 3, Decimal("159.97"), Decimal("59.99"))
    assert a["conversion_rate"] == pytest.approx(3 / 20)
    assert a["average_order_value_usd"] == pytest.approx(159.97 / 3)
    assert a["refund_rate"] == pytest.approx(59.99 / 159.97)
    assert a["device_refund_rate"] == pytest.approx(59.99 / 259.95)
    # leaks summed over the months: refund 28.566 + 0 beats conversion 0 - 16.663 and order value -3.571 + 0
    assert a["conversion_leak_usd"] == pytest.approx((CVR_D2 - 0.1) * AOV_D2 * 10)
    assert a["order_value_leak_usd"] == pytest.approx(0.2 * (52.49 - 54.99) * (1 - RR_D1) * 10)
    assert a["refund_leak_usd"] == pytest.approx(0.2 * 54.99 * (59.99 / 109.98 - RR_D1) * 10)
    assert a["primary_leak"] == "refund_drag" and e["primary_leak"] == "conversion"
    assert a["months_flagged"] == 1 and e["months_flagged"] == 0
    assert a["recommended_action"] == (
        "Refund drag on gsearch/nonbrand desktop landing on /lander-1: 37.5% of revenue refunded "
        "vs 23.1% for desktop; check what the page promises against the product.")
    assert e["recommended_action"] == (
        "Conversion leak on direct_or_unknown/direct_or_unknown desktop landing on unknown: "
        "0.0% vs 14.3% for desktop; fix the page or the bid.")
    assert {(r["window_start_month"], r["window_end_month"]) for r in rows} == {(JAN, FEB)}


def test_lookback_keeps_only_the_latest_months(project):
    project.edit_json("contracts/metric-catalog.json",
                      lambda d: d["thresholds"].update(priority_lookback_months=1))
    apply(ApplyRequest(project.root))
    rows = project.rows("select * from mart__priority_actions order by priority_rank")
    # February only: desktop's device gap 53.70; C's own gap 16.663 (A beats desktop by as much)
    assert [(r["action_scope"], r["utm_source"], r["device_type"], r["landing_page"]) for r in rows] == [
        ("device", "(all)", "desktop", "(all)"), ("segment", "direct_or_unknown", "desktop", "/home")]
    assert rows[0]["gap_usd"] == pytest.approx((NRPS_B2 - NRPS_D2) * 15)
    assert rows[1]["gap_usd"] == pytest.approx(NRPS_D2 * 5)
    assert rows[1]["recommended_action"] == (
        "Conversion leak on direct_or_unknown/direct_or_unknown desktop landing on /home: "
        "0.0% vs 6.7% for desktop; fix the page or the bid.")
    assert rows[0]["window_start_month"] == FEB


def test_landing_page_is_the_lowest_pageview_id(built):
    # session 5 has a /home pageview with an earlier time but a higher id than its /lander-1 one
    (lp,) = built.query("select landing_page from int__session_landing_pages where website_session_id = 5")
    assert lp == ("/lander-1",)


def test_labels_formats_and_top_actions_come_from_the_catalog(project, leak):
    def change(cat):
        cat["formats"]["pct"]["sql"] = "format('{:.2f} pct', cast({value} as double) * 100)"
        cat["priority"]["all_label"] = "*"
        cat["thresholds"]["top_actions"] = 1
    project.edit_json("contracts/metric-catalog.json", change)
    out = leak("apply", "--json")
    assert out.exit_code == 0, out.stderr
    (top,) = out.json()["top_actions"]
    assert (top["utm_source"], top["utm_campaign"], top["landing_page"]) == ("*", "*", "*")
    assert top["recommended_action"].startswith("Desktop converts at 14.29 pct vs 23.33 pct on mobile and 18.46 pct")
