"""The marts on the hand-made shop, against values worked out by hand (LEAK-SPEC §6-7, revision 4).

The shop (tests/fixtures/shop), January to June 2014. Every order is one item; V = 49.99 (The Original
Mr. Fuzzy) unless said; refunds from March on are whole 49.99 orders.

January and February (sessions 1-65, orders 1-12), unchanged since revision 2:
  A gsearch/nonbrand desktop /lander-1, B gsearch/nonbrand mobile /lander-1,
  C direct desktop /home, E direct desktop without pageviews (lands on 'unknown'),
  F gsearch/brand mobile /home.
  January:  A 10 sessions, orders 49.99 + 59.99 (the 59.99 refunded in February);
            B 10 sessions, one order 49.99;  C 8 sessions, orders 49.99 + 49.99;  E 2 sessions.
  February: A 10 sessions, one order 49.99;  B 10 sessions, orders 49.99 + 29.99 (refunded) + 45.99;
            C 5 sessions;  F exactly like B (so both convert exactly at the mobile rate).
  B is January's only mobile segment: it is the mobile device that month (segment gap 0, device gap not).
  Desktop and mobile have opposite device gaps in each month, and over the two months.

March to June (sessions 66-353, orders 13-121, refunds 4-6): seven new segments, and F again.
  G bsearch/nonbrand desktop /lander-2    H gsearch/brand desktop /home     J bsearch/brand desktop /home
  L gsearch/nonbrand mobile /lander-5     N bsearch/nonbrand mobile /lander-2
  S socialbook/pilot mobile /lander-3     K bsearch/brand mobile /home

  month  desktop                                    mobile
  Mar    H 25 sessions, 2 orders;                   S 16, no order;  F 2, 2 orders (order 16 refunded);
         J 5, 1 order                               K 14, 10 orders
  Apr    H 24, 4 orders;  J 6, no order             S 16, 1 order;   F 11, 11 orders;  K 5, no order
  May    G 20, 8 orders (4 of them 29.99);          L 16, no order;  F 12, 12 orders;  K 4, no order;
         H 16, 15 orders (order 52 refunded in      N 10, 2 orders
         June);  J 4, 1 order
  Jun    G 20, 8 orders (6 of them 29.99);          L 16, no order;  F 12, 12 orders (order 106
         H 16, 14 orders;  J 4, 2 orders            refunded);  K 4, no order;  N 10, 4 orders

  In each block the first sessions order (G's 29.99s first) and walk the funnel to
  /thank-you-for-your-order; the others see their landing page and, every other one, /products.
  Desktop converts at 10% and 13.3% in March and April and at 60% in May and June; mobile at 37.5%,
  37.5%, 33.3% and 38.1%.
  Revision 4's two segments, J and K, are sessions that revision 3's shop gave to H and F (the same
  rows, with bsearch in utm_source, utm_content and the referer): every device and site baseline, and
  every other segment, is what it was; only H and F, the rest of their device, shrank.

The priority window is 2014-01..2014-06 (lookback 12 covers it), its recent months (recent_months 3)
2014-04..2014-06. Its candidates are the 2 devices and the 12 segments with sessions in it (m = 14);
the 10 of them with sessions in the recent months (the devices, F, G, H, J, K, L, N, S) have a recent
test too (r = 10); one Benjamini-Hochberg family of M = 24 tests; false_discovery_rate 0.05,
live_months 2 (live = sessions in May or June). The designed actions:
  L act:      leaks only in the last two months, but surely: 0 of 32 against 35.7% expected (z 4.1).
              Its recent test is its window test (it ran in the recent months only).
  G act:      ran only in desktop's best months: its 40.0% beats desktop's window-wide 34.3%, yet trails
              the 60.0% that desktop made in the same months (z 3.2). Its cheap orders add to the gap.
  K emerging: leaks only in its last three months: 10 of 14 in March (beating mobile's 37.5% by $259),
              then 0 of 13 in April to June against 36.4% expected ($232, z 2.7, q 0.014). Over the
              window it beat mobile (gap -$28, z -0.2): revision 3 would not list it at all. It is
              kept for its recent test, and ranks after act and before stopped.
  S stopped:  1 in 32 against 37.5% expected while it ran (z 3.9), no session after April. Its gap is
              bigger than G's, but a stopped campaign ranks after the live ones. Its recent test (April
              alone, z 2.6) is significant too; a stopped row keeps its revision-3 text.
  J noise:    its recent gap of $105 (0 of 6 in April, 3 of 8 in May and June against 60%) is one
              chance explains (z 1.3, q 0.27), and so is its window gap of $80 (z 0.9, q 0.46).
  N noise:    30% against 35.7% expected, a gap of $45 that chance explains (z 0.4).
  Desktop (device gap $19, z 0.1), E and A (January and February only, so not live) are noise too.
Thresholds for the fixture: min_sessions 5, min_orders 1 (indexes as shipped: 0.8, 0.8, 1.5).
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pytest

from leakcli.commands.apply import ApplyRequest, apply
from leakcli.context import Project as Context

JAN, FEB, MAR, APR, MAY, JUN = (dt.date(2014, m, 1) for m in range(1, 7))
A = ("gsearch", "nonbrand", "desktop", "/lander-1")
B = ("gsearch", "nonbrand", "mobile", "/lander-1")
C = ("direct_or_unknown", "direct_or_unknown", "desktop", "/home")
E = ("direct_or_unknown", "direct_or_unknown", "desktop", "unknown")
F = ("gsearch", "brand", "mobile", "/home")
G = ("bsearch", "nonbrand", "desktop", "/lander-2")
H = ("gsearch", "brand", "desktop", "/home")
J = ("bsearch", "brand", "desktop", "/home")
K = ("bsearch", "brand", "mobile", "/home")
L = ("gsearch", "nonbrand", "mobile", "/lander-5")
N = ("bsearch", "nonbrand", "mobile", "/lander-2")
S = ("socialbook", "pilot", "mobile", "/lander-3")
DESKTOP = ("(all)", "(all)", "desktop", "(all)")
MOBILE = ("(all)", "(all)", "mobile", "(all)")
V, MINI = 49.99, 29.99
SESSIONS = "datasets/maven-fuzzy-factory/raw/website_sessions.csv"


def var_pop(*groups):
    """The population variance of one session's net revenue, the sessions given as (count, net) pairs."""
    n = sum(k for k, _ in groups)
    mean = sum(k * x for k, x in groups) / n
    return sum(k * (x - mean) ** 2 for k, x in groups) / n


def upper_tail(z):
    """1 - Φ(z)."""
    return math.erfc(z / math.sqrt(2)) / 2


def bh(p):
    """Benjamini-Hochberg q-values of a family {name: p}: q(k) = min over j >= k of min(1, m p(j) / j)."""
    names = sorted(p, key=p.get)
    q, run = {}, 1.0
    for j in range(len(names), 0, -1):
        run = min(run, 1.0, len(names) * p[names[j - 1]] / j)
        q[names[j - 1]] = run
    return q


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
# The variances (rev 3), from each session's net revenue. January: A's 59.99 was refunded (nets 0).
VAR_B1 = var_pop((4, V), (26, 0))  # A's 49.99, B's, C's two: V² * 4/30 * 26/30 = 288.7733
VAR_D1 = var_pop((3, V), (17, 0))  # V² * 0.15 * 0.85 = 318.6225
VAR_M1 = var_pop((1, V), (9, 0))  # V² * 0.1 * 0.9 = 224.9100
# February: B's and F's 29.99 were refunded.
VAR_B2 = var_pop((3, V), (2, 45.99), (30, 0))  # (3 V² + 2 * 45.99²) / 35 - (241.95 / 35)² = 287.2741
VAR_D2 = var_pop((1, V), (14, 0))  # V² / 15 * 14 / 15 = 155.4933
VAR_M2 = var_pop((2, V), (2, 45.99), (16, 0))  # (2 V² + 2 * 45.99²) / 20 - 9.598² = 369.2864

