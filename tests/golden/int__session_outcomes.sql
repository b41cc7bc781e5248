-- title: compiled int__session_outcomes (regenerate with LEAKCLI_REGOLD=1 and review the diff)
-- One row per session with its segment keys and what it earned, net of refunds.
-- Joins, keys and what an unmatched row becomes: contracts/join-contracts.json.
select
    s.website_session_id,
    s.session_month,
    s.utm_source,
    s.utm_campaign,
    s.device_type,
    coalesce(lp.landing_page, 'unknown') as landing_page,
    o.order_id,
    o.order_id is not null as is_converted,
    cast(coalesce(o.price_usd, 0) as decimal(18, 2)) as gross_revenue_usd,
    cast(coalesce(r.refund_amount_usd, 0) as decimal(18, 2)) as refund_amount_usd,
    cast(coalesce(o.price_usd, 0) - coalesce(r.refund_amount_usd, 0) as decimal(18, 2)) as net_revenue_usd
from "stg__website_sessions" as s
left join "int__session_landing_pages" as lp on lp."website_session_id" = s."website_session_id"
left join "stg__orders" as o on o."website_session_id" = s."website_session_id"
left join "int__order_refunds" as r on r."order_id" = o."order_id"
