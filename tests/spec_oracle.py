"""An independent computation of LEAK-SPEC §6-7 in plain Python, from the CSV files.

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
    for key, acc in seg.items():
        for i in range(4):
            months[key[0]][i] += acc[i]
    out = {}
    for key, (n, o, g, r) in seg.items():
        row = measures(n, o, g, r)
        base = measures(*months[key[0]])
        row.update({f"baseline_{k}": v for k, v in base.items()
                    if k in ("conversion_rate", "average_order_value_usd",
                             "net_revenue_per_session_usd", "refund_rate")})
        row.update(leaks(row))
        ci = _idx(row["conversion_rate"], row["baseline_conversion_rate"])
        ni = _idx(row["net_revenue_per_session_usd"], row["baseline_net_revenue_per_session_usd"])
        ri = _idx(row["refund_rate"], row["baseline_refund_rate"])
        row.update(conversion_index=ci, net_revenue_index=ni, refund_index=ri,
                   is_low_conversion=n >= t["min_sessions"] and ci is not None and ci < t["low_conversion_index"],
                   is_weak_net_revenue=n >= t["min_sessions"] and ni is not None and ni < t["weak_net_revenue_index"],
                   is_high_refund_drag=o >= t["min_orders"] and ri is not None and ri > t["high_refund_index"])
        out[key] = row
    return out


def _idx(x: float, b: float) -> float | None:
    return None if b == 0 else x / b


def measures(n: int, o: int, g: Decimal, r: Decimal) -> dict[str, Any]:
    return {"sessions": n, "orders": o, "gross_revenue_usd": g, "refund_amount_usd": r,
            "net_revenue_usd": g - r, "conversion_rate": o / n,
            "average_order_value_usd": 0.0 if o == 0 else float(g) / o,
            "net_revenue_per_session_usd": float(g - r) / n,
            "refund_rate": 0.0 if g == 0 else float(r) / float(g)}


def leaks(row: dict[str, Any]) -> dict[str, float]:
    n = row["sessions"]
    cvr, aov, rr = row["conversion_rate"], row["average_order_value_usd"], row["refund_rate"]
    cb, ab, rb = (row["baseline_conversion_rate"], row["baseline_average_order_value_usd"],
                  row["baseline_refund_rate"])
    return {"conversion_leak_usd": (cb - cvr) * ab * (1 - rb) * n,
            "order_value_leak_usd": cvr * (ab - aov) * (1 - rb) * n,
            "refund_leak_usd": cvr * aov * (rr - rb) * n,
            "revenue_gap_usd": (row["baseline_net_revenue_per_session_usd"]
                                - row["net_revenue_per_session_usd"]) * n}


SEGMENT = "{s}/{c} {d} landing on {p}"
ACTIONS = {
    "conversion": "Conversion leak on " + SEGMENT + ": {x:.1f}% vs {y:.1f}% site-wide; fix the page or the bid.",
    "order_value": "Order value leak on " + SEGMENT + ": ${x:.2f} per order vs ${y:.2f} site-wide; "
                   "review the offer and cross-sell on the page.",
    "refund_drag": "Refund drag on " + SEGMENT + ": {x:.1f}% of revenue refunded vs {y:.1f}% site-wide; "
                   "check what the page promises against the product.",
}
LEAKS = ("conversion", "order_value", "refund_drag")


def priority(summary_rows: dict[tuple[Any, ...], dict[str, Any]], lookback: int) -> list[dict[str, Any]]:
    window = sorted({k[0] for k in summary_rows})[-lookback:]
    segs: dict[tuple[Any, ...], dict[str, Any]] = {}
    total = [0, 0, Decimal(0), Decimal(0)]
    for key, row in summary_rows.items():
        if key[0] not in window:
            continue
        acc = segs.setdefault(key[1:], {"n": 0, "o": 0, "g": Decimal(0), "r": Decimal(0), "flagged": 0,
                                        "gap": 0.0, **dict.fromkeys(LEAKS, 0.0)})
        acc["n"] += row["sessions"]
        acc["o"] += row["orders"]
        acc["g"] += row["gross_revenue_usd"]
        acc["r"] += row["refund_amount_usd"]
        acc["flagged"] += row["is_low_conversion"] or row["is_weak_net_revenue"] or row["is_high_refund_drag"]
        acc["conversion"] += row["conversion_leak_usd"]
        acc["order_value"] += row["order_value_leak_usd"]
        acc["refund_drag"] += row["refund_leak_usd"]
        acc["gap"] += row["revenue_gap_usd"]
        for i, k in enumerate(("sessions", "orders", "gross_revenue_usd", "refund_amount_usd")):
            total[i] += row[k]
    base = measures(*total)
    kept = [(k, a) for k, a in segs.items() if a["gap"] > 0]
    kept.sort(key=lambda ka: (-ka[1]["gap"], ka[0]))
    gap_sum = sum(a["gap"] for _, a in kept)
    out = []
    for rank, (key, a) in enumerate(kept, start=1):
        m = measures(a["n"], a["o"], a["g"], a["r"])
        leak = max(LEAKS, key=lambda n: (a[n], -LEAKS.index(n)))  # ties: the first in LEAKS
        x, y = {"conversion": (m["conversion_rate"] * 100, base["conversion_rate"] * 100),
                "order_value": (m["average_order_value_usd"], base["average_order_value_usd"]),
                "refund_drag": (m["refund_rate"] * 100, base["refund_rate"] * 100)}[leak]
        out.append({"priority_rank": rank, "utm_source": key[0], "utm_campaign": key[1],
                    "device_type": key[2], "landing_page": key[3], "months_flagged": a["flagged"],
                    **m, "conversion_leak_usd": a["conversion"], "order_value_leak_usd": a["order_value"],
                    "refund_leak_usd": a["refund_drag"], "revenue_gap_usd": a["gap"],
                    "share_of_total_gap": a["gap"] / gap_sum, "primary_leak": leak,
                    "recommended_action": ACTIONS[leak].format(s=key[0], c=key[1], d=key[2], p=key[3], x=x, y=y)})
    return out