# March. Desktop is H: 30 sessions, 3 orders. Mobile: S 16 + F 16 = 32 sessions, 12 orders (F's),
# gross 12 V, one refunded: net 11 V. Site: 62 sessions, 15 orders, gross 15 V, net 14 V.
NRPS_D3, VAR_D3 = 3 * V / 30, var_pop((3, V), (27, 0))  # V² * 0.1 * 0.9 = 224.9100
CVR_M3, RR_M3, NRPS_M3, VAR_M3 = 12 / 32, 1 / 12, 11 * V / 32, var_pop((11, V), (21, 0))  # 563.7393
CVR_B3, NRPS_B3, VAR_B3 = 15 / 62, 14 * V / 62, var_pop((14, V), (48, 0))  # 436.8699
# April. Desktop (H) 30 sessions, 4 orders; mobile 32 sessions, 12 orders (S 1, F 11); no refund.
NRPS_D4, VAR_D4 = 4 * V / 30, var_pop((4, V), (26, 0))  # 288.7733
CVR_M4, NRPS_M4, VAR_M4 = 12 / 32, 12 * V / 32, var_pop((12, V), (20, 0))  # V² * 0.375 * 0.625 = 585.7031
CVR_B4, NRPS_B4, VAR_B4 = 16 / 62, 16 * V / 62, var_pop((16, V), (46, 0))  # 478.4766
# May. Desktop: G 20 + H 20 = 40 sessions, 24 orders, gross 4 * 29.99 + 20 V = 1119.76, H's order 52
# refunded (in June): net 1069.77. Mobile: L 16 + F 16 + N 10 = 42 sessions, 14 orders, no refund.
# Site: 82 sessions, 38 orders, gross 1819.62, refund V, net 1769.63.
CVR_D5, AOV_D5, RR_D5, NRPS_D5 = 24 / 40, 1119.76 / 24, V / 1119.76, 1069.77 / 40
VAR_D5 = var_pop((4, MINI), (19, V), (17, 0))  # 561.7101
CVR_M5, NRPS_M5, VAR_M5 = 14 / 42, 14 * V / 42, var_pop((14, V), (28, 0))  # V² * 2 / 9 = 555.3334
CVR_B5, NRPS_B5, VAR_B5 = 38 / 82, 1769.63 / 82, var_pop((4, MINI), (33, V), (45, 0))  # 583.8351
# June. Desktop: 40 sessions, 24 orders, gross 6 * 29.99 + 18 V = 1079.76, no refund. Mobile: 42
# sessions, 16 orders (F 12, N 4), gross 16 V, F's order 106 refunded: net 15 V. Site: 82 sessions,
# 40 orders, gross 1879.60, refund V, net 1829.61.
CVR_D6, AOV_D6, NRPS_D6 = 24 / 40, 1079.76 / 24, 1079.76 / 40
VAR_D6 = var_pop((6, MINI), (18, V), (16, 0))  # 530.7840
CVR_M6, RR_M6, NRPS_M6, VAR_M6 = 16 / 42, 1 / 16, 15 * V / 42, var_pop((15, V), (27, 0))  # 573.7500
CVR_B6, NRPS_B6, VAR_B6 = 40 / 82, 1829.61 / 82, var_pop((6, MINI), (33, V), (43, 0))  # 573.6654

# The months side by side: desktop and mobile sessions, and the site baseline.
N_D = (20, 15, 30, 30, 40, 40)
N_M = (10, 20, 32, 32, 42, 42)
N_B = (30, 35, 62, 62, 82, 82)
CVR_B = (CVR_B1, CVR_B2, CVR_B3, CVR_B4, CVR_B5, CVR_B6)
GROSS_B = (259.95, 301.93, 15 * V, 16 * V, 1819.62, 1879.60)
REFUND_B = (59.99, 59.98, V, 0, V, V)
NRPS_B = (NRPS_B1, NRPS_B2, NRPS_B3, NRPS_B4, NRPS_B5, NRPS_B6)
VAR_B = (VAR_B1, VAR_B2, VAR_B3, VAR_B4, VAR_B5, VAR_B6)
NRPS_D = (NRPS_D1, NRPS_D2, NRPS_D3, NRPS_D4, NRPS_D5, NRPS_D6)


@pytest.fixture
def built(project):
    apply(Context.at(project.root), ApplyRequest())
    return project


def summary(project):
    rows = project.rows("select * from mart__core_leak_summary")
    return {(r["session_month"], r["utm_source"], r["utm_campaign"], r["device_type"],
             r["landing_page"]): r for r in rows}


def key(row):
    return row["utm_source"], row["utm_campaign"], row["device_type"], row["landing_page"]


def priority(project):
    return project.rows("select * from mart__priority_actions order by priority_rank")


def test_summary_has_one_row_per_segment_and_month(built):
    keys = set(summary(built))
    assert {k for k in keys if k[0] in (JAN, FEB)} == {
        (JAN, *A), (JAN, *B), (JAN, *C), (JAN, *E), (FEB, *A), (FEB, *B), (FEB, *C), (FEB, *F)}
    assert {k for k in keys if k[0] not in (JAN, FEB)} == {
        *((m, *seg) for m in (MAR, APR) for seg in (H, J, S, F, K)),
        *((m, *seg) for m in (MAY, JUN) for seg in (G, H, J, L, F, K, N))}


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
    apply(Context.at(project.root), ApplyRequest())
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
    for month in (JAN, FEB, MAR, APR, MAY, JUN):
        gaps = {d: sum(r["device_gap_usd"] for k, r in s.items() if k[0] == month and k[3] == d)
                for d in ("desktop", "mobile")}
        assert gaps["desktop"] == pytest.approx(-gaps["mobile"])
        assert gaps["desktop"] * gaps["mobile"] < 0


def test_net_revenue_variances_by_hand(built):
    """Rev 3: var_pop of one session's net revenue over the sessions of each baseline, a DOUBLE."""
    s = summary(built)
    a1, b1, c1, e1 = (s[(JAN, *seg)] for seg in (A, B, C, E))
    assert VAR_B1 == pytest.approx(288.7733, abs=1e-4)
    assert VAR_D1 == pytest.approx(318.6225, abs=1e-4)
    for row in (a1, b1, c1, e1):  # one site baseline per month
        assert isinstance(row["baseline_net_revenue_variance"], float)
        assert row["baseline_net_revenue_variance"] == pytest.approx(VAR_B1)
    for row in (a1, c1, e1):  # E has no order, C no refund: the variance is desktop's, not theirs
        assert isinstance(row["device_net_revenue_variance"], float)
        assert row["device_net_revenue_variance"] == pytest.approx(VAR_D1)
    # B is January's mobile device: one 49.99 in 10 sessions
    assert b1["device_net_revenue_variance"] == pytest.approx(VAR_M1) == pytest.approx(V ** 2 * 0.09)
    # February: a refunded order nets 0, like a session without one; the 45.99s are a third value
    assert VAR_B2 == pytest.approx(287.2741, abs=1e-4)
    assert VAR_D2 == pytest.approx(155.4933, abs=1e-4)
    assert VAR_M2 == pytest.approx(369.2864, abs=1e-4)
    for seg in (A, C):
        row = s[(FEB, *seg)]
        assert row["baseline_net_revenue_variance"] == pytest.approx(VAR_B2)
        assert row["device_net_revenue_variance"] == pytest.approx(VAR_D2)
    for seg in (B, F):
        row = s[(FEB, *seg)]
        assert row["baseline_net_revenue_variance"] == pytest.approx(VAR_B2)
        assert row["device_net_revenue_variance"] == pytest.approx(VAR_M2)


