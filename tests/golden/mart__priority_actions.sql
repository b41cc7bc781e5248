-- title: compiled mart__priority_actions (regenerate with LEAKCLI_REGOLD=1 and review the diff)
-- One row per segment that lost revenue over the latest priority_lookback_months months of the
-- summary: sums, rates recomputed from the sums, the window's site-wide baseline, the leaks,
-- the primary leak and the catalog's recommended action. Rules: contracts/metric-catalog.json#/priority.
with summary as (
    select * from "mart__core_leak_summary"
),

window_months as (
    select distinct session_month
    from summary
    order by session_month desc
    limit 12
),

in_window as (
    select s.*
    from summary as s
    inner join window_months as w on w.session_month = s.session_month
),

segment_totals as (
    select
        utm_source,
        utm_campaign,
        device_type,
        landing_page,
        cast(sum("sessions") as BIGINT) as "sessions",
        cast(sum("orders") as BIGINT) as "orders",
        cast(sum("gross_revenue_usd") as DECIMAL(18,2)) as "gross_revenue_usd",
        cast(sum("refund_amount_usd") as DECIMAL(18,2)) as "refund_amount_usd",
        cast(sum("net_revenue_usd") as DECIMAL(18,2)) as "net_revenue_usd",
        cast(count_if((is_low_conversion or is_weak_net_revenue or is_high_refund_drag)) as bigint) as months_flagged,
        sum(conversion_leak_usd) as conversion_leak_usd,
        sum(order_value_leak_usd) as order_value_leak_usd,
        sum(refund_leak_usd) as refund_leak_usd,
        sum(revenue_gap_usd) as revenue_gap_usd
    from in_window
    group by all
),

window_totals as (
    select
        min(session_month) as window_start_month,
        max(session_month) as window_end_month,
        cast(sum("sessions") as BIGINT) as "sessions",
        cast(sum("orders") as BIGINT) as "orders",
        cast(sum("gross_revenue_usd") as DECIMAL(18,2)) as "gross_revenue_usd",
        cast(sum("refund_amount_usd") as DECIMAL(18,2)) as "refund_amount_usd",
        cast(sum("net_revenue_usd") as DECIMAL(18,2)) as "net_revenue_usd"
    from in_window
),

baseline as (
    select
        window_start_month,
        window_end_month,
        (cast(orders as double) / nullif(sessions, 0)) as "baseline_conversion_rate",
        (case when orders = 0 then 0 else cast(gross_revenue_usd as double) / orders end) as "baseline_average_order_value_usd",
        (cast(net_revenue_usd as double) / nullif(sessions, 0)) as "baseline_net_revenue_per_session_usd",
        (case when gross_revenue_usd = 0 then 0 else cast(refund_amount_usd as double) / cast(gross_revenue_usd as double) end) as "baseline_refund_rate"
    from window_totals
),

kept as (
    select
        t.*,
        (cast(orders as double) / nullif(sessions, 0)) as "conversion_rate",
        (case when orders = 0 then 0 else cast(gross_revenue_usd as double) / orders end) as "average_order_value_usd",
        (cast(net_revenue_usd as double) / nullif(sessions, 0)) as "net_revenue_per_session_usd",
        (case when gross_revenue_usd = 0 then 0 else cast(refund_amount_usd as double) / cast(gross_revenue_usd as double) end) as "refund_rate",
        b.*
    from segment_totals as t
    cross join baseline as b
    where (revenue_gap_usd > 0)
),

decided as (
    select
        *,
        case when conversion_leak_usd >= order_value_leak_usd and conversion_leak_usd >= refund_leak_usd then 'conversion' when order_value_leak_usd >= refund_leak_usd then 'order_value' else 'refund_drag' end as primary_leak,
        (revenue_gap_usd / sum(revenue_gap_usd) over ()) as share_of_total_gap
    from kept
)

select
    row_number() over (order by "revenue_gap_usd" desc, "utm_source" asc, "utm_campaign" asc, "device_type" asc, "landing_page" asc) as priority_rank,
    utm_source,
    utm_campaign,
    device_type,
    landing_page,
    window_start_month,
    window_end_month,
    months_flagged,
    sessions,
    orders,
    gross_revenue_usd,
    refund_amount_usd,
    net_revenue_usd,
    conversion_rate,
    average_order_value_usd,
    net_revenue_per_session_usd,
    refund_rate,
    baseline_conversion_rate,
    baseline_average_order_value_usd,
    baseline_net_revenue_per_session_usd,
    baseline_refund_rate,
    conversion_leak_usd,
    order_value_leak_usd,
    refund_leak_usd,
    revenue_gap_usd,
    share_of_total_gap,
    primary_leak,
    case primary_leak when 'conversion' then format('Conversion leak on {}/{} {} landing on {}: {:.1f}% vs {:.1f}% site-wide; fix the page or the bid.', "utm_source", "utm_campaign", "device_type", "landing_page", "conversion_rate" * 100, "baseline_conversion_rate" * 100) when 'order_value' then format('Order value leak on {}/{} {} landing on {}: ${:.2f} per order vs ${:.2f} site-wide; review the offer and cross-sell on the page.', "utm_source", "utm_campaign", "device_type", "landing_page", cast("average_order_value_usd" as double), cast("baseline_average_order_value_usd" as double)) when 'refund_drag' then format('Refund drag on {}/{} {} landing on {}: {:.1f}% of revenue refunded vs {:.1f}% site-wide; check what the page promises against the product.', "utm_source", "utm_campaign", "device_type", "landing_page", "refund_rate" * 100, "baseline_refund_rate" * 100) end as recommended_action
from decided
order by priority_rank
