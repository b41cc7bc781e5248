"""An independent computation of LEAK-SPEC §6-7 in plain Python, from the CSV files.

Revision 2 of §6-7: each segment against its month's site and device baselines.
It shares no code with leakcli: it reads the CSVs with the csv module, computes every mart row with
Decimal money and float rates, and is what the end-to-end tests compare the marts with.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _null(v: str) -> str | None:
    return None if v == "NULL" else v


def summary(raw: Path, t: dict[str, float]) -> dict[tuple[Any, ...], dict[str, Any]]:
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
        orders[int(r["website_session_id"])] = (int(r["order_id"]), Decimal(r["price_usd"]))
    refunds: dict[int, Decimal] = defaultdict(Decimal)
    for r in _read(raw / "order_item_refunds.csv"):
        refunds[int(r["order_id"])] += Decimal(r["refund_amount_usd"])
    seg: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, 0, Decimal(0), Decimal(0)])
    for sid, (month, src, camp, dev) in sessions.items():
        key = (month, src, camp, dev, landing[sid][1] if sid in landing else "unknown")
        acc = seg[key]
        acc[0] += 1
        if sid in orders:
            oid, price = orders[sid]
            acc[1] += 1
            acc[2] += price
            acc[3] += refunds.get(oid, Decimal(0))
    months: dict[dt.date, list[Any]] = defaultdict(lambda: [0, 0, Decimal(0), Decimal(0)])
    devices: dict[tuple[dt.date, str], list[Any]] = defaultdict(lambda: [0, 0, Decimal(0), Decimal(0)])
    for key, acc in seg.items():
        for i in range(4):
            months[key[0]][i] += acc[i]
            devices[(key[0], key[3])][i] += acc[i]
    out = {}
    for key, (n, o, g, r) in seg.items():
        row = measures(n, o, g, r)
        row.update(_prefixed("baseline_", measures(*months[key[0]])))
        row.update(_prefixed("device_", measures(*devices[(key[0], key[3])])))
        row.update(leaks(row))
        ci = _idx(row["conversion_rate"], row["device_conversion_rate"])
        ni = _idx(row["net_revenue_per_session_usd"], row["device_net_revenue_per_session_usd"])
        ri = _idx(row["refund_rate"], row["device_refund_rate"])
        row.update(conversion_index=ci, net_revenue_index=ni, refund_index=ri,
                   is_low_conversion=n >= t["min_sessions"] and ci is not None and ci < t["low_conversion_index"],
                   is_weak_net_revenue=n >= t["min_sessions"] and ni is not None and ni < t["weak_net_revenue_index"],
                   is_high_refund_drag=o >= t["min_orders"] and ri is not None and ri > t["high_refund_index"])
        out[key] = row
    return out


RATES = ("conversion_rate", "average_order_value_usd", "net_revenue_per_session_usd", "refund_rate")


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
    """Revision 2: the gap to the site splits into the device's part and the segment's own part;
    the segment's part splits into three leaks measured against the device."""
    n = row["sessions"]
    cvr, aov, nrps, rr = (row[k] for k in RATES)
    cd, ad, nd, rd = (row["device_" + k] for k in RATES)
    nb = row["baseline_net_revenue_per_session_usd"]
    return {"conversion_leak_usd": (cd - cvr) * ad * (1 - rd) * n,
            "order_value_leak_usd": cvr * (ad - aov) * (1 - rd) * n,
            "refund_leak_usd": cvr * aov * (rr - rd) * n,
            "revenue_gap_usd": (nb - nrps) * n,
            "device_gap_usd": (nb - nd) * n,
            "segment_gap_usd": (nd - nrps) * n}


SEGMENT = "{s}/{c} {d} landing on {p}"
ACTIONS = {
    "conversion": "Conversion leak on " + SEGMENT + ": {x:.1f}% vs {y:.1f}% for {d}; fix the page or the bid.",
    "order_value": "Order value leak on " + SEGMENT + ": ${x:.2f} per order vs ${y:.2f} for {d}; "
                   "review the offer and cross-sell on the page.",
    "refund_drag": "Refund drag on " + SEGMENT + ": {x:.1f}% of revenue refunded vs {y:.1f}% for {d}; "
                   "check what the page promises against the product.",
}
DEVICE_ACTION = ("{D} converts at {x:.1f}% vs {y:.1f}% on {other} and {z:.1f}% site-wide ({start}..{end}): "
                 "fix the {d} experience before single pages.")