def test_march_to_june_by_hand(built):
    s = summary(built)
    months = (JAN, FEB, MAR, APR, MAY, JUN)
    assert [m for m in months if (m, *S) in s] == [MAR, APR]  # S stopped after April
    assert [m for m in months if (m, *F) in s] == [FEB, MAR, APR, MAY, JUN]
    for seg in (G, L, N):
        assert [m for m in months if (m, *seg) in s] == [MAY, JUN]
    for seg in (H, J, K):
        assert [m for m in months if (m, *seg) in s] == [MAR, APR, MAY, JUN]
    g5, h5 = s[(MAY, *G)], s[(MAY, *H)]
    assert (g5["sessions"], g5["orders"], g5["gross_revenue_usd"], g5["refund_amount_usd"]) == (
        20, 8, Decimal("319.92"), Decimal("0.00"))  # 4 * 29.99 + 4 * 49.99
    # H's order 52 of May was refunded on 2014-06-03: the refund stays with May
    assert (h5["sessions"], h5["orders"], h5["gross_revenue_usd"], h5["refund_amount_usd"],
            h5["net_revenue_usd"]) == (16, 15, Decimal("749.85"), Decimal("49.99"), Decimal("699.86"))
    # J and K month by month (sessions, orders): the desktop and mobile sessions of bsearch's brand campaign
    assert [(s[(m, *J)]["sessions"], s[(m, *J)]["orders"]) for m in (MAR, APR, MAY, JUN)] == [
        (5, 1), (6, 0), (4, 1), (4, 2)]
    assert [(s[(m, *K)]["sessions"], s[(m, *K)]["orders"]) for m in (MAR, APR, MAY, JUN)] == [
        (14, 10), (5, 0), (4, 0), (4, 0)]
    # K beat mobile in March (10 V net in 14 sessions against 11 V / 32 a session), then converted nobody
    assert s[(MAR, *K)]["segment_gap_usd"] == pytest.approx(14 * NRPS_M3 - 10 * V) == pytest.approx(-83 * V / 16)
    assert s[(APR, *K)]["segment_gap_usd"] == pytest.approx(5 * NRPS_M4) == pytest.approx(15 * V / 8)
    assert [g5["device_" + m] for m in ("conversion_rate", "average_order_value_usd",
                                        "net_revenue_per_session_usd", "refund_rate")] == [
        pytest.approx(CVR_D5), pytest.approx(46.656667), pytest.approx(26.74425), pytest.approx(RR_D5)]
    # May's desktop sessions net 29.99 (4), 49.99 (19) or 0 (17): (4 * 29.99² + 19 V²) / 40 - 26.74425²
    assert g5["device_net_revenue_variance"] == pytest.approx(VAR_D5)
    assert VAR_D5 == pytest.approx((4 * MINI ** 2 + 19 * V ** 2) / 40 - 26.74425 ** 2)
    assert VAR_D5 == pytest.approx(561.7101, abs=1e-4)
    assert g5["baseline_net_revenue_variance"] == pytest.approx(VAR_B5)
    # G trails May's desktop by (nrps_d - nrps) * n = 1069.77 / 2 - 319.92
    assert g5["segment_gap_usd"] == pytest.approx((NRPS_D5 - 319.92 / 20) * 20)
    assert g5["segment_gap_usd"] == pytest.approx(214.965, abs=1e-9)
    # L converts nobody: all of June's mobile net revenue per session is its gap
    l6 = s[(JUN, *L)]
    assert l6["segment_gap_usd"] == pytest.approx(NRPS_M6 * 16) == pytest.approx(285.657143)
    assert l6["device_refund_rate"] == pytest.approx(RR_M6)  # F's refunded order 106
    assert l6["device_net_revenue_variance"] == pytest.approx(VAR_M6)
    assert VAR_M6 == pytest.approx(V ** 2 * 15 / 42 * 27 / 42)  # 573.7500
    # March: S has no order, F 12 of which order 16 was refunded (it nets 0)
    s3 = s[(MAR, *S)]
    assert s3["device_conversion_rate"] == pytest.approx(0.375)
    assert s3["device_refund_rate"] == pytest.approx(1 / 12)
    assert s3["device_net_revenue_variance"] == pytest.approx(V ** 2 * 11 / 32 * 21 / 32)
    assert s3["baseline_net_revenue_variance"] == pytest.approx(VAR_B3)


# The window 2014-01..2014-06, by hand. An action's gap is the sum of its rows' segment_gap_usd (a
# device's: device_gap_usd); its standard error is sqrt(sum of n * var_x), x its device (the site).
GAP_A = (NRPS_D1 - 4.999) * 10 + (NRPS_D2 - 4.999) * 10  # 24.995 - 16.663 = 8.332
GAP_E = NRPS_D1 * 2  # 14.997
GAP_L = NRPS_M5 * 16 + NRPS_M6 * 16  # 16 V / 3 + 40 V / 7 = 232 V / 21 = 552.270
GAP_S = NRPS_M3 * 16 + (NRPS_M4 - V / 16) * 16  # 5.5 V + 5 V = 524.895
GAP_G = (NRPS_D5 - 319.92 / 20) * 20 + (NRPS_D6 - 279.92 / 20) * 20  # 214.965 + 259.960 = 474.925
GAP_N = (NRPS_M5 - 2 * V / 10) * 10 + (NRPS_M6 - 4 * V / 10) * 10  # 4 V / 3 - 3 V / 7 = 19 V / 21 = 45.229
# J: March 5 * V/10 - V (its one order beats desktop's 10%), April 6 * 4 V/30 (no order), May 4 nrps_d - V,
# June 4 nrps_d - 2 V: -24.995 + 39.992 + 56.987 + 7.996 = 79.980
GAP_J = (5 * NRPS_D3 - V) + 6 * NRPS_D4 + (4 * NRPS_D5 - V) + (4 * NRPS_D6 - 2 * V)
# K: March 14 * 11 V/32 - 10 V = -83 V/16 (10 orders in 14 sessions), then no order: April 5 * 12 V/32,
# May 4 * 14 V/42, June 4 * 15 V/42 = 779 V/168; over the window -185 V/336 = -27.524: it beat mobile
GAP_K = (14 * NRPS_M3 - 10 * V) + 5 * NRPS_M4 + 4 * NRPS_M5 + 4 * NRPS_M6
# (nrps_b - nrps_d) * n_d month by month: -16.663 + 53.703 + 188.672 + 187.059 - 206.536 - 187.267
DEVICE_GAP_DESKTOP = sum((b - d) * n for b, d, n in zip(NRPS_B, NRPS_D, N_D, strict=True))  # 18.968
GAP = {L: GAP_L, G: GAP_G, K: GAP_K, S: GAP_S, J: GAP_J, N: GAP_N, DESKTOP: DEVICE_GAP_DESKTOP, E: GAP_E,
       A: GAP_A,
       # the other candidates: their gaps are below 0.01 and the mart drops them, but they are in
       # the family of the q-values
       MOBILE: -DEVICE_GAP_DESKTOP,  # the devices' gaps cancel out in every month
       B: 0.0,  # January's mobile device, and F's twin in February
       C: (NRPS_D1 - 99.98 / 8) * 8 + NRPS_D2 * 5,  # -39.992 + 16.663
       H: -GAP_G - GAP_J,  # H + J is desktop in March and April, and H + J + G is desktop in May and June
       # F is mobile's twin in February (no gap); from March on F + S + K, then F + K + L + N, is mobile
       F: -(GAP_S + GAP_K + GAP_L + GAP_N)}  # -1094.870
