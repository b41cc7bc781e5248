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
    from {{ ref('int__session_outcomes') }}
    group by all
),

site_baseline as (
    select
        session_month,
        {{ measure_columns(baseline_prefix('site')) }}
    from (
        select session_month, {{ totals() }}
        from segment_totals
        group by all
    )
),

device_baseline as (
    select
        session_month,
        device_type,
        {{ measure_columns(baseline_prefix('device')) }}
    from (
        select session_month, device_type, {{ totals() }}
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
        {{ metric('net_revenue_variance') }} as net_revenue_variance
    from {{ ref('int__session_outcomes') }}
    group by grouping sets ((session_month), (session_month, device_type))
),

measured as (
    select
        t.*,
        {{ measure_columns() }},
        b.* exclude (session_month),
        d.* exclude (session_month, device_type),
        bv.net_revenue_variance as {{ baseline_prefix('site') }}net_revenue_variance,
        dv.net_revenue_variance as {{ baseline_prefix('device') }}net_revenue_variance
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
        {{ metric('conversion_index') }} as conversion_index,
        {{ metric('net_revenue_index') }} as net_revenue_index,
        {{ metric('refund_index') }} as refund_index
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
    {{ metric('is_low_conversion') }} as is_low_conversion,
    {{ metric('is_weak_net_revenue') }} as is_weak_net_revenue,
    {{ metric('is_high_refund_drag') }} as is_high_refund_drag,
    {{ metric('revenue_gap_usd') }} as revenue_gap_usd,
    {{ metric('device_gap_usd') }} as device_gap_usd,
    {{ metric('segment_gap_usd') }} as segment_gap_usd,
    {{ metric('conversion_leak_usd') }} as conversion_leak_usd,
    {{ metric('order_value_leak_usd') }} as order_value_leak_usd,
    {{ metric('refund_leak_usd') }} as refund_leak_usd
from indexed
order by session_month, utm_source, utm_campaign, device_type, landing_page
