"""An independent computation of LEAK-SPEC §6-7 in plain Python, from the CSV files.

Revision 4 of §6-7: each segment against its month's site and device baselines (revision 2), plus the
two net-revenue variance baselines of the summary, and a priority list that compares each action with
what its own sessions would have done at its baseline's rates of the same months, with a standard
error, a one-sided p-value, whether the action still runs (revision 3), and (revision 4) the same test
over the recent months of the window, Benjamini-Hochberg q-values over one family of both tests of
every candidate, and a status (act, emerging, stopped, noise) that ranks first.

It shares no code with leakcli: it reads the CSVs with the csv module, computes every mart row with
Decimal money (exact variances with Fraction) and float rates, the normal tail with math.erfc, and is
what the end-to-end tests compare the marts with. Rows are dicts in the marts' column order.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

KEYS = ("utm_source", "utm_campaign", "device_type", "landing_page")
RATES = ("conversion_rate", "average_order_value_usd", "net_revenue_per_session_usd", "refund_rate")
LEAKS = ("conversion", "order_value", "refund_drag")
ALL = "(all)"
UNPAID = "direct_or_unknown"
STATUS_ORDER = ("act", "emerging", "stopped", "noise")


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _null(v: str) -> str | None:
    return None if v == "NULL" else v


def _cents(v: str) -> int:
    return int(Decimal(v) * 100)


# ---------------------------------------------------------------------------------------------
# §6 mart__core_leak_summary


def summary(raw: Path, t: dict[str, float]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Summary rows keyed by (session_month, *segment keys); each row holds every column of the mart."""
    sessions = {}
    for r in _read(raw / "website_sessions.csv"):
        month = dt.date.fromisoformat(r["created_at"][:7] + "-01")
        sessions[int(r["website_session_id"])] = (
            month, _null(r["utm_source"]) or "direct_or_unknown",
            _null(r["utm_campaign"]) or "direct_or_unknown", _null(r["device_type"]) or "unknown")
    landing: dict[int, tuple[int, str]] = {}
    for r in _read(raw / "website_pageviews.csv"):
        sid, pid = int(r["website_session_id"]), int(r["website_pageview_id"])
        if sid not in landing or pid < landing[sid][0]:
            landing[sid] = (pid, r["pageview_url"])
    orders = {}
    for r in _read(raw / "orders.csv"):
        orders[int(r["website_session_id"])] = (int(r["order_id"]), _cents(r["price_usd"]))
    refunds: dict[int, int] = defaultdict(int)
    for r in _read(raw / "order_item_refunds.csv"):
        refunds[int(r["order_id"])] += _cents(r["refund_amount_usd"])
    # per cell: sessions, orders, gross cents, refund cents, sum of net cents squared (one session's net)
    seg: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for sid, (month, src, camp, dev) in sessions.items():
        key = (month, src, camp, dev, landing[sid][1] if sid in landing else "unknown")
        acc = seg[key]
        acc[0] += 1
        if sid in orders:
            oid, price = orders[sid]
            refund = refunds.get(oid, 0)
            acc[1] += 1
            acc[2] += price
            acc[3] += refund
            acc[4] += (price - refund) ** 2
    months: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    devices: dict[tuple[dt.date, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for key, acc in seg.items():
        for i in range(5):
            months[key[0]][i] += acc[i]
            devices[(key[0], key[3])][i] += acc[i]
    out = {}
    for key in sorted(seg):
        n, o, g, r, _ = seg[key]
        mb, md = months[key[0]], devices[(key[0], key[3])]
        row: dict[str, Any] = {"session_month": key[0], **dict(zip(KEYS, key[1:], strict=True))}
        row.update(measures(n, o, _usd(g), _usd(r)))
        row.update(_prefixed("baseline_", measures(mb[0], mb[1], _usd(mb[2]), _usd(mb[3]))))
        row.update(_prefixed("device_", measures(md[0], md[1], _usd(md[2]), _usd(md[3]))))
        row["baseline_net_revenue_variance"] = _var_pop(mb)
        row["device_net_revenue_variance"] = _var_pop(md)
        ci = _idx(row["conversion_rate"], row["device_conversion_rate"])
        ni = _idx(row["net_revenue_per_session_usd"], row["device_net_revenue_per_session_usd"])
        ri = _idx(row["refund_rate"], row["device_refund_rate"])
        row.update(conversion_index=ci, net_revenue_index=ni, refund_index=ri,
                   is_low_conversion=n >= t["min_sessions"] and ci is not None and ci < t["low_conversion_index"],
                   is_weak_net_revenue=n >= t["min_sessions"] and ni is not None and ni < t["weak_net_revenue_index"],
                   is_high_refund_drag=o >= t["min_orders"] and ri is not None and ri > t["high_refund_index"])
        row.update(leaks(row))
        out[key] = row
    return out


def _usd(cents: int) -> Decimal:
    return Decimal(cents) / 100


def _var_pop(acc: list[int]) -> float:
    """var_pop (USD²) of one session's net revenue over the acc's sessions, exactly: a session without
    an order has net 0; (N·Σx² − (Σx)²) / N², in cents², then / 100²."""
    n, net, sq = acc[0], acc[2] - acc[3], acc[4]
    return float(Fraction(n * sq - net * net, n * n * 10_000))


def _prefixed(prefix: str, m: dict[str, Any]) -> dict[str, Any]:
    return {prefix + k: m[k] for k in RATES}


def _idx(x: float, b: float) -> float | None:
    return None if b == 0 else x / b


def measures(n: int, o: int, g: Decimal, r: Decimal) -> dict[str, Any]:
    return {"sessions": n, "orders": o, "gross_revenue_usd": g, "refund_amount_usd": r,
            "net_revenue_usd": g - r, "conversion_rate": o / n,
            "average_order_value_usd": 0.0 if o == 0 else float(g) / o,
            "net_revenue_per_session_usd": float(g - r) / n,
            "refund_rate": 0.0 if g == 0 else float(r) / float(g)}


def leaks(row: dict[str, Any]) -> dict[str, float]:
    """The gap to the site splits into the device's part and the segment's own part; the segment's
    part splits into three leaks measured against the device."""
    n = row["sessions"]
    cvr, aov, nrps, rr = (row[k] for k in RATES)
    cd, ad, nd, rd = (row["device_" + k] for k in RATES)
    nb = row["baseline_net_revenue_per_session_usd"]
    return {"revenue_gap_usd": (nb - nrps) * n,
            "device_gap_usd": (nb - nd) * n,
            "segment_gap_usd": (nd - nrps) * n,
            "conversion_leak_usd": (cd - cvr) * ad * (1 - rd) * n,
            "order_value_leak_usd": cvr * (ad - aov) * (1 - rd) * n,
            "refund_leak_usd": cvr * aov * (rr - rd) * n}


# ---------------------------------------------------------------------------------------------
# §7 mart__priority_actions: recommended-action texts (the words of the catalog, revision 4)

SEG = "{utm_source}/{utm_campaign} {device_type} landing on {landing_page}"
STOPPED = SEG + " has had no sessions after {last_session_month:month}; while it ran "
TEXTS = {
    ("act", "device"):
        "{device_type:title} converts at {conversion_rate:pct} vs {expected_conversion_rate:pct} expected at "
        "the site's rate in the same months ({other_device_conversion_rate:pct} on {other_device_type}; "
        "{window_start_month:month}..{window_end_month:month}): fix the {device_type} experience before "
        "single pages.",
    ("act", "conversion"):
        "Conversion leak on " + SEG + ": {conversion_rate:pct} vs {expected_conversion_rate:pct} expected for "
        "{device_type} in the same months (z {gap_z:num1}); fix the page or the bid.",
    ("act", "conversion", "unpaid"):
        "Conversion leak on " + SEG + ": {conversion_rate:pct} vs {expected_conversion_rate:pct} expected for "
        "{device_type} in the same months (z {gap_z:num1}); fix the page.",
    ("act", "order_value"):
        "Order value leak on " + SEG + ": {average_order_value_usd:usd} per order vs "
        "{expected_average_order_value_usd:usd} expected for {device_type} in the same months "
        "(z {gap_z:num1}); review the offer and cross-sell on the page.",
    ("act", "refund_drag"):
        "Refund drag on " + SEG + ": {refund_rate:pct} of revenue refunded vs {expected_refund_rate:pct} "
        "expected for {device_type} in the same months (z {gap_z:num1}); check what the page promises "
        "against the product.",
    ("stopped", "device"):
        "{device_type:title} has had no sessions after {last_session_month:month}; while it ran it converted "
        "at {conversion_rate:pct} vs {expected_conversion_rate:pct} expected at the site's rate in the same "
        "months (z {gap_z:num1}): fix the {device_type} experience before it returns.",
    ("stopped", "conversion"):
        STOPPED + "it converted at {conversion_rate:pct} vs {expected_conversion_rate:pct} expected for "
        "{device_type} (z {gap_z:num1}): fix the page or the bid before it runs again.",
    ("stopped", "conversion", "unpaid"):
        STOPPED + "it converted at {conversion_rate:pct} vs {expected_conversion_rate:pct} expected for "
        "{device_type} (z {gap_z:num1}): fix the page before it runs again.",
    ("stopped", "order_value"):
        STOPPED + "it earned {average_order_value_usd:usd} per order vs {expected_average_order_value_usd:usd} "
        "expected for {device_type} (z {gap_z:num1}): review the offer and cross-sell on the page before it "
        "runs again.",
    ("stopped", "refund_drag"):
        STOPPED + "{refund_rate:pct} of its revenue was refunded vs {expected_refund_rate:pct} expected for "
        "{device_type} (z {gap_z:num1}): check what the page promises against the product before it runs "
        "again.",
    ("noise", "device"):
        "Within noise: {device_type:title} earned {gap_usd:usd0} less than the site in the same months, a gap "
        "chance alone explains (z {gap_z:num1}, q {q_value:num2}): no action; watch it.",
    ("noise", "segment"):
        "Within noise: " + SEG + " earned {gap_usd:usd0} less than {device_type} in the same months, a gap "
        "chance alone explains (z {gap_z:num1}, q {q_value:num2}): no action; watch it.",
    # rev 4: the recent test's figures over the recent months, after a window within noise
    ("emerging", "device"):
        "Emerging leak on {device_type}: {device_type:title} converted at {recent_conversion_rate:pct} vs "
        "{recent_expected_conversion_rate:pct} expected at the site's rate in the same months "
        "({recent_start_month:month}..{window_end_month:month}) and earned {recent_gap_usd:usd0} less "
        "(z {recent_gap_z:num1}, q {recent_q_value:num2}), after a {window_length_months}-month window within "
        "noise: find what changed there in {recent_start_month:month} and fix the {device_type} experience "
        "before single pages.",
    ("emerging", "segment"):
        "Emerging leak on " + SEG + ": in {recent_start_month:month}..{window_end_month:month} it converted at "
        "{recent_conversion_rate:pct} vs {recent_expected_conversion_rate:pct} expected for {device_type} in the "
        "same months and earned {recent_gap_usd:usd0} less (z {recent_gap_z:num1}, q {recent_q_value:num2}), "
        "after a {window_length_months}-month window within noise: find what changed there in "
        "{recent_start_month:month} and fix the page or the bid.",
    ("emerging", "segment", "unpaid"):
        "Emerging leak on " + SEG + ": in {recent_start_month:month}..{window_end_month:month} it converted at "
        "{recent_conversion_rate:pct} vs {recent_expected_conversion_rate:pct} expected for {device_type} in the "
        "same months and earned {recent_gap_usd:usd0} less (z {recent_gap_z:num1}, q {recent_q_value:num2}), "
        "after a {window_length_months}-month window within noise: find what changed there in "
        "{recent_start_month:month} and fix the page.",
}


def _fmt(value: Any, spec: str) -> str:
    if spec == "pct":
        return f"{value * 100:.1f}%"
    if spec == "usd":
        return f"${value:.2f}"
    if spec == "usd0":
        return f"${value:,.0f}"
    if spec in ("num1", "num2"):
        return "n/a" if value is None else f"{value:.{spec[-1]}f}"
    if spec == "month":
        return value.strftime("%Y-%m")
    if spec == "title":
        return value[:1].upper() + value[1:]
    if spec == "":
        return str(value)
    raise ValueError(f"unknown format {spec!r}")


def fill(template: str, row: dict[str, Any]) -> str:
    """Fill `{column}` / `{column:format}` placeholders with the row's values."""
    return re.sub(r"\{(\w+)(?::(\w+))?\}", lambda m: _fmt(row[m.group(1)], m.group(2) or ""), template)


def text_for(row: dict[str, Any]) -> str:
    status, leak = row["action_status"], row["primary_leak"]
    if status == "noise":
        return fill(TEXTS[("noise", "device" if leak == "device" else "segment")], row)
    if status == "emerging":  # one text for every leak of a segment; unpaid traffic has no bid
        if leak == "device":
            return fill(TEXTS[("emerging", "device")], row)
        unpaid = row["utm_source"] == UNPAID
        return fill(TEXTS[("emerging", "segment", "unpaid") if unpaid else ("emerging", "segment")], row)
    unpaid = leak == "conversion" and row["utm_source"] == UNPAID
    return fill(TEXTS[(status, leak, "unpaid") if unpaid else (status, leak)], row)


# ---------------------------------------------------------------------------------------------
# §7 mart__priority_actions


def _new() -> dict[str, Any]:
    return {"n": 0, "o": 0, "g": Decimal(0), "r": Decimal(0), "flagged": 0, "gap": 0.0, "dgap": 0.0,
            "sgap": 0.0, **dict.fromkeys(LEAKS, 0.0),
            # rev 3: expected orders, gross, refunds and net at the baseline x of each row, Σ n·var_x
            "e_o": 0.0, "e_g": 0.0, "e_r": 0.0, "e_net": 0.0, "var": 0.0, "last": None,
            # rev 4: the same over the rows of the recent months only (the gap of the action's own column)
            "rn": 0, "ro": 0, "re_o": 0.0, "rdgap": 0.0, "rsgap": 0.0, "rvar": 0.0}


def _add_expected(acc: dict[str, Any], row: dict[str, Any], x: str, var: str, recent: bool) -> None:
    n = row["sessions"]
    cvr, aov, nrps, rr = (row[x + k] for k in RATES)
    acc["e_o"] += n * cvr
    acc["e_g"] += n * cvr * aov
    acc["e_r"] += n * cvr * aov * rr
    acc["e_net"] += n * nrps
    acc["var"] += n * row[var]
    if acc["last"] is None or row["session_month"] > acc["last"]:
        acc["last"] = row["session_month"]
    if recent:
        acc["rn"] += n
        acc["ro"] += row["orders"]
        acc["re_o"] += n * cvr
        acc["rdgap"] += row["device_gap_usd"]
        acc["rsgap"] += row["segment_gap_usd"]
        acc["rvar"] += n * row[var]


def normal_upper_tail(z: float) -> float:
    """1 − Φ(z), exactly (erfc keeps the far tail accurate)."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def benjamini_hochberg(p: list[float], order: list[Any] | None = None) -> list[float]:
    """q(k) = min over j ≥ k of min(1, m·p(j)/j), ranks by p ascending (ties by `order`, the tests' sort
    keys, when given); returned in the input order."""
    m = len(p)
    keys = order if order is not None else list(range(m))
    ranked = sorted(range(m), key=lambda i: (p[i], keys[i]))
    q = [1.0] * m
    running = 1.0
    for j in range(m, 0, -1):
        i = ranked[j - 1]
        running = min(running, min(1.0, m * p[i] / j))
        q[i] = running
    return q


def _add_months(month: dt.date, k: int) -> dt.date:
    total = month.year * 12 + month.month - 1 + k
    return dt.date(total // 12, total % 12 + 1, 1)


def _months_between(start: dt.date, end: dt.date) -> int:
    """The months from `start` to `end`, both counted."""
    return (end.year - start.year) * 12 + end.month - start.month + 1


def _test(gap: float, var: float, n: int) -> tuple[float, float | None, float]:
    """A gap's standard error, z (None when the se is 0 or there are no sessions) and one-sided p."""
    se = math.sqrt(var)
    z = None if se == 0 or n == 0 else gap / se
    return se, z, 1.0 if z is None else normal_upper_tail(z)


def priority(summary_rows: dict[tuple[Any, ...], dict[str, Any]], t: dict[str, Any]) -> list[dict[str, Any]]:
    """The priority mart, ranked; `t` is the catalog's thresholds (priority_lookback_months,
    false_discovery_rate, live_months, recent_months)."""
    window = sorted({k[0] for k in summary_rows})[-int(t["priority_lookback_months"]):]
    in_window = set(window)
    start, end = window[0], window[-1]
    live_from = _add_months(end, -(int(t["live_months"]) - 1))
    recent_from = _add_months(end, -(int(t["recent_months"]) - 1))
    fdr = t["false_discovery_rate"]
    segs: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(_new)
    devs: dict[str, dict[str, Any]] = defaultdict(_new)
    site = _new()
    for key, row in summary_rows.items():
        if key[0] not in in_window:
            continue
        for acc in (segs[key[1:]], devs[key[3]], site):
            acc["n"] += row["sessions"]
            acc["o"] += row["orders"]
            acc["g"] += row["gross_revenue_usd"]
            acc["r"] += row["refund_amount_usd"]
            acc["gap"] += row["revenue_gap_usd"]
            acc["dgap"] += row["device_gap_usd"]
            acc["sgap"] += row["segment_gap_usd"]
        acc = segs[key[1:]]
        acc["flagged"] += row["is_low_conversion"] or row["is_weak_net_revenue"] or row["is_high_refund_drag"]
        acc["conversion"] += row["conversion_leak_usd"]
        acc["order_value"] += row["order_value_leak_usd"]
        acc["refund_drag"] += row["refund_leak_usd"]
        recent = key[0] >= recent_from
        _add_expected(segs[key[1:]], row, "device_", "device_net_revenue_variance", recent)
        _add_expected(devs[key[3]], row, "baseline_", "baseline_net_revenue_variance", recent)
    base = measures(site["n"], site["o"], site["g"], site["r"])
    dev_m = {d: measures(a["n"], a["o"], a["g"], a["r"]) for d, a in devs.items()}

    # every candidate of the window, whatever the sign of its gap; each has a window test, and a recent
    # test when it had sessions in the recent months
    cands = [("device", (ALL, ALL, d, ALL), a, a["dgap"], a["rdgap"]) for d, a in devs.items()]
    cands += [("segment", k, a, a["sgap"], a["rsgap"]) for k, a in segs.items()]
    window_tests = [_test(gap, a["var"], a["n"]) for _, _, a, gap, _ in cands]
    recent_tests = [_test(rgap, a["rvar"], a["rn"]) for _, _, a, _, rgap in cands]
    # one Benjamini-Hochberg family of every test performed: M = m + r; ties: window before recent,
    # then the candidate's rank keys
    family = [(i, 0) for i in range(len(cands))] + [(i, 1) for i, c in enumerate(cands) if c[2]["rn"] > 0]
    tests = (window_tests, recent_tests)
    q_of = dict(zip(family, benjamini_hochberg(
        [tests[kind][i][2] for i, kind in family],
        [(kind, cands[i][0], *cands[i][1]) for i, kind in family]), strict=True))

    out = []
    for i, (scope, key, a, gap, rgap) in enumerate(cands):
        se, z, p = window_tests[i]
        rse, rz, rp = recent_tests[i]
        q, rq = q_of[(i, 0)], q_of.get((i, 1), 1.0)
        significant = q <= fdr
        recent_significant = rq <= fdr and rgap >= 0.01
        if not (gap >= 0.01 or recent_significant):
            continue
        m = measures(a["n"], a["o"], a["g"], a["r"])
        if scope == "device":
            leak = "device"
            leak_values = dict.fromkeys(LEAKS, 0.0)
        else:
            leak = max(LEAKS, key=lambda n: (a[n], -LEAKS.index(n)))  # ties: the first in LEAKS
            leak_values = {n: a[n] for n in LEAKS}
        live = a["last"] >= live_from
        if live:
            status = "act" if significant else "emerging" if recent_significant else "noise"
        else:
            status = "stopped" if significant or recent_significant else "noise"
        row = {"priority_rank": None, "action_scope": scope, **dict(zip(KEYS, key, strict=True)),
               "window_start_month": start, "window_end_month": end,
               "months_flagged": a["flagged"] if scope == "segment" else 0,
               **m, **_prefixed("baseline_", base), **_prefixed("device_", dev_m[key[2]]),
               "conversion_leak_usd": leak_values["conversion"],
               "order_value_leak_usd": leak_values["order_value"],
               "refund_leak_usd": leak_values["refund_drag"],
               "revenue_gap_usd": a["gap"], "device_gap_usd": a["dgap"], "segment_gap_usd": a["sgap"],
               "gap_usd": gap, "share_of_total_gap": None, "primary_leak": leak,
               "expected_conversion_rate": a["e_o"] / a["n"],
               "expected_average_order_value_usd": 0.0 if a["e_o"] == 0 else a["e_g"] / a["e_o"],
               "expected_refund_rate": 0.0 if a["e_g"] == 0 else a["e_r"] / a["e_g"],
               "expected_net_revenue_per_session_usd": a["e_net"] / a["n"],
               "gap_se_usd": se, "gap_z": z, "p_value": p, "q_value": q,
               "is_significant": significant, "last_session_month": a["last"], "is_live": live,
               "action_status": status,
               "recent_sessions": a["rn"],
               "recent_conversion_rate": 0.0 if a["rn"] == 0 else a["ro"] / a["rn"],
               "recent_expected_conversion_rate": 0.0 if a["rn"] == 0 else a["re_o"] / a["rn"],
               "recent_gap_usd": rgap, "recent_gap_se_usd": rse, "recent_gap_z": rz,
               "recent_p_value": rp, "recent_q_value": rq, "is_recent_significant": recent_significant,
               "recommended_action": None}
        out.append(row)
    out.sort(key=lambda r: (STATUS_ORDER.index(r["action_status"]),
                            -(r["recent_gap_usd"] if r["action_status"] == "emerging" else r["gap_usd"]),
                            r["action_scope"], *(r[k] for k in KEYS)))
    gap_sum = sum(r["gap_usd"] for r in out)
    for rank, row in enumerate(out, start=1):
        row["priority_rank"] = rank
        row["share_of_total_gap"] = row["gap_usd"] / gap_sum
        extra = {"recent_start_month": recent_from, "window_length_months": _months_between(start, end)}
        if row["action_scope"] == "device":
            others = sorted((d for d in dev_m if d != row["device_type"]),
                            key=lambda d: (-dev_m[d]["conversion_rate"], d))
            extra["other_device_type"] = others[0] if others else None
            extra["other_device_conversion_rate"] = dev_m[others[0]]["conversion_rate"] if others else None
        row["recommended_action"] = text_for({**row, **extra})
    return out


def candidate_count(summary_rows: dict[tuple[Any, ...], dict[str, Any]], lookback: int) -> int:
    """m of the q-values: every device and every segment with sessions in the window."""
    window = set(sorted({k[0] for k in summary_rows})[-lookback:])
    keys = [k for k in summary_rows if k[0] in window]
    return len({k[3] for k in keys}) + len({k[1:] for k in keys})


def recent_test_count(summary_rows: dict[tuple[Any, ...], dict[str, Any]], lookback: int, recent: int) -> int:
    """r of the family: every device and every segment with sessions in the recent months of the window."""
    end = max(k[0] for k in summary_rows)
    window = set(sorted({k[0] for k in summary_rows})[-lookback:])
    keys = [k for k in summary_rows if k[0] in window and k[0] >= _add_months(end, -(recent - 1))]
    return len({k[3] for k in keys}) + len({k[1:] for k in keys})