SE = {L: math.sqrt(16 * VAR_M5 + 16 * VAR_M6),  # 134.407
      G: math.sqrt(20 * VAR_D5 + 20 * VAR_D6),  # sqrt(11234.20 + 10615.68) = 147.817
      K: math.sqrt(14 * VAR_M3 + 5 * VAR_M4 + 4 * VAR_M5 + 4 * VAR_M6),  # 123.845
      S: math.sqrt(16 * VAR_M3 + 16 * VAR_M4),  # 135.614
      J: math.sqrt(5 * VAR_D3 + 6 * VAR_D4 + 4 * VAR_D5 + 4 * VAR_D6),  # 85.013
      N: math.sqrt(10 * VAR_M5 + 10 * VAR_M6),  # 106.258
      DESKTOP: math.sqrt(sum(n * var for n, var in zip(N_D, VAR_B, strict=True))),  # 289.560
      E: math.sqrt(2 * VAR_D1),  # 25.244
      A: math.sqrt(10 * VAR_D1 + 10 * VAR_D2),  # 68.856
      MOBILE: math.sqrt(sum(n * var for n, var in zip(N_M, VAR_B, strict=True))),
      B: math.sqrt(10 * VAR_M1 + 10 * VAR_M2),
      C: math.sqrt(8 * VAR_D1 + 5 * VAR_D2),
      H: math.sqrt(25 * VAR_D3 + 24 * VAR_D4 + 16 * VAR_D5 + 16 * VAR_D6),
      F: math.sqrt(10 * VAR_M2 + 2 * VAR_M3 + 11 * VAR_M4 + 12 * VAR_M5 + 12 * VAR_M6)}
Z = {k: GAP[k] / SE[k] for k in GAP}
P = {k: upper_tail(z) for k, z in Z.items()}

# Rev 4: the recent test, the same over the rows of April, May and June (June - (3 - 1) months .. June).
# A, B, C and E have no session in them: no recent test. L, G and N ran in May and June only: their
# recent test is their window test.
RGAP = {L: GAP_L, G: GAP_G, N: GAP_N,
        K: 5 * NRPS_M4 + 4 * NRPS_M5 + 4 * NRPS_M6,  # 779 V / 168 = 231.799: 13 sessions, no order
        S: (NRPS_M4 - V / 16) * 16,  # April alone: 5 V = 249.950
        J: 6 * NRPS_D4 + (4 * NRPS_D5 - V) + (4 * NRPS_D6 - 2 * V),  # 39.992 + 56.987 + 7.996 = 104.975
        # desktop's (nrps_b - nrps_d) * n_d of April to June: 187.059 - 206.536 - 187.267 = -206.744
        DESKTOP: sum((b - d) * n for b, d, n in zip(NRPS_B[3:], NRPS_D[3:], N_D[3:], strict=True))}
RGAP |= {MOBILE: -RGAP[DESKTOP], H: -RGAP[G] - RGAP[J], F: -(RGAP[S] + RGAP[K] + GAP_L + GAP_N)}
RSE = {L: SE[L], G: SE[G], N: SE[N],
       K: math.sqrt(5 * VAR_M4 + 4 * VAR_M5 + 4 * VAR_M6),  # sqrt(2928.52 + 2221.33 + 2295.00) = 86.284
       S: math.sqrt(16 * VAR_M4),  # 96.805
       J: math.sqrt(6 * VAR_D4 + 4 * VAR_D5 + 4 * VAR_D6),  # sqrt(1732.64 + 2246.84 + 2123.14) = 78.119
       DESKTOP: math.sqrt(sum(n * var for n, var in zip(N_D[3:], VAR_B[3:], strict=True))),
       MOBILE: math.sqrt(sum(n * var for n, var in zip(N_M[3:], VAR_B[3:], strict=True))),
       H: math.sqrt(24 * VAR_D4 + 16 * VAR_D5 + 16 * VAR_D6),
       F: math.sqrt(11 * VAR_M4 + 12 * VAR_M5 + 12 * VAR_M6)}
RZ = {k: RGAP[k] / RSE[k] for k in RGAP}
RP = {k: upper_tail(z) for k, z in RZ.items()}
# One Benjamini-Hochberg family: the 14 window tests and the 10 recent tests, M = 24
FAMILY = {**{(k, "window"): p for k, p in P.items()}, **{(k, "recent"): p for k, p in RP.items()}}
FAMILY_Q = bh(FAMILY)
Q = {k: FAMILY_Q[(k, "window")] for k in P}
RQ = {k: FAMILY_Q[(k, "recent")] for k in RP}
KEPT = (L, G, K, S, J, N, DESKTOP, E, A)


