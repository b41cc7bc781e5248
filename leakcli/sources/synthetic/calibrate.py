"""Derive the generator's calibration (monthly aggregates only) from the real Maven CSVs.

    python -m leakcli.sources.synthetic.calibrate ../shared/datasets/maven-fuzzy-factory/raw

writes leakcli/sources/synthetic/calibration.json: per month and traffic cell the numbers of sessions,
orders and repeat sessions; per month the product mix, the pageview depth of sessions that do not
order and the share of the new billing page; per month and product the refund rate; the product
catalogue and the data dictionary. No individual row of the data is kept.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from leakcli.engine.connection import connect, rows_as_tuples

if TYPE_CHECKING:
    from leakcli.engine.connection import Connection

OUT = Path(__file__).with_name("calibration.json")


def _plain(v: object) -> object:
    if hasattr(v, "hour"):
        return v.isoformat(sep=" ")  # type: ignore[attr-defined]
    return v.isoformat() if hasattr(v, "isoformat") else v


def rows(con: Connection, sql: str, params: dict[str, object]) -> list[dict[str, object]]:
    names, found = rows_as_tuples(con, sql, params)
    return [dict(zip(names, [_plain(v) for v in r], strict=True)) for r in found]


def main(raw: Path) -> None:
    con = connect()
    p = {k: str(raw / f"{k}.csv") for k in ("website_sessions", "website_pageviews", "orders",
                                             "order_items", "order_item_refunds", "products")}
    p["dictionary"] = str(raw / "maven_fuzzy_factory_data_dictionary.csv")
    con.execute("create table s as select * from read_csv($p, nullstr='NULL')", {"p": p["website_sessions"]})
    con.execute("create table pv as select * from read_csv($p)", {"p": p["website_pageviews"]})
    con.execute("create table o as select * from read_csv($p)", {"p": p["orders"]})
    con.execute("create table oi as select * from read_csv($p)", {"p": p["order_items"]})
    con.execute("create table r as select * from read_csv($p)", {"p": p["order_item_refunds"]})
    con.execute("""create table sess as
        select s.*, cast(date_trunc('month', s.created_at) as date) as month, lp.landing_page,
               lp.depth, o.order_id is not null as converted
        from s
        left join (select website_session_id, arg_min(pageview_url, website_pageview_id) as landing_page,
                   count(*) as depth from pv group by 1) lp using (website_session_id)
        left join o using (website_session_id)""")
    calib = {
        "source": "monthly aggregates of the Maven Fuzzy Factory dataset",
        "products": rows(con, """select p.product_id, p.created_at, p.product_name, i.price_usd, i.cogs_usd
            from read_csv($p) p join (select distinct product_id, price_usd, cogs_usd from oi) i using (product_id)
            order by 1""", {"p": p["products"]}),
        "months": rows(con, """select m.month, m.first_ts, m.last_ts, coalesce(b.billing2_share, 0) as billing2_share,
              d.depth_weights
            from (select month, min(created_at) as first_ts, max(created_at) as last_ts from sess group by 1) m
            left join (select cast(date_trunc('month', created_at) as date) as month,
                       avg(case when pageview_url = '/billing-2' then 1.0 else 0.0 end) as billing2_share
                       from pv where pageview_url in ('/billing', '/billing-2') group by 1) b using (month)
            left join (select month, list(n order by depth) as depth_weights from
                       (select month, depth, count(*) as n from sess where not converted group by 1, 2)
                       group by 1) d using (month)
            order by 1""", {}),
        "cells": rows(con, """select month, utm_source, utm_campaign, utm_content, device_type, http_referer,
              landing_page, count(*) as sessions, count_if(converted) as orders,
              count_if(is_repeat_session = 1) as repeat_sessions
            from sess group by all order by all""", {}),
        "mix": rows(con, """select cast(date_trunc('month', o.created_at) as date) as month, o.primary_product_id,
              (select min(product_id) from oi where oi.order_id = o.order_id and is_primary_item = 0)
                  as second_product_id,
              count(*) as orders
            from o group by all order by all""", {}),
        "refunds": rows(con, """select cast(date_trunc('month', oi.created_at) as date) as month, oi.product_id,
              count(*) as items, count(r.order_item_refund_id) as refunded
            from oi left join r using (order_item_id) group by all order by all""", {}),
        "refund_days": rows(con, """select min(datediff('day', o.created_at, r.created_at)) as min_days,
              max(datediff('day', o.created_at, r.created_at)) as max_days from r join o using (order_id)""", {})[0],
        "dictionary": rows(con, "select * from read_csv($p, all_varchar=true)", {"p": p["dictionary"]}),
    }
    OUT.write_text(json.dumps(calib, separators=(",", ":")) + "\n", "utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes, {len(calib['cells'])} cells)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
