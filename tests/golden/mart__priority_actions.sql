-- title: compiled mart__priority_actions (regenerate with LEAKCLI_REGOLD=1 and review the diff)
-- The actions to take first, over the latest priority_lookback_months months of the summary: one
-- per device whose device gap is positive (fix the device experience) and one per segment whose own
-- gap is positive (fix the page or the bid), ranked together by their gap. Sums, rates recomputed
-- from the sums, the window's site and device baselines, the leaks, the primary leak and the
-- catalog's recommended action. Rules: contracts/metric-catalog.json#/priority.
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

site_baseline as (
    select
        window_start_month,
        window_end_month,
        (cast(orders as double) / nullif(sessions, 0)) as "baseline_conversion_rate",
        (case when orders = 0 then 0 else cast(gross_revenue_usd as double) / orders end) as "baseline_average_order_value_usd",
        (cast(net_revenue_usd as double) / nullif(sessions, 0)) as "baseline_net_revenue_per_session_usd",
        (case when gross_revenue_usd = 0 then 0 else cast(refund_amount_usd as double) / cast(gross_revenue_usd as double) end) as "baseline_refund_rate"
    from (
        select
            min(session_month) as window_start_month,
            max(session_month) as window_end_month,
            cast(sum("sessions") as BIGINT) as "sessions",
        cast(sum("orders") as BIGINT) as "orders",
        cast(sum("gross_revenue_usd") as DECIMAL(18,2)) as "gross_revenue_usd",
        cast(sum("refund_amount_usd") as DECIMAL(18,2)) as "refund_amount_usd",
        cast(sum("net_revenue_usd") as DECIMAL(18,2)) as "net_revenue_usd"
        from in_window
    )
),

device_baseline as (
    select
        device_type,
        (cast(orders as double) / nullif(sessions, 0)) as "device_conversion_rate",
        (case when orders = 0 then 0 else cast(gross_revenue_usd as double) / orders end) as "device_average_order_value_usd",
        (cast(net_revenue_usd as double) / nullif(sessions, 0)) as "device_net_revenue_per_session_usd",
        (case when gross_revenue_usd = 0 then 0 else cast(refund_amount_usd as double) / cast(gross_revenue_usd as double) end) as "device_refund_rate"
    from (
        select device_type, cast(sum("sessions") as BIGINT) as "sessions",
        cast(sum("orders") as BIGINT) as "orders",
        cast(sum("gross_revenue_usd") as DECIMAL(18,2)) as "gross_revenue_usd",
        cast(sum("refund_amount_usd") as DECIMAL(18,2)) as "refund_amount_usd",
        cast(sum("net_revenue_usd") as DECIMAL(18,2)) as "net_revenue_usd"
        from in_window
        group by all
    )
),

device_actions as (
    select
        'device' as action_scope,
        '(all)' as utm_source,
        '(all)' as utm_campaign,
        device_type,
        '(all)' as landing_page,
        cast(sum("sessions") as BIGINT) as "sessions",
        cast(sum("orders") as BIGINT) as "orders",
        cast(sum("gross_revenue_usd") as DECIMAL(18,2)) as "gross_revenue_usd",
        cast(sum("refund_amount_usd") as DECIMAL(18,2)) as "refund_amount_usd",
        cast(sum("net_revenue_usd") as DECIMAL(18,2)) as "net_revenue_usd",
        cast(0 as bigint) as months_flagged,
        cast(0 as double) as conversion_leak_usd,
        cast(0 as double) as order_value_leak_usd,
        cast(0 as double) as refund_leak_usd,
        sum(revenue_gap_usd) as revenue_gap_usd,
        sum(device_gap_usd) as device_gap_usd,
        sum(segment_gap_usd) as segment_gap_usd,
        sum("device_gap_usd") as gap_usd
    from in_window
    group by device_type
),

segment_actions as (
    select
        'segment' as action_scope,
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
        sum(revenue_gap_usd) as revenue_gap_usd,
        sum(device_gap_usd) as device_gap_usd,
        sum(segment_gap_usd) as segment_gap_usd,
        sum("segment_gap_usd") as gap_usd
    from in_window
    group by utm_source, utm_campaign, device_type, landing_page
),

actions as (
    select * from device_actions where (device_gap_usd > 0)
    union all
    select * from segment_actions where (segment_gap_usd > 0)
),

