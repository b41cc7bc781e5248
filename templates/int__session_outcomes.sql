-- One row per session with its segment keys and what it earned, net of refunds.
-- Joins, keys and what an unmatched row becomes: contracts/join-contracts.json.
select
    s.website_session_id,
    s.session_month,
    s.utm_source,
    s.utm_campaign,
    s.device_type,
    coalesce(lp.landing_page, {{ var('unknown_landing_page') }}) as landing_page,
    o.order_id,
    o.order_id is not null as is_converted,
    cast(coalesce(o.price_usd, 0) as decimal(18, 2)) as gross_revenue_usd,
    cast(coalesce(r.refund_amount_usd, 0) as decimal(18, 2)) as refund_amount_usd,
    cast(coalesce(o.price_usd, 0) - coalesce(r.refund_amount_usd, 0) as decimal(18, 2)) as net_revenue_usd
from {{ ref('stg__website_sessions') }} as s
{{ join('session_landing_page') }}
{{ join('session_order') }}
{{ join('order_refunds') }}