def test_priority_actions_by_hand(built):
    rows = priority(built)
    # act (live and sure) first, then emerging, then stopped, then noise; by gap within each (emerging: by
    # recent gap): S's 524.90 is bigger than G's 474.93, and K's window gap is negative (-27.52), yet
    # both come after the live, sure G; J's 79.98 is bigger than N's 45.23 and desktop's 18.97
    assert [(r["priority_rank"], r["action_status"], r["action_scope"], key(r)) for r in rows] == [
        (1, "act", "segment", L), (2, "act", "segment", G), (3, "emerging", "segment", K),
        (4, "stopped", "segment", S), (5, "noise", "segment", J), (6, "noise", "segment", N),
        (7, "noise", "device", DESKTOP), (8, "noise", "segment", E), (9, "noise", "segment", A)]
    assert {(r["window_start_month"], r["window_end_month"]) for r in rows} == {(JAN, JUN)}
    assert [round(GAP[k], 3) for k in KEPT] == [552.270, 474.925, -27.524, 524.895, 79.980, 45.229, 18.968,
                                                14.997, 8.332]
    assert GAP_K == pytest.approx(-185 * V / 336)  # K is kept for its recent test alone
    assert [round(Z[k], 3) for k in KEPT] == [4.109, 3.213, -0.222, 3.871, 0.941, 0.426, 0.066, 0.594, 0.121]
    assert [round(RGAP[k], 3) for k in (K, S, J, DESKTOP)] == [231.799, 249.950, 104.975, -206.744]
    assert RGAP[K] == pytest.approx(779 * V / 168)
    assert [round(RZ[k], 3) for k in (K, S, J, DESKTOP, MOBILE)] == [2.686, 2.582, 1.344, -0.839, 0.818]
    # BH over the 24 tests, p ascending (ties: the window test first): L's two (the same test), S's
    # window test, G's two, K's recent test (rank 6, q = 24 p / 6 = 0.0144), S's recent test (rank 7,
    # 24 p / 7 = 0.0168), J's recent (rank 8, 24 p / 8 = 0.2685) and window test (rank 9, 24 p / 9 = 0.4624),
    # mobile's recent test, E, N's two (13: 24 p / 13 = 0.6188), A, desktop, B (p 0.5) and mobile's window
    # test (rank 17: 24 * 0.52570 / 17 = 0.7422, the q of A and desktop too), K's window test (18, 24 p / 18
    # = 0.7839), C, desktop's recent test, H's two and F's two
    order = sorted(FAMILY, key=lambda t: (FAMILY[t], t[1] == "recent"))
    assert order == [(L, "window"), (L, "recent"), (S, "window"), (G, "window"), (G, "recent"), (K, "recent"),
                     (S, "recent"), (J, "recent"), (J, "window"), (MOBILE, "recent"), (E, "window"),
                     (N, "window"), (N, "recent"), (A, "window"), (DESKTOP, "window"), (B, "window"),
                     (MOBILE, "window"), (K, "window"), (C, "window"), (DESKTOP, "recent"), (H, "window"),
                     (H, "recent"), (F, "window"), (F, "recent")]
    assert [round(Q[k], 4) for k in KEPT] == [0.0002, 0.0032, 0.7839, 0.0004, 0.4624, 0.6188, 0.7422, 0.6027,
                                              0.7422]
    assert [round(RQ[k], 4) for k in (L, G, K, S, J, N, DESKTOP)] == [0.0002, 0.0032, 0.0144, 0.0168, 0.2685,
                                                                       0.6188, 0.9593]
    assert RQ[K] == pytest.approx(24 * RP[K] / 6) and RQ[S] == pytest.approx(24 * RP[S] / 7)
    assert Q[N] == RQ[N] == pytest.approx(24 * P[N] / 13)
    assert Q[A] == Q[DESKTOP] == pytest.approx(24 * P[MOBILE] / 17)
    got = {key(r): r for r in rows}
    for k, r in got.items():
        assert r["gap_usd"] == pytest.approx(GAP[k], abs=1e-9), k
        assert r["gap_se_usd"] == pytest.approx(SE[k]), k
        assert r["gap_z"] == pytest.approx(Z[k]), k
        assert r["p_value"] == pytest.approx(P[k], abs=1e-7), k
        assert r["q_value"] == pytest.approx(Q[k], abs=1e-6), k
        assert r["is_significant"] is (k in (L, G, S)), k
        # rev 4: the recent test, or none (A and E: no session after February)
        assert r["recent_gap_usd"] == pytest.approx(RGAP.get(k, 0.0), abs=1e-9), k
        assert r["recent_gap_se_usd"] == pytest.approx(RSE.get(k, 0.0)), k
        assert r["recent_gap_z"] == (pytest.approx(RZ[k]) if k in RZ else None), k
        assert r["recent_p_value"] == pytest.approx(RP.get(k, 1.0), abs=1e-7), k
        assert r["recent_q_value"] == pytest.approx(RQ.get(k, 1.0), abs=1e-6), k
        assert r["is_recent_significant"] is (k in (L, G, K, S)), k
        # (expected - actual net revenue per session) * sessions = gap_usd
        assert (r["expected_net_revenue_per_session_usd"] - r["net_revenue_per_session_usd"]) * r["sessions"] == \
            pytest.approx(r["gap_usd"]), k
    for k in (A, E):
        assert (got[k]["recent_sessions"], got[k]["recent_conversion_rate"],
                got[k]["recent_expected_conversion_rate"]) == (0, 0, 0)
    total = sum(GAP[k] for k in KEPT)
    assert [r["share_of_total_gap"] for r in rows] == [pytest.approx(GAP[k] / total) for k in KEPT]

    k_ = got[K]
    assert (k_["sessions"], k_["orders"], k_["gross_revenue_usd"]) == (27, 10, Decimal("499.90"))
    assert (k_["last_session_month"], k_["is_live"], k_["primary_leak"]) == (JUN, True, "conversion")
    # 10 of 27 (37.04%) against (14 * 12/32 + 5 * 12/32 + 4 * 14/42 + 4 * 16/42) / 27 = 36.97% over the window
    assert k_["conversion_rate"] == pytest.approx(10 / 27)
    assert k_["expected_conversion_rate"] == pytest.approx((19 * 12 / 32 + 4 * 14 / 42 + 4 * 16 / 42) / 27)
    # the recent months: 0 of 13 against (5 * 12/32 + 4 * 14/42 + 4 * 16/42) / 13 = 265/728 = 36.4%
    assert (k_["recent_sessions"], k_["recent_conversion_rate"]) == (13, 0)
    assert k_["recent_expected_conversion_rate"] == pytest.approx(265 / 728)
    assert (k_["is_significant"], k_["is_recent_significant"]) == (False, True)
    assert k_["recommended_action"] == (
        "Emerging leak on bsearch/brand mobile landing on /home: in 2014-04..2014-06 it converted at 0.0% vs "
        "36.4% expected for mobile in the same months and earned $232 less (z 2.7, q 0.01), after a 6-month "
        "window within noise: find what changed there in 2014-04 and fix the page or the bid.")

    j = got[J]
    assert (j["sessions"], j["orders"], j["gross_revenue_usd"]) == (19, 4, Decimal("199.96"))
    # the recent months: 3 of 14 against (6 * 4/30 + 8 * 0.6) / 14 = 40.0%, a gap chance explains
    assert (j["recent_sessions"], j["recent_conversion_rate"]) == (14, pytest.approx(3 / 14))
    assert j["recent_expected_conversion_rate"] == pytest.approx((6 * 4 / 30 + 8 * 0.6) / 14)
    assert (j["last_session_month"], j["is_live"]) == (JUN, True)  # live, but sure in neither test: noise
    assert j["recommended_action"] == (
        "Within noise: bsearch/brand desktop landing on /home earned $80 less than desktop in the same "
        "months, a gap chance alone explains (z 0.9, q 0.46): no action; watch it.")

    s_ = got[S]
    # April is S's only recent month: 1 of 16 against mobile's 37.5%; significant too, yet S is stopped
    assert (s_["recent_sessions"], s_["recent_conversion_rate"], s_["recent_expected_conversion_rate"]) == (
        16, pytest.approx(1 / 16), pytest.approx(0.375))

    l_ = got[L]
    assert (l_["sessions"], l_["orders"], l_["gross_revenue_usd"]) == (32, 0, Decimal("0.00"))
    # at mobile's rates of May and June: (16 * 1/3 + 16 * 8/21) / 32 = 15/42
    assert l_["expected_conversion_rate"] == pytest.approx(15 / 42)  # 35.7%
    assert l_["expected_average_order_value_usd"] == pytest.approx(V)  # mobile sold 49.99s only
    # E_refund = 16 * 8/21 * V * 1/16 = 8 V / 21 of E_gross 16 V / 3 + 128 V / 21 = 240 V / 21
    assert l_["expected_refund_rate"] == pytest.approx(1 / 30)
    assert l_["expected_net_revenue_per_session_usd"] == pytest.approx((NRPS_M5 + NRPS_M6) / 2)  # 29 V / 84
    assert (l_["last_session_month"], l_["is_live"], l_["primary_leak"]) == (JUN, True, "conversion")
    assert l_["recommended_action"] == (
        "Conversion leak on gsearch/nonbrand mobile landing on /lander-5: 0.0% vs 35.7% expected for "
        "mobile in the same months (z 4.1); fix the page or the bid.")

    g = got[G]
    assert (g["sessions"], g["orders"], g["gross_revenue_usd"], g["refund_amount_usd"]) == (
        40, 16, Decimal("599.84"), Decimal("0.00"))
    # 40% beats desktop over the window (60 orders in 175 sessions, 34.3%), but desktop converted 60%
    # in both months G ran
    assert g["conversion_rate"] == pytest.approx(0.4)
    assert g["device_conversion_rate"] == pytest.approx(60 / 175)
    assert g["expected_conversion_rate"] == pytest.approx(0.6)
    assert g["device_conversion_rate"] < g["conversion_rate"] < g["expected_conversion_rate"]
    # E_gross = 20 * 1119.76 / 40 + 20 * 1079.76 / 40 = 1099.76 for E_orders 24
    assert g["expected_average_order_value_usd"] == pytest.approx(1099.76 / 24)  # 45.82
    assert g["average_order_value_usd"] == pytest.approx(599.84 / 16)  # 37.49: the 29.99 mini bears
    # E_refund = 20 * 0.6 * AOV_D5 * RR_D5 = 20 * 49.99 / 40 (May); none in June
    assert g["expected_refund_rate"] == pytest.approx(V / 2 / 1099.76)  # 2.27%
    assert g["expected_net_revenue_per_session_usd"] == pytest.approx((NRPS_D5 + NRPS_D6) / 2)  # 26.869
    # conversion (178.295 + 179.960) beats order value (50.952 + 80.000) and refunds (-14.282 + 0)
    assert g["conversion_leak_usd"] == pytest.approx((0.6 - 0.4) * AOV_D5 * (1 - RR_D5) * 20
                                                     + (0.6 - 0.4) * AOV_D6 * 20)
    assert g["order_value_leak_usd"] == pytest.approx(0.4 * (AOV_D5 - 319.92 / 8) * (1 - RR_D5) * 20
                                                      + 0.4 * (AOV_D6 - 279.92 / 8) * 20)
    assert g["refund_leak_usd"] == pytest.approx(0.4 * 39.99 * (0 - RR_D5) * 20)
    assert (g["last_session_month"], g["is_live"], g["primary_leak"]) == (JUN, True, "conversion")
    assert g["recommended_action"] == (
        "Conversion leak on bsearch/nonbrand desktop landing on /lander-2: 40.0% vs 60.0% expected for "
        "desktop in the same months (z 3.2); fix the page or the bid.")

    s = got[S]
    assert (s["sessions"], s["orders"], s["gross_revenue_usd"]) == (32, 1, Decimal("49.99"))
    assert s["expected_conversion_rate"] == pytest.approx(0.375)  # mobile's rate in March and April
    assert s["expected_average_order_value_usd"] == pytest.approx(V)
    # E_refund = 16 * 0.375 * V * 1/12 = V / 2 (March) of E_gross 12 V
    assert s["expected_refund_rate"] == pytest.approx(1 / 24)
    assert s["expected_net_revenue_per_session_usd"] == pytest.approx((NRPS_M3 + NRPS_M4) / 2)  # 23 V / 64
    # April is before May = June - (live_months - 1) months
    assert (s["last_session_month"], s["is_live"], s["primary_leak"]) == (APR, False, "conversion")
    assert s["recommended_action"] == (
        "socialbook/pilot mobile landing on /lander-3 has had no sessions after 2014-04; while it ran it "
        "converted at 3.1% vs 37.5% expected for mobile (z 3.9): fix the page or the bid before it "
        "runs again.")

    n = got[N]
    assert (n["sessions"], n["orders"]) == (20, 6)
    assert n["expected_conversion_rate"] == pytest.approx(15 / 42)  # L's months: the same expectation
    # E_refund = 10 * 8/21 * V / 16 = 5 V / 21 of E_gross 10 V / 3 + 80 V / 21 = 150 V / 21
    assert n["expected_refund_rate"] == pytest.approx(1 / 30)
    assert (n["last_session_month"], n["is_live"]) == (JUN, True)  # live, but not sure: noise
    assert n["recommended_action"] == (
        "Within noise: bsearch/nonbrand mobile landing on /lander-2 earned $45 less than mobile in the "
        "same months, a gap chance alone explains (z 0.4, q 0.62): no action; watch it.")

    d = got[DESKTOP]
    # the device row: every desktop session of the window; leaks and flags are a segment's
    assert (d["sessions"], d["orders"], d["gross_revenue_usd"], d["refund_amount_usd"]) == (
        175, 60, Decimal("2809.40"), Decimal("109.98"))
    assert d["conversion_rate"] == pytest.approx(60 / 175) == d["device_conversion_rate"]
    assert (d["conversion_leak_usd"], d["order_value_leak_usd"], d["refund_leak_usd"], d["months_flagged"]) == (
        0, 0, 0, 0)
    assert d["primary_leak"] == "device"
    assert d["device_gap_usd"] == d["gap_usd"] and d["segment_gap_usd"] == pytest.approx(0, abs=1e-9)
    # window site baseline: 353 sessions, 121 orders, gross 5810.79, refunds 269.94
    assert d["baseline_conversion_rate"] == pytest.approx(121 / 353)
    assert d["baseline_refund_rate"] == pytest.approx(269.94 / 5810.79)
    # at the site's rates of each month: sum n_d * cvr_b = 3.333 + 3 + 7.258 + 7.742 + 18.537 + 19.512
    e_orders = sum(n * cvr for n, cvr in zip(N_D, CVR_B, strict=True))
    assert e_orders == pytest.approx(59.382, abs=1e-3)
    assert d["expected_conversion_rate"] == pytest.approx(e_orders / 175)  # 33.9%
    # n_d * cvr_b * aov_b = n_d * gross_b / n_b, and with the refund rate n_d * refund_b / n_b
    e_gross = sum(n * g / nb for n, g, nb in zip(N_D, GROSS_B, N_B, strict=True))
    e_refund = sum(n * r / nb for n, r, nb in zip(N_D, REFUND_B, N_B, strict=True))
    assert d["expected_average_order_value_usd"] == pytest.approx(e_gross / e_orders)
    assert d["expected_refund_rate"] == pytest.approx(e_refund / e_gross)
    assert d["expected_net_revenue_per_session_usd"] == pytest.approx(
        sum(n * b for n, b in zip(N_D, NRPS_B, strict=True)) / 175)
    assert (d["last_session_month"], d["is_live"]) == (JUN, True)
    assert d["recommended_action"] == (
        "Within noise: Desktop earned $19 less than the site in the same months, a gap chance alone "
        "explains (z 0.1, q 0.74): no action; watch it.")

    e, a = got[E], got[A]
    assert e["expected_conversion_rate"] == pytest.approx(0.2)  # January's desktop
    assert (e["last_session_month"], e["is_live"]) == (JAN, False)
    assert e["recommended_action"] == (
        "Within noise: direct_or_unknown/direct_or_unknown desktop landing on unknown earned $15 less than "
        "desktop in the same months, a gap chance alone explains (z 0.6, q 0.60): no action; watch it.")
    # A: rates recomputed from the sums, not averaged; device baseline over the window
    assert (a["sessions"], a["orders"], a["gross_revenue_usd"], a["refund_amount_usd"]) == (
        20, 3, Decimal("159.97"), Decimal("59.99"))
    assert a["conversion_rate"] == pytest.approx(3 / 20)
    assert a["average_order_value_usd"] == pytest.approx(159.97 / 3)
    assert a["refund_rate"] == pytest.approx(59.99 / 159.97)
    assert a["device_refund_rate"] == pytest.approx(109.98 / 2809.40)
    # leaks summed over the months: refund 28.566 + 0 beats conversion 0 - 16.663 and order value -3.571 + 0
    assert a["conversion_leak_usd"] == pytest.approx((CVR_D2 - 0.1) * AOV_D2 * 10)
    assert a["order_value_leak_usd"] == pytest.approx(0.2 * (52.49 - 54.99) * (1 - RR_D1) * 10)
    assert a["refund_leak_usd"] == pytest.approx(0.2 * 54.99 * (59.99 / 109.98 - RR_D1) * 10)
    assert a["primary_leak"] == "refund_drag" and e["primary_leak"] == "conversion"
    assert a["months_flagged"] == 1 and e["months_flagged"] == 0
    # against desktop's January and February: (10 * 0.2 + 10 / 15) / 20
    assert a["expected_conversion_rate"] == pytest.approx((10 * CVR_D1 + 10 * CVR_D2) / 20)
    # E_refund = 10 * 59.99 / 20 (January) of E_gross 10 * 209.96 / 20 + 10 * 49.99 / 15
    assert a["expected_refund_rate"] == pytest.approx((10 * 59.99 / 20) / (10 * 209.96 / 20 + 10 * 49.99 / 15))
    assert (a["last_session_month"], a["is_live"]) == (FEB, False)
    assert a["recommended_action"] == (
        "Within noise: gsearch/nonbrand desktop landing on /lander-1 earned $8 less than desktop in the "
        "same months, a gap chance alone explains (z 0.1, q 0.74): no action; watch it.")


