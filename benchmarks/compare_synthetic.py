"""Compare a generated dataset with the real one, quarter by quarter.

    python benchmarks/compare_synthetic.py SYNTHETIC_DIR [REAL_DIR]

Prints sessions, orders, revenue and refund amount per quarter for both, with the relative
difference; exits 1 when any figure differs by more than 10%.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

QUERY = """
with s as (select date_trunc('quarter', created_at) as q, count(*) as sessions
           from read_csv($dir || '/website_sessions.csv', nullstr = 'NULL') group by 1),
     o as (select date_trunc('quarter', created_at) as q, count(*) as orders, sum(price_usd) as revenue
           from read_csv($dir || '/orders.csv') group by 1),
     r as (select date_trunc('quarter', o.created_at) as q, sum(r.refund_amount_usd) as refunds
           from read_csv($dir || '/order_item_refunds.csv') as r
           join read_csv($dir || '/orders.csv') as o using (order_id) group by 1)
select cast(s.q as date) as quarter, sessions, coalesce(orders, 0) as orders,
       coalesce(revenue, 0) as revenue, coalesce(refunds, 0) as refunds
from s left join o using (q) left join r using (q) order by 1
"""


def figures(path: Path) -> dict[str, tuple[float, ...]]:
    rows = duckdb.execute(QUERY, {"dir": str(path)}).fetchall()
    return {str(r[0]): tuple(float(x) for x in r[1:]) for r in rows}


def main() -> int:
    syn = Path(sys.argv[1])
    real = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("../shared/datasets/maven-fuzzy-factory/raw")
    a, b = figures(real), figures(syn)
    names = ("sessions", "orders", "revenue", "refunds")
    worst = 0.0
    print("| quarter | " + " | ".join(f"{n} real | {n} synthetic | diff" for n in names) + " |")
    print("|---" * (1 + 3 * len(names)) + "|")
    for q in sorted(set(a) | set(b)):
        ra, rb = a.get(q, (0.0,) * 4), b.get(q, (0.0,) * 4)
        cells = []
        for x, y in zip(ra, rb, strict=True):
            diff = (y - x) / x if x else (0.0 if y == 0 else float("inf"))
            worst = max(worst, abs(diff))
            cells.append(f"{x:,.0f} | {y:,.0f} | {diff:+.1%}")
        print(f"| {q} | " + " | ".join(cells) + " |")
    print(f"\nlargest difference: {worst:.1%}")
    return 0 if worst <= 0.10 else 1


if __name__ == "__main__":
    sys.exit(main())
