-- title: compiled mart__core_leak_summary (regenerate with LEAKCLI_REGOLD=1 and review the diff)
-- Segment x month: volumes, the four measures, the month's site and device baselines (with the
-- variance of one session's net revenue in each), indexes and flags against the device, and the
-- revenue gap split into what the device explains and what the segment owns (itself split into
-- three leaks). Formulas: contracts/metric-catalog.json.
with segment_totals as (
    select
        session_month,
        utm_source,
        utm_campaign,
        device_type,
        landing_page,
        count(*) as sessions,
        cast(count_if(is_converted) as bigint) as orders,
        cast(sum(gross_revenue_usd) as decimal(18, 2)) as gross_revenue_usd,
        cast(sum(refund_amount_usd) as decimal(18, 2)) as refund_amount_usd,
        cast(sum(net_revenue_usd) as decimal(18, 2)) as net_revenue_usd
    from "int__session_outcomes"
    group by all
),

site_baseline as (
    select
        session_month,
        (cast(orders as double) / nullif(sessions, 0)) as "baseline_conversion_rate",
        (case when orders = 0 then 0 else cast(gross_revenue_usd as double) / orders end) as "baseline_average_order_value_usd",
        (cast(net_revenue_usd as double) / nullif(sessions, 0)) as "baseline_net_revenue_per_session_usd",
        (case when gross_revenue_usd = 0 then 0 else cast(refund_amount_usd as double) / cast(gross_revenue_usd as double) end) as "baseline_refund_rate"
    from (
        select session_month, cast(sum("sessions") as BIGINT) as "sessions",
        cast(sum("orders") as BIGINT) as "orders",
        cast(sum("gross_revenue_usd") as DECIMAL(18,2)) as "gross_revenue_usd",
        cast(sum("refund_amount_usd") as DECIMAL(18,2)) as "refund_amount_usd",
        cast(sum("net_revenue_usd") as DECIMAL(18,2)) as "net_revenue_usd"
        from segment_totals
        group by all
    )
),

device_baseline as (
    select
        session_month,
        device_type,
        (cast(orders as double) / nullif(sessions, 0)) as "device_conversion_rate",
        (case when orders = 0 then 0 else cast(gross_revenue_usd as double) / orders end) as "device_average_order_value_usd",
        (cast(net_revenue_usd as double) / nullif(sessions, 0)) as "device_net_revenue_per_session_usd",
        (case when gross_revenue_usd = 0 then 0 else cast(refund_amount_usd as double) / cast(gross_revenue_usd as double) end) as "device_refund_rate"
    from (
        select session_month, device_type, cast(sum("sessions") as BIGINT) as "sessions",
        cast(sum("orders") as BIGINT) as "orders",
        cast(sum("gross_revenue_usd") as DECIMAL(18,2)) as "gross_revenue_usd",
        cast(sum("refund_amount_usd") as DECIMAL(18,2)) as "refund_amount_usd",
        cast(sum("net_revenue_usd") as DECIMAL(18,2)) as "net_revenue_usd"
        from segment_totals
        group by all
    )
),

-- the variance of one session's net revenue over each baseline, in one pass over the sessions
variances as (
    select
        session_month,
        device_type,
        grouping(device_type) = 1 as is_site,
        (var_pop(net_revenue_usd)) as net_revenue_variance
    from "int__session_outcomes"
    group by grouping sets ((session_month), (session_month, device_type))
),

measured as (
    select
        t.*,
        (cast(orders as double) / nullif(sessions, 0)) as "conversion_rate",
        (case when orders = 0 then 0 else cast(gross_revenue_usd as double) / orders end) as "average_order_value_usd",
        (cast(net_revenue_usd as double) / nullif(sessions, 0)) as "net_revenue_per_session_usd",
        (case when gross_revenue_usd = 0 then 0 else cast(refund_amount_usd as double) / cast(gross_revenue_usd as double) end) as "refund_rate",
        b.* exclude (session_month),
        d.* exclude (session_month, device_type),
        bv.net_revenue_variance as baseline_net_revenue_variance,
        dv.net_revenue_variance as device_net_revenue_variance
    from segment_totals as t
    inner join site_baseline as b using (session_month)
    inner join device_baseline as d using (session_month, device_type)
    inner join variances as bv on bv.is_site and bv.session_month = t.session_month
    inner join variances as dv on not dv.is_site and dv.session_month = t.session_month
        and dv.device_type = t.device_type
),

indexed as (
    select
        *,
        (conversion_rate / nullif(device_conversion_rate, 0)) as conversion_index,
        (net_revenue_per_session_usd / nullif(device_net_revenue_per_session_usd, 0)) as net_revenue_index,
        (refund_rate / nullif(device_refund_rate, 0)) as refund_index
    from measured
)

select
    session_month,
    utm_source,
    utm_campaign,
    device_type,
    landing_page,
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
    baseline_net_revenue_variance,
    device_net_revenue_variance,
    conversion_index,
    net_revenue_index,
    refund_index,
    (sessions >= 100 and coalesce(conversion_index < 0.8, false)) as is_low_conversion,
    (sessions >= 100 and coalesce(net_revenue_index < 0.8, false)) as is_weak_net_revenue,
    (orders >= 10 and coalesce(refund_index > 1.5, false)) as is_high_refund_drag,
    ((baseline_net_revenue_per_session_usd - net_revenue_per_session_usd) * sessions) as revenue_gap_usd,
    ((baseline_net_revenue_per_session_usd - device_net_revenue_per_session_usd) * sessions) as device_gap_usd,
    ((device_net_revenue_per_session_usd - net_revenue_per_session_usd) * sessions) as segment_gap_usd,
    ((device_conversion_rate - conversion_rate) * device_average_order_value_usd * (1 - device_refund_rate) * sessions) as conversion_leak_usd,
    (conversion_rate * (device_average_order_value_usd - average_order_value_usd) * (1 - device_refund_rate) * sessions) as order_value_leak_usd,
    (conversion_rate * average_order_value_usd * (refund_rate - device_refund_rate) * sessions) as refund_leak_usd
from indexed
order by session_month, utm_source, utm_campaign, device_type, landing_page