def test_lookback_keeps_only_the_latest_months(project):
    # the recent months lie within the window: one month of window, one recent month
    project.edit_json("contracts/metric-catalog.json",
                      lambda d: d["thresholds"].update(priority_lookback_months=1, recent_months=1))
    apply(Context.at(project.root), ApplyRequest())
    rows = priority(project)
    # June alone: 9 candidates (the two devices; G, H, J, L, F, K and N). S has no June session and is no
    # candidate; desktop leads June, so mobile is the device action
    gap = {L: NRPS_M6 * 16,  # 40 V / 7 = 285.657
           G: (NRPS_D6 - 279.92 / 20) * 20,  # 539.88 - 279.92 = 259.96
           MOBILE: (NRPS_B6 - NRPS_M6) * 42,  # 937.117 - 749.85 = 187.267
           K: NRPS_M6 * 4,  # 10 V / 7 = 71.414: K's June is like L's
           J: (NRPS_D6 - 2 * V / 4) * 4,  # 107.976 - 99.98 = 7.996
           DESKTOP: (NRPS_B6 - NRPS_D6) * 40, H: (NRPS_D6 - 14 * V / 16) * 16,
           F: (NRPS_M6 - 11 * V / 12) * 12, N: (NRPS_M6 - 4 * V / 10) * 10}
    se = {L: math.sqrt(16 * VAR_M6), G: math.sqrt(20 * VAR_D6), MOBILE: math.sqrt(42 * VAR_B6),
          K: math.sqrt(4 * VAR_M6), J: math.sqrt(4 * VAR_D6),
          DESKTOP: math.sqrt(40 * VAR_B6), H: math.sqrt(16 * VAR_D6), F: math.sqrt(12 * VAR_M6),
          N: math.sqrt(10 * VAR_M6)}
    z = {k: gap[k] / se[k] for k in gap}
    p = {k: upper_tail(v) for k, v in z.items()}
    # the recent month is the window: every candidate's recent test is its window test, so the family
    # holds each p twice (M = 18) and the pair at ranks 2j - 1, 2j gets q = 18 p / 2j = 9 p / j, as if
    # the family were the 9 window tests alone
    q = bh({**{(k, "window"): v for k, v in p.items()}, **{(k, "recent"): v for k, v in p.items()}})
    q = {k: q[(k, "window")] for k in p}
    assert q == pytest.approx(bh(p))
    assert [round(z[k], 3) for k in (L, G, MOBILE, K, J)] == [2.981, 2.523, 1.206, 1.491, 0.174]
    # q(L) = 9 p / 1, q(G) = 9 p / 2, q(K) = 9 p / 3, q(mobile) = 9 p / 4
    assert [round(q[k], 4) for k in (L, G, K, MOBILE)] == [0.0129, 0.0262, 0.2041, 0.2561]
    assert [(r["priority_rank"], r["action_status"], r["action_scope"], key(r)) for r in rows] == [
        (1, "act", "segment", L), (2, "act", "segment", G), (3, "noise", "device", MOBILE),
        (4, "noise", "segment", K), (5, "noise", "segment", J)]
    for r in rows:
        k = key(r)
        assert (r["window_start_month"], r["window_end_month"], r["last_session_month"], r["is_live"]) == (
            JUN, JUN, JUN, True)
        assert r["gap_usd"] == pytest.approx(gap[k], abs=1e-9) == r["recent_gap_usd"], k
        assert r["gap_se_usd"] == pytest.approx(se[k]) == r["recent_gap_se_usd"], k
        assert r["gap_z"] == pytest.approx(z[k]) == r["recent_gap_z"], k
        assert r["p_value"] == pytest.approx(p[k], abs=1e-7) == r["recent_p_value"], k
        assert r["q_value"] == pytest.approx(q[k], abs=1e-6) == r["recent_q_value"], k
        assert r["is_recent_significant"] is r["is_significant"], k
    l_, g, m = rows[:3]
    assert l_["expected_conversion_rate"] == pytest.approx(CVR_M6)  # 16/42 = 38.1%
    assert l_["expected_refund_rate"] == pytest.approx(RR_M6)
    assert l_["recommended_action"] == (
        "Conversion leak on gsearch/nonbrand mobile landing on /lander-5: 0.0% vs 38.1% expected for "
        "mobile in the same months (z 3.0); fix the page or the bid.")
    assert g["expected_conversion_rate"] == pytest.approx(0.6)
    assert g["expected_average_order_value_usd"] == pytest.approx(AOV_D6)  # 44.99
    assert g["expected_refund_rate"] == 0
    assert g["recommended_action"] == (
        "Conversion leak on bsearch/nonbrand desktop landing on /lander-2: 40.0% vs 60.0% expected for "
        "desktop in the same months (z 2.5); fix the page or the bid.")
    assert m["expected_conversion_rate"] == pytest.approx(CVR_B6)  # the site's 40/82
    assert m["expected_net_revenue_per_session_usd"] == pytest.approx(NRPS_B6)
    assert m["recommended_action"] == (
        "Within noise: Mobile earned $187 less than the site in the same months, a gap chance alone "
        "explains (z 1.2, q 0.26): no action; watch it.")


