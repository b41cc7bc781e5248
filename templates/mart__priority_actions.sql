-- One row per segment that lost revenue over the latest priority_lookback_months months of the
-- summary: sums, rates recomputed from the sums, the window's site-wide baseline, the leaks,
-- the primary leak and the catalog's recommended action. Rules: contracts/metric-catalog.json#/priority.
with summary as (
    select * from {{ ref('mart__core_leak_summary') }}
),

window_months as (
    select distinct session_month
    from summary
    order by session_month desc
    limit {{ var('priority_lookback_months') }}
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
        {{ totals() }},
        cast(count_if({{ any_flag() }}) as bigint) as months_flagged,
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
        {{ totals() }}
    from in_window
),

baseline as (
    select
        window_start_month,
        window_end_month,
        {{ measure_columns(baseline_prefix()) }}
    from window_totals
),

kept as (
    select
        t.*,
        {{ measure_columns() }},
        b.*
    from segment_totals as t
    cross join baseline as b
    where {{ priority_keep() }}
),

decided as (
    select
        *,
        {{ primary_leak() }} as primary_leak,
        {{ metric('share_of_total_gap') }} as share_of_total_gap
    from kept
)

select
    row_number() over (order by {{ priority_order() }}) as priority_rank,
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
    {{ recommended_action() }} as recommended_action
from decided
order by priority_rank
