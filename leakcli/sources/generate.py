"""`generate`: a synthetic Maven Fuzzy Factory dataset with the real schema, written by DuckDB.

Calibrated on monthly aggregates of the real shop (leakcli/sources/synthetic/calibration.json): per month
and traffic cell (source, campaign, ad, device, referer, landing page) the numbers of sessions,
orders and repeat sessions; per month the product mix, the pageview depth of sessions that do not
order and the share of the new billing page; per month and product the refund rate. Every row is
drawn in SQL from `hash(seed, ...)`, so one seed always gives the same files and no Python loop
touches a row. Key relations hold by construction: every order's session exists and has the
order's user; an ordering session walks landing page -> /products -> product -> /cart ->
/shipping -> billing -> thank-you, ending at the order's time; refunds are whole items of their
order, never more than their price; no product sells before its launch.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from leakcli.contracts.documents import Engine
from leakcli.contracts.results import GenerateOutput
from leakcli.engine.connection import QueryError, StorageError, connect, count_rows, execute, no_space
from leakcli.errors import ExecutionError, UsageError, cannot_write
from leakcli.paths import Paths
from leakcli.store.layout import guard_folder, is_ours, mark, own_target

DEFAULT_SEED = 42
FILES = {
    "website_sessions": "website_sessions.csv",
    "website_pageviews": "website_pageviews.csv",
    "orders": "orders.csv",
    "order_items": "order_items.csv",
    "order_item_refunds": "order_item_refunds.csv",
    "products": "products.csv",
    "dictionary": "maven_fuzzy_factory_data_dictionary.csv",
}
PRODUCT_PAGES = {1: "/the-original-mr-fuzzy", 2: "/the-forever-love-bear",
                 3: "/the-birthday-sugar-panda", 4: "/the-hudson-river-mini-bear"}


@dataclass(frozen=True, kw_only=True)
class GenerateRequest:
    """What `leakcli generate` was asked: size, seed, folder and --force."""

    scale: float = 1.0
    seed: int = DEFAULT_SEED
    out: Path | None = None  # default: the embedded dataset under target/synthetic/
    force: bool = False  # replace an existing dataset (files leakcli did not write are kept)


@dataclass(frozen=True)
class GenerateResult:
    """The synthetic dataset written: its folder, size, seed, time and rows per file."""

    path: Path
    rows: dict[str, int]
    seconds: float
    scale: float
    seed: int

    def to_dict(self) -> dict[str, object]:
        """`generate --json` (contracts/schemas/generate-output.schema.json)."""
        return GenerateOutput(path=str(self.path), scale=self.scale, seed=self.seed, seconds=round(self.seconds, 3),
                              rows=self.rows).document()


@cache
def calibration() -> dict[str, Any]:
    text = resources.files("leakcli.sources.synthetic").joinpath("calibration.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


# Each statement builds one temporary table; $seed and $scale are parameters.
STEPS: list[str] = [
    """create or replace temp table cell as
       select row_number() over (order by month, utm_source nulls first, utm_campaign nulls first,
              utm_content nulls first, device_type, http_referer nulls first, landing_page) as cell_id, *
       from cells_in""",
    """create or replace temp table cell_n as
       select *, least(n_sessions, cast(floor(orders * $scale + u(cell_id, 0, 2)) as bigint)) as n_orders
       from (select *, cast(floor(sessions * $scale + u(cell_id, 0, 1)) as bigint) as n_sessions from cell)""",
    # one row per session; the first n_orders of each cell order
    """create or replace temp table s0 as
       select c.cell_id, g.k, c.month, c.utm_source, c.utm_campaign, c.utm_content, c.device_type,
              c.http_referer, c.landing_page, g.k < c.n_orders as converted,
              u(c.cell_id, g.k, 3) < c.repeat_sessions / c.sessions as is_repeat,
              m.first_ts + to_seconds(cast(floor(u(c.cell_id, g.k, 4)
                  * (epoch(m.last_ts) - epoch(m.first_ts) - 1200)) as bigint)) as created_at
       from cell_n as c
       join months_in as m using (month), range(c.n_sessions) as g(k)""",
    """create or replace temp table s1 as
       select row_number() over (order by created_at, cell_id, k) as website_session_id, *
       from s0""",
    """create or replace temp table sessions as
       select *, case when is_repeat and new_users > 0
                      then 1 + cast(floor(u(website_session_id, 0, 5) * new_users) as bigint)
                      else new_users + 1 end as user_id
       from (select *, sum(case when is_repeat then 0 else 1 end) over (order by website_session_id)
                 - case when is_repeat then 0 else 1 end as new_users from s1)""",
    # product of each session (what it orders, or the product page it looks at)
    """create or replace temp table mix as
       select month, primary_product_id, second_product_id,
              coalesce(sum(orders) over (partition by month order by primary_product_id,
                  second_product_id nulls first rows between unbounded preceding and 1 preceding), 0)
                  / sum(orders) over (partition by month) as lo,
              sum(orders) over (partition by month order by primary_product_id,
                  second_product_id nulls first rows between unbounded preceding and current row)
                  / sum(orders) over (partition by month) as hi
       from mix_in""",
    """create or replace temp table depth as
       select month, d as depth, coalesce(sum(w) over (partition by month order by d
                  rows between unbounded preceding and 1 preceding), 0) / sum(w) over (partition by month) as lo,
              sum(w) over (partition by month order by d) / sum(w) over (partition by month) as hi
       from (select month, unnest(depth_weights) as w, generate_subscripts(depth_weights, 1) as d
             from months_in)""",
    """create or replace temp table s2 as
       select s.*, coalesce(x.primary_product_id, 1) as pick_primary, x.second_product_id as pick_second,
              case when s.converted then 7 else coalesce(d.depth, 1) end as depth,
              case when u(s.website_session_id, 0, 8) < m.billing2_share then '/billing-2'
                   else '/billing' end as billing_page
       from sessions as s
       join months_in as m using (month)
       left join mix as x on x.month = s.month and u(s.website_session_id, 0, 6) >= x.lo
            and u(s.website_session_id, 0, 6) < x.hi
       left join depth as d on d.month = s.month and u(s.website_session_id, 0, 7) >= d.lo
            and u(s.website_session_id, 0, 7) < d.hi""",
    # pageviews: the first `depth` steps of the path, 30..120 seconds apart
    """create or replace temp table pv0 as
       select s.website_session_id, g.j,
              case g.j when 0 then s.landing_page when 1 then '/products' when 2 then p.page
                       when 3 then '/cart' when 4 then '/shipping' when 5 then s.billing_page
                       else '/thank-you-for-your-order' end as pageview_url,
              s.created_at + to_seconds(cast(sum(case when g.j = 0 then 0
                  else 30 + floor(u(s.website_session_id, g.j, 9) * 90) end)
                  over (partition by s.website_session_id order by g.j) as bigint)) as created_at
       from s2 as s
       join product_pages as p on p.product_id = s.pick_primary, range(s.depth) as g(j)""",
    """create or replace temp table pageviews as
       select row_number() over (order by created_at, website_session_id, j) as website_pageview_id, *
       from pv0""",
    # orders at the time of the thank-you page; products not yet launched fall back to the first
    """create or replace temp table o0 as
       select s.website_session_id, s.user_id, v.created_at,
              case when p1.created_at <= v.created_at then s.pick_primary else 1 end as primary_product_id,
              case when p1.created_at <= v.created_at and p2.created_at <= v.created_at
                   then s.pick_second end as second_product_id
       from s2 as s
       join pv0 as v on v.website_session_id = s.website_session_id and v.j = 6
       left join products_in as p1 on p1.product_id = s.pick_primary
       left join products_in as p2 on p2.product_id = s.pick_second
       where s.converted""",
    """create or replace temp table items as
       select o.*, row_number() over (order by o.created_at, o.website_session_id) as order_id
       from o0 as o""",
    """create or replace temp table order_items as
       select row_number() over (order by i.order_id, x.is_primary desc) as order_item_id, i.created_at,
              i.order_id, x.product_id, x.is_primary, p.price_usd, p.cogs_usd,
              cast(date_trunc('month', i.created_at) as date) as month
       from items as i,
            (select 1 as is_primary, i.primary_product_id as product_id
             union all select 0, i.second_product_id where i.second_product_id is not null) as x
       join products_in as p on p.product_id = x.product_id""",
    """create or replace temp table orders as
       select i.order_id, i.created_at, i.website_session_id, i.user_id, i.primary_product_id,
              count(*) as items_purchased, cast(sum(oi.price_usd) as decimal(10, 2)) as price_usd,
              cast(sum(oi.cogs_usd) as decimal(10, 2)) as cogs_usd
       from items as i join order_items as oi using (order_id)
       group by all""",
    # per month and product, the calibrated number of refunded items, drawn without replacement
    """create or replace temp table refunds as
       select row_number() over (order by created_at, order_item_id) as order_item_refund_id, *
       from (select oi.order_item_id, oi.order_id, oi.price_usd as refund_amount_usd,
                    oi.created_at + to_days(cast($min_days + floor(u(oi.order_item_id, 0, 10)
                        * ($max_days - $min_days + 1)) as integer))
                        + to_seconds(cast(floor(u(oi.order_item_id, 0, 11) * 86400) as bigint)) as created_at
             from (select *, row_number() over (partition by month, product_id
                          order by u(order_item_id, 0, 12), order_item_id) as draw
                   from order_items) as oi
             join refund_counts as r on r.month = oi.month and r.product_id = oi.product_id
             where oi.draw <= floor(r.refunded * $scale + u(r.product_id, epoch(r.month), 13)))""",
]

EXPORTS = {
    "website_sessions": """select website_session_id, created_at, user_id, cast(is_repeat as integer)
        as is_repeat_session, utm_source, utm_campaign, utm_content, device_type, http_referer
        from sessions order by website_session_id""",
    "website_pageviews": """select website_pageview_id, created_at, website_session_id, pageview_url
        from pageviews order by website_pageview_id""",
    "orders": """select order_id, created_at, website_session_id, user_id, primary_product_id,
        items_purchased, price_usd, cogs_usd from orders order by order_id""",
    "order_items": """select order_item_id, created_at, order_id, product_id, is_primary as is_primary_item,
        price_usd, cogs_usd from order_items order by order_item_id""",
    "order_item_refunds": """select order_item_refund_id, created_at, order_item_id, order_id,
        refund_amount_usd from refunds order by order_item_refund_id""",
    "products": "select product_id, created_at, product_name from products_in order by product_id",
    "dictionary": 'select "Table", "Field", "Description" from dictionary_in',
}


def _load_calibration(con: Any) -> None:
    cal = calibration()
    execute(con, "create or replace temp table cells_in as select unnest($x, recursive := true)",
                 {"x": cal["cells"]})
    execute(con, """create or replace temp table months_in as
        select cast(month as date) as month, cast(first_ts as timestamp) as first_ts,
               cast(last_ts as timestamp) as last_ts, billing2_share, depth_weights
        from (select unnest($x, recursive := true))""", {"x": cal["months"]})
    execute(con, "create or replace temp table mix_in as select cast(month as date) as month, "
                 "primary_product_id, second_product_id, orders from (select unnest($x, recursive := true))",
                 {"x": cal["mix"]})
    execute(con, "create or replace temp table refund_counts as select cast(month as date) as month, "
                 "product_id, refunded from (select unnest($x, recursive := true))",
                 {"x": cal["refunds"]})
    execute(con, "create or replace temp table products_in as select product_id, "
                 "cast(created_at as timestamp) as created_at, product_name, "
                 "cast(price_usd as decimal(10, 2)) as price_usd, cast(cogs_usd as decimal(10, 2)) as cogs_usd "
                 "from (select unnest($x, recursive := true))", {"x": cal["products"]})
    execute(con, "create or replace temp table product_pages as select unnest($ids) as product_id, "
                 "unnest($pages) as page", {"ids": list(PRODUCT_PAGES), "pages": list(PRODUCT_PAGES.values())})
    execute(con, "create or replace temp table dictionary_in as select unnest($x, recursive := true)",
                 {"x": cal["dictionary"]})


def generate(paths: Paths, req: GenerateRequest) -> GenerateResult:

    """Write a synthetic dataset with the real schema and key relations, deterministic for a seed:
    into a temporary folder first, then in place; an existing dataset is replaced only with --force."""
    if not req.scale > 0:
        raise UsageError(f"--scale must be greater than 0, got {req.scale}")
    out = Path.cwd() / (req.out if req.out is not None else paths.synthetic)  # absolute stays absolute
    _check_out(out, paths, embedded=req.out is None, force=req.force)
    started = time.perf_counter()
    cal = calibration()
    params_all = {"seed": req.seed, "scale": req.scale,
                  "min_days": cal["refund_days"]["min_days"], "max_days": cal["refund_days"]["max_days"]}
    con = connect(memory_limit=Engine().limit())  # the tables spill to disk past it: generation streams
    tmp = out.with_name(out.name + ".generating")
    try:
        _load_calibration(con)
        # uniform [0, 1) from the seed and three keys (macros take no parameters; the seed is an int)
        execute(con, f"create or replace temp macro u(a, b, c) as "
                     f"(hash({int(req.seed)}, a, b, c) % 1000000007) / 1000000007.0")
        for sql in STEPS:
            used = {k: v for k, v in params_all.items() if f"${k}" in sql}
            execute(con, sql, used)
        _clear(tmp)
        tmp.mkdir(parents=True)
        rows = {}
        for table, query in EXPORTS.items():
            target = tmp / FILES[table]
            execute(con, f"copy ({query}) to $path (format csv, header true, nullstr 'NULL', "
                         "timestampformat '%Y-%m-%d %H:%M:%S', quote '')", {"path": str(target)})
            rows[FILES[table]] = count_rows(con, f"({query})")
        mark(tmp, "synthetic dataset")
        _place(tmp, out)
    except StorageError as exc:
        _clear(tmp)
        raise ExecutionError(f"cannot write the dataset: {no_space(exc.detail) or exc.message}",
                             file=paths.rel(out), hint=exc.hint) from None
    except QueryError as exc:
        _clear(tmp)
        raise ExecutionError(f"generation failed: {exc.message}") from None
    except OSError as exc:
        _clear(tmp)
        raise cannot_write("the dataset", exc, paths.rel(out)) from None
    finally:
        con.close()
    return GenerateResult(out, rows, time.perf_counter() - started, req.scale, req.seed)


def ensure_synthetic(paths: Paths, *, force: bool = False) -> str:
    """Generate the embedded default dataset once under target/ (taking over a target/ leakcli did
    not create only with `force`, as apply would); return where it is."""
    if not all((paths.synthetic / f).exists() for f in FILES.values()):
        own_target(paths.target, force=force)
        generate(paths, GenerateRequest(force=True))
    return paths.rel(paths.synthetic)


def _check_out(out: Path, paths: Paths, *, embedded: bool, force: bool) -> None:
    """Refuse to write over an existing dataset or into a folder of someone else's without --force."""
    shown = paths.rel(out)
    if embedded:
        own_target(paths.target)
    guard_folder(out, shown, force=force, target=paths.target)
    if out.is_dir() and any(out.iterdir()) and not force:
        what = "the embedded synthetic dataset" if embedded else "a dataset"
        raise UsageError(f"holds {what} already; pass --force to replace it", file=shown)


def _place(tmp: Path, out: Path) -> None:
    """Move the generated files to `out`: a folder leakcli made is replaced whole; into anyone else's
    folder only the generated files go, and nothing else in it is touched."""
    if out.is_dir() and not is_ours(out) and any(out.iterdir()):
        for f in tmp.iterdir():
            os.replace(f, out / f.name)
        _clear(tmp)
        return
    _clear(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(out)


def _clear(path: Path) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path)