def test_status_thresholds_come_from_the_catalog(project):
    cat = "contracts/metric-catalog.json"
    # false_discovery_rate 0.75: the q of 0.46 to 0.74 of J, N, desktop, E and A is now significant (E and
    # A are not live, so stopped), and mobile's window q of 0.74 too; mobile is kept though its window gap is
    # negative, for its recent test (q 0.50). K's window q of 0.78 is still not: it stays emerging
    project.edit_json(cat, lambda d: d["thresholds"].update(false_discovery_rate=0.75))
    apply(Context.at(project.root), ApplyRequest())
    rows = priority(project)
    assert [(r["action_status"], key(r)) for r in rows] == [
        ("act", L), ("act", G), ("act", J), ("act", N), ("act", DESKTOP), ("act", MOBILE), ("emerging", K),
        ("stopped", S), ("stopped", E), ("stopped", A)]
    assert [key(r) for r in rows if not r["is_significant"]] == [K]
    got = {key(r): r for r in rows}
    # desktop converts at 60/175 = 34.3% against 59.382 / 175 = 33.9% at the site's rates; mobile, the
    # other device, at 61/178 = 34.3% over the window
    assert got[DESKTOP]["recommended_action"] == (
        "Desktop converts at 34.3% vs 33.9% expected at the site's rate in the same months (34.3% on "
        "mobile; 2014-01..2014-06): fix the desktop experience before single pages.")
    assert got[N]["recommended_action"] == (
        "Conversion leak on bsearch/nonbrand mobile landing on /lander-2: 30.0% vs 35.7% expected for "
        "mobile in the same months (z 0.4); fix the page or the bid.")
    # direct traffic has no bid
    assert got[E]["recommended_action"] == (
        "direct_or_unknown/direct_or_unknown desktop landing on unknown has had no sessions after 2014-01; "
        "while it ran it converted at 0.0% vs 20.0% expected for desktop (z 0.6): fix the page before it "
        "runs again.")
    # A's refund rate 59.99 / 159.97 against E_refund / E_gross = 29.995 / 138.307 = 21.7%
    assert got[A]["recommended_action"] == (
        "gsearch/nonbrand desktop landing on /lander-1 has had no sessions after 2014-02; while it ran "
        "37.5% of its revenue was refunded vs 21.7% expected for desktop (z 0.1): check what the page "
        "promises against the product before it runs again.")
    # false_discovery_rate 0.5: J's window test (q 0.46) is significant, and mobile's recent test (q 0.50)
    # but not its window test: two emerging leaks, ranked by their recent gaps, K's $232 before mobile's
    # $207, although mobile's window gap (-$19) is bigger than K's (-$28)
    project.edit_json(cat, lambda d: d["thresholds"].update(false_discovery_rate=0.5))
    apply(Context.at(project.root), ApplyRequest())
    rows = priority(project)
    assert [(r["action_status"], key(r)) for r in rows] == [
        ("act", L), ("act", G), ("act", J), ("emerging", K), ("emerging", MOBILE), ("stopped", S),
        ("noise", N), ("noise", DESKTOP), ("noise", E), ("noise", A)]
    m = rows[4]
    assert m["recent_gap_usd"] == pytest.approx(RGAP[MOBILE]) and m["gap_usd"] == pytest.approx(-GAP[DESKTOP])
    assert m["recent_q_value"] == pytest.approx(24 * RP[MOBILE] / 10)  # rank 10 of the family
    # an emerging device: mobile converted 42 of 116 in April to June (36.2%) against the site's rates
    # of those months, (32 * 16/62 + 42 * 38/82 + 42 * 40/82) / 116 = 41.6%
    assert m["recent_conversion_rate"] == pytest.approx(42 / 116)
    assert m["recent_expected_conversion_rate"] == pytest.approx(
        sum(n * cvr for n, cvr in zip(N_M[3:], CVR_B[3:], strict=True)) / 116)
    assert m["recommended_action"] == (
        "Emerging leak on mobile: Mobile converted at 36.2% vs 41.6% expected at the site's rate in the same "
        "months (2014-04..2014-06) and earned $207 less (z 0.8, q 0.50), after a 6-month window within noise: "
        "find what changed there in 2014-04 and fix the mobile experience before single pages.")
    # live_months 3: April is live in a window ending in June, and S is one to act on again
    project.edit_json(cat, lambda d: d["thresholds"].update(false_discovery_rate=0.05, live_months=3))
    apply(Context.at(project.root), ApplyRequest())
    rows = priority(project)
    assert [(r["action_status"], key(r)) for r in rows] == [
        ("act", L), ("act", S), ("act", G), ("emerging", K), ("noise", J), ("noise", N), ("noise", DESKTOP),
        ("noise", E), ("noise", A)]
    s = rows[1]
    assert (s["last_session_month"], s["is_live"]) == (APR, True)
    assert s["recommended_action"] == (
        "Conversion leak on socialbook/pilot mobile landing on /lander-3: 3.1% vs 37.5% expected for "
        "mobile in the same months (z 3.9); fix the page or the bid.")
    # J, N, desktop; E (January), A (February)
    assert [r["is_live"] for r in rows[4:]] == [True, True, True, False, False]