LEAKS = ("conversion", "order_value", "refund_drag")
ALL = "(all)"


def _new() -> dict[str, Any]:
    return {"n": 0, "o": 0, "g": Decimal(0), "r": Decimal(0), "flagged": 0, "gap": 0.0, "dgap": 0.0,
            "sgap": 0.0, **dict.fromkeys(LEAKS, 0.0)}


def priority(summary_rows: dict[tuple[Any, ...], dict[str, Any]], lookback: int) -> list[dict[str, Any]]:
    window = sorted({k[0] for k in summary_rows})[-lookback:]
    segs: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(_new)
    devs: dict[str, dict[str, Any]] = defaultdict(_new)
    site = _new()
    for key, row in summary_rows.items():
        if key[0] not in window:
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
    base = measures(site["n"], site["o"], site["g"], site["r"])
    dev_m = {d: measures(a["n"], a["o"], a["g"], a["r"]) for d, a in devs.items()}
    actions = [("device", (ALL, ALL, d, ALL), a, a["dgap"]) for d, a in devs.items() if a["dgap"] > 0]
    actions += [("segment", k, a, a["sgap"]) for k, a in segs.items() if a["sgap"] > 0]
    actions.sort(key=lambda x: (-x[3], x[0], x[1]))
    gap_sum = sum(x[3] for x in actions)
    first, last = window[0].strftime("%Y-%m"), window[-1].strftime("%Y-%m")
    out = []
    for rank, (scope, key, a, gap) in enumerate(actions, start=1):
        m = measures(a["n"], a["o"], a["g"], a["r"])
        dm = dev_m[key[2]]
        if scope == "device":
            others = sorted((d for d in dev_m if d != key[2]), key=lambda d: (-dev_m[d]["conversion_rate"], d))
            leak = "device"
            text = DEVICE_ACTION.format(D=key[2][:1].upper() + key[2][1:], d=key[2], other=others[0],
                                        x=m["conversion_rate"] * 100,
                                        y=dev_m[others[0]]["conversion_rate"] * 100,
                                        z=base["conversion_rate"] * 100, start=first, end=last)
            leak_values = dict.fromkeys(LEAKS, 0.0)
        else:
            leak = max(LEAKS, key=lambda n: (a[n], -LEAKS.index(n)))  # ties: the first in LEAKS
            x, y = {"conversion": (m["conversion_rate"] * 100, dm["conversion_rate"] * 100),
                    "order_value": (m["average_order_value_usd"], dm["average_order_value_usd"]),
                    "refund_drag": (m["refund_rate"] * 100, dm["refund_rate"] * 100)}[leak]
            text = ACTIONS[leak].format(s=key[0], c=key[1], d=key[2], p=key[3], x=x, y=y)
            leak_values = {n: a[n] for n in LEAKS}
        out.append({"priority_rank": rank, "action_scope": scope, "utm_source": key[0], "utm_campaign": key[1],
                    "device_type": key[2], "landing_page": key[3],
                    "window_start_month": window[0], "window_end_month": window[-1],
                    "months_flagged": a["flagged"] if scope == "segment" else 0,
                    **m, **_prefixed("baseline_", base), **_prefixed("device_", dm),
                    "conversion_leak_usd": leak_values["conversion"],
                    "order_value_leak_usd": leak_values["order_value"],
                    "refund_leak_usd": leak_values["refund_drag"],
                    "revenue_gap_usd": a["gap"], "device_gap_usd": a["dgap"], "segment_gap_usd": a["sgap"],
                    "gap_usd": gap, "share_of_total_gap": gap / gap_sum, "primary_leak": leak,
                    "recommended_action": text})
    return out