other_device as (
    select
        d.device_type,
        o.device_type as other_device_type,
        o.device_conversion_rate as other_device_conversion_rate
    from device_baseline as d
    inner join device_baseline as o on o.device_type <> d.device_type
    qualify row_number() over (
        partition by d.device_type
        order by o.device_conversion_rate desc, o.device_type
    ) = 1
),

measured as (
    select
        a.*,
        (cast(orders as double) / nullif(sessions, 0)) as "conversion_rate",
        (case when orders = 0 then 0 else cast(gross_revenue_usd as double) / orders end) as "average_order_value_usd",
        (cast(net_revenue_usd as double) / nullif(sessions, 0)) as "net_revenue_per_session_usd",
        (case when gross_revenue_usd = 0 then 0 else cast(refund_amount_usd as double) / cast(gross_revenue_usd as double) end) as "refund_rate",
        b.*,
        d.* exclude (device_type),
        o.* exclude (device_type)
    from actions as a
    cross join site_baseline as b
    inner join device_baseline as d using (device_type)
    left join other_device as o using (device_type)
),

decided as (
    select
        *,
        case when action_scope = 'device' then 'device' when conversion_leak_usd >= order_value_leak_usd and conversion_leak_usd >= refund_leak_usd then 'conversion' when order_value_leak_usd >= refund_leak_usd then 'order_value' else 'refund_drag' end as primary_leak,
        (gap_usd / sum(gap_usd) over ()) as share_of_total_gap
    from measured
)

select
    row_number() over (order by "gap_usd" desc, "action_scope" asc, "utm_source" asc, "utm_campaign" asc, "device_type" asc, "landing_page" asc) as priority_rank,
    action_scope,
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
    device_conversion_rate,
    device_average_order_value_usd,
    device_net_revenue_per_session_usd,
    device_refund_rate,
    conversion_leak_usd,
    order_value_leak_usd,
    refund_leak_usd,
    revenue_gap_usd,
    device_gap_usd,
    segment_gap_usd,
    gap_usd,
    share_of_total_gap,
    primary_leak,
    case primary_leak when 'device' then concat((upper(left("device_type", 1)) || substr("device_type", 2)), ' converts at ', (format('{:.1f}%', cast("conversion_rate" as double) * 100)), ' vs ', (format('{:.1f}%', cast("other_device_conversion_rate" as double) * 100)), ' on ', (cast("other_device_type" as varchar)), ' and ', (format('{:.1f}%', cast("baseline_conversion_rate" as double) * 100)), ' site-wide (', (strftime("window_start_month", '%Y-%m')), '..', (strftime("window_end_month", '%Y-%m')), '): fix the ', (cast("device_type" as varchar)), ' experience before single pages.') when 'conversion' then concat('Conversion leak on ', (cast("utm_source" as varchar)), '/', (cast("utm_campaign" as varchar)), ' ', (cast("device_type" as varchar)), ' landing on ', (cast("landing_page" as varchar)), ': ', (format('{:.1f}%', cast("conversion_rate" as double) * 100)), ' vs ', (format('{:.1f}%', cast("device_conversion_rate" as double) * 100)), ' for ', (cast("device_type" as varchar)), '; fix the page or the bid.') when 'order_value' then concat('Order value leak on ', (cast("utm_source" as varchar)), '/', (cast("utm_campaign" as varchar)), ' ', (cast("device_type" as varchar)), ' landing on ', (cast("landing_page" as varchar)), ': ', (format('${:.2f}', cast("average_order_value_usd" as double))), ' per order vs ', (format('${:.2f}', cast("device_average_order_value_usd" as double))), ' for ', (cast("device_type" as varchar)), '; review the offer and cross-sell on the page.') when 'refund_drag' then concat('Refund drag on ', (cast("utm_source" as varchar)), '/', (cast("utm_campaign" as varchar)), ' ', (cast("device_type" as varchar)), ' landing on ', (cast("landing_page" as varchar)), ': ', (format('{:.1f}%', cast("refund_rate" as double) * 100)), ' of revenue refunded vs ', (format('{:.1f}%', cast("device_refund_rate" as double) * 100)), ' for ', (cast("device_type" as varchar)), '; check what the page promises against the product.') end as recommended_action
from decided
order by priority_rank