def test_direct_traffic_has_no_bid_to_fix(project):
    # G's and K's sessions without their utm tags: organic search from bsearch, the unknown source
    project.edit_text(SESSIONS, "bsearch,nonbrand,b_ad_1,desktop,", "NULL,NULL,NULL,desktop,")
    project.edit_text(SESSIONS, "bsearch,brand,b_ad_2,mobile,", "NULL,NULL,NULL,mobile,")
    apply(Context.at(project.root), ApplyRequest())
    rows = priority(project)
    direct_g = ("direct_or_unknown", "direct_or_unknown", "desktop", "/lander-2")
    direct_k = ("direct_or_unknown", "direct_or_unknown", "mobile", "/home")
    assert [(r["action_status"], key(r)) for r in rows][:4] == [
        ("act", L), ("act", direct_g), ("emerging", direct_k), ("stopped", S)]
    g, k = rows[1:3]
    assert g["gap_z"] == pytest.approx(Z[G])  # the same sessions, the same months
    assert g["recommended_action"] == (
        "Conversion leak on direct_or_unknown/direct_or_unknown desktop landing on /lander-2: 40.0% vs "
        "60.0% expected for desktop in the same months (z 3.2); fix the page.")
    assert k["recent_gap_z"] == pytest.approx(RZ[K])
    assert k["recommended_action"] == (
        "Emerging leak on direct_or_unknown/direct_or_unknown mobile landing on /home: in 2014-04..2014-06 it "
        "converted at 0.0% vs 36.4% expected for mobile in the same months and earned $232 less (z 2.7, "
        "q 0.01), after a 6-month window within noise: find what changed there in 2014-04 and fix the page.")


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
    # the unit tests that pin the shipped words and the (all) label
    project.drop_unit_tests(lambda t: not ({"recommended_action", "utm_source"} & set(t["expect"]["rows"][0])
                                           and t["model"] == "mart__priority_actions" or t.get("cte")))
    out = leak("apply", "--json")
    assert out.exit_code == 0, out.stderr
    (top,) = out.json()["top_actions"]
    assert (top["utm_source"], top["utm_campaign"], top["device_type"], top["landing_page"]) == L
    assert top["recommended_action"].startswith(
        "Conversion leak on gsearch/nonbrand mobile landing on /lander-5: 0.00 pct vs 35.71 pct expected")
    assert project.query("select utm_source, utm_campaign, device_type, landing_page from mart__priority_actions "
                         "where action_scope = 'device'") == [("*", "*", "desktop", "*")]
