-- title: compiled mart__priority_actions (regenerate with LEAKCLI_REGOLD=1 and review the diff)
-- The actions to take first, over the latest priority_lookback_months months of the summary. Every
-- device and every segment with sessions in the window is a candidate: a device against the site,
-- a segment against its own device, each at its baseline's rates in the same months (what its own
-- sessions would have done), with the gap's standard error, z and a one-sided p; the same test over
-- the recent months (the last recent_months months of the window) for every candidate that ran in
-- them; and Benjamini-Hochberg q-values over one family of both tests of every candidate.
-- Candidates whose gap is at least a cent, or whose recent test is significant, become actions,
-- with the last month they ran, whether they still run, their status (act, emerging, stopped,
-- noise) and the catalog's text; ranked by status, then gap. Rules: contracts/metric-catalog.json.
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

-- the first of the recent months: they run from it to the window's last month
recent_window as (
    select
        *,
        (cast(window_end_month - to_months(3 - 1) as date)) as recent_start_month
    from site_baseline
),

-- the rows of each candidate's two tests: every row of the window counts in its window test, and a
-- row of the recent months in its recent test as well
test_rows as (
    select *, false as is_recent_test from in_window
    union all
    select w.*, true as is_recent_test
    from in_window as w
    inner join recent_window as r on w.session_month >= r.recent_start_month
),

-- each device's sums, once per test (window, recent)
device_candidates as (
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
        sum("device_gap_usd") as gap_usd,
        sum(sessions * baseline_conversion_rate) as "expected_orders",
        sum(sessions * baseline_conversion_rate * baseline_average_order_value_usd) as "expected_gross_revenue_usd",
        sum(sessions * baseline_conversion_rate * baseline_average_order_value_usd * baseline_refund_rate) as "expected_refund_amount_usd",
        sum(sessions * baseline_net_revenue_per_session_usd) as "expected_net_revenue_usd",
        sum(sessions * baseline_net_revenue_variance) as "gap_variance",
        max(session_month) as last_session_month,
        is_recent_test
    from test_rows
    group by device_type, is_recent_test
),

-- each segment's sums, once per test (window, recent)
segment_candidates as (
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
        sum("segment_gap_usd") as gap_usd,
        sum(sessions * device_conversion_rate) as "expected_orders",
        sum(sessions * device_conversion_rate * device_average_order_value_usd) as "expected_gross_revenue_usd",
        sum(sessions * device_conversion_rate * device_average_order_value_usd * device_refund_rate) as "expected_refund_amount_usd",
        sum(sessions * device_net_revenue_per_session_usd) as "expected_net_revenue_usd",
        sum(sessions * device_net_revenue_variance) as "gap_variance",
        max(session_month) as last_session_month,
        is_recent_test
    from test_rows
    group by utm_source, utm_campaign, device_type, landing_page, is_recent_test
),

candidates as (
    select * from device_candidates
    union all
    select * from segment_candidates
),

-- each test's gap standard error if the candidate's sessions behaved like their baseline's, z and p
tested as (
    select
        *,
        (sqrt(greatest(gap_variance, 0))) as gap_se_usd,
        (gap_usd / nullif(gap_se_usd, 0)) as gap_z,
        (case when gap_z is null then 1.0 when gap_z >= 0 then (case when abs(gap_z) > 37 then 0.0 when abs(gap_z) < 7.07106781186547 then exp(-abs(gap_z) * abs(gap_z) / 2) * ((((((0.0352624965998911 * abs(gap_z) + 0.700383064443688) * abs(gap_z) + 6.37396220353165) * abs(gap_z) + 33.912866078383) * abs(gap_z) + 112.079291497871) * abs(gap_z) + 221.213596169931) * abs(gap_z) + 220.206867912376) / (((((((0.0883883476483184 * abs(gap_z) + 1.75566716318264) * abs(gap_z) + 16.064177579207) * abs(gap_z) + 86.7807322029461) * abs(gap_z) + 296.564248779674) * abs(gap_z) + 637.333633378831) * abs(gap_z) + 793.826512519948) * abs(gap_z) + 440.413735824752) else exp(-abs(gap_z) * abs(gap_z) / 2) / (abs(gap_z) + 1 / (abs(gap_z) + 2 / (abs(gap_z) + 3 / (abs(gap_z) + 4 / (abs(gap_z) + 0.65))))) / 2.506628274631 end) else 1.0 - (case when abs(gap_z) > 37 then 0.0 when abs(gap_z) < 7.07106781186547 then exp(-abs(gap_z) * abs(gap_z) / 2) * ((((((0.0352624965998911 * abs(gap_z) + 0.700383064443688) * abs(gap_z) + 6.37396220353165) * abs(gap_z) + 33.912866078383) * abs(gap_z) + 112.079291497871) * abs(gap_z) + 221.213596169931) * abs(gap_z) + 220.206867912376) / (((((((0.0883883476483184 * abs(gap_z) + 1.75566716318264) * abs(gap_z) + 16.064177579207) * abs(gap_z) + 86.7807322029461) * abs(gap_z) + 296.564248779674) * abs(gap_z) + 637.333633378831) * abs(gap_z) + 793.826512519948) * abs(gap_z) + 440.413735824752) else exp(-abs(gap_z) * abs(gap_z) / 2) / (abs(gap_z) + 1 / (abs(gap_z) + 2 / (abs(gap_z) + 3 / (abs(gap_z) + 4 / (abs(gap_z) + 0.65))))) / 2.506628274631 end) end) as p_value
    from candidates
),

-- every candidate's recent test, read from its test over the recent months (none: it had no session there)
recent_tests as (
    select
        action_scope,
        utm_source,
        utm_campaign,
        device_type,
        landing_page,
        (coalesce(sessions, 0)) as recent_sessions,
        (case when coalesce(sessions, 0) = 0 then 0 else cast(orders as double) / sessions end) as recent_conversion_rate,
        (case when coalesce(sessions, 0) = 0 then 0 else cast(expected_orders as double) / sessions end) as recent_expected_conversion_rate,
        (coalesce(gap_usd, 0)) as recent_gap_usd,
        (coalesce(gap_se_usd, 0)) as recent_gap_se_usd,
        (gap_z) as recent_gap_z,
        (coalesce(p_value, 1.0)) as recent_p_value
    from (
        select action_scope, utm_source, utm_campaign, device_type, landing_page
        from tested
        where not is_recent_test
    )
    left join (select * from tested where is_recent_test)
        using (action_scope, utm_source, utm_campaign, device_type, landing_page)
),

-- one family of every test performed, before any candidate is dropped: the window test of every
-- candidate (its p in p_value) and the recent test of every candidate that has one (in recent_p_value)
family as (
    select
        action_scope, utm_source, utm_campaign, device_type, landing_page,
        p_value,
        cast(null as double) as recent_p_value
    from tested
    where not is_recent_test
    union all
    select
        action_scope, utm_source, utm_campaign, device_type, landing_page,
        cast(null as double) as p_value,
        p_value as recent_p_value
    from tested
    where is_recent_test
),

-- Benjamini-Hochberg over the family: each test's k, min(1, M p / k) and q
p_ranked as (
    select
        *,
        (row_number() over (order by coalesce(p_value, recent_p_value), p_value is null, action_scope, utm_source, utm_campaign, device_type, landing_page)) as p_rank
    from family
),

stepped as (
    select
        *,
        (least(1.0, coalesce(p_value, recent_p_value) * (cast(count(*) over () as double) / p_rank))) as bh_step
    from p_ranked
),

adjusted as (
    select
        *,
        (min(bh_step) over (order by p_rank desc rows between unbounded preceding and current row)) as bh_q_value
    from stepped
),

-- each candidate's two q-values: its window test's and its recent test's
qualified as (
    select
        action_scope,
        utm_source,
        utm_campaign,
        device_type,
        landing_page,
        (max(bh_q_value) filter (where p_value is not null)) as q_value,
        (coalesce(max(bh_q_value) filter (where recent_p_value is not null), 1.0)) as recent_q_value
    from adjusted
    group by action_scope, utm_source, utm_campaign, device_type, landing_page
),

-- each candidate's window test, its recent test beside it, and whether each is significant
judged as (
    select
        *,
        (q_value <= 0.05) as is_significant,
        (recent_q_value <= 0.05 and recent_gap_usd >= 0.01) as is_recent_significant
    from (
        select * exclude (is_recent_test)
        from tested
        inner join recent_tests using (action_scope, utm_source, utm_campaign, device_type, landing_page)
        inner join qualified using (action_scope, utm_source, utm_campaign, device_type, landing_page)
        where not is_recent_test
    )
),

-- the candidates that become actions, by their scope's keep rule (a cent of gap, or a significant recent test)
actions as (
    select * from judged where action_scope = 'device' and (gap_usd >= 0.01 or is_recent_significant)
    union all
    select * from judged where action_scope = 'segment' and (gap_usd >= 0.01 or is_recent_significant)
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
        (cast(expected_orders as double) / nullif(sessions, 0)) as expected_conversion_rate,
        (case when expected_orders = 0 then 0 else expected_gross_revenue_usd / expected_orders end) as expected_average_order_value_usd,
        (case when expected_gross_revenue_usd = 0 then 0 else expected_refund_amount_usd / expected_gross_revenue_usd end) as expected_refund_rate,
        (expected_net_revenue_usd / nullif(sessions, 0)) as expected_net_revenue_per_session_usd,
        (last_session_month >= cast(window_end_month - to_months(2 - 1) as date)) as is_live,
        (date_diff('month', window_start_month, window_end_month) + 1) as window_length_months,
        b.*,
        d.* exclude (device_type),
        o.* exclude (device_type)
    from actions as a
    cross join recent_window as b
    inner join device_baseline as d using (device_type)
    left join other_device as o using (device_type)
),

decided as (
    select
        *,
        case when action_scope = 'device' then 'device' when conversion_leak_usd >= order_value_leak_usd and conversion_leak_usd >= refund_leak_usd then 'conversion' when order_value_leak_usd >= refund_leak_usd then 'order_value' else 'refund_drag' end as primary_leak,
        case when (is_significant and is_live) then 'act' when (not is_significant and is_recent_significant and is_live) then 'emerging' when ((is_significant or is_recent_significant) and not is_live) then 'stopped' when (not is_significant and not is_recent_significant) then 'noise' end as action_status,
        (gap_usd / sum(gap_usd) over ()) as share_of_total_gap
    from measured
)

select
    row_number() over (order by list_position(['act', 'emerging', 'stopped', 'noise'], "action_status") asc, case when (action_status = 'emerging') then "recent_gap_usd" end desc nulls last, case when (action_status <> 'emerging') then "gap_usd" end desc nulls last, "action_scope" asc, "utm_source" asc, "utm_campaign" asc, "device_type" asc, "landing_page" asc) as priority_rank,
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
    expected_conversion_rate,
    expected_average_order_value_usd,
    expected_refund_rate,
    expected_net_revenue_per_session_usd,
    gap_se_usd,
    gap_z,
    p_value,
    q_value,
    is_significant,
    last_session_month,
    is_live,
    action_status,
    recent_sessions,
    recent_conversion_rate,
    recent_expected_conversion_rate,
    recent_gap_usd,
    recent_gap_se_usd,
    recent_gap_z,
    recent_p_value,
    recent_q_value,
    is_recent_significant,
    case when action_status = 'act' and primary_leak in ('device') then concat((upper(left("device_type", 1)) || substr("device_type", 2)), ' converts at ', (format('{:.1f}%', cast("conversion_rate" as double) * 100)), ' vs ', (format('{:.1f}%', cast("expected_conversion_rate" as double) * 100)), ' expected at the site''s rate in the same months (', (format('{:.1f}%', cast("other_device_conversion_rate" as double) * 100)), ' on ', (cast("other_device_type" as varchar)), '; ', (strftime("window_start_month", '%Y-%m')), '..', (strftime("window_end_month", '%Y-%m')), '): fix the ', (cast("device_type" as varchar)), ' experience before single pages.') when action_status = 'act' and primary_leak in ('conversion') and (utm_source = 'direct_or_unknown') then concat('Conversion leak on ', (cast("utm_source" as varchar)), '/', (cast("utm_campaign" as varchar)), ' ', (cast("device_type" as varchar)), ' landing on ', (cast("landing_page" as varchar)), ': ', (format('{:.1f}%', cast("conversion_rate" as double) * 100)), ' vs ', (format('{:.1f}%', cast("expected_conversion_rate" as double) * 100)), ' expected for ', (cast("device_type" as varchar)), ' in the same months (z ', (coalesce(format('{:.1f}', cast("gap_z" as double)), 'n/a')), '); fix the page.') when action_status = 'act' and primary_leak in ('conversion') then concat('Conversion leak on ', (cast("utm_source" as varchar)), '/', (cast("utm_campaign" as varchar)), ' ', (cast("device_type" as varchar)), ' landing on ', (cast("landing_page" as varchar)), ': ', (format('{:.1f}%', cast("conversion_rate" as double) * 100)), ' vs ', (format('{:.1f}%', cast("expected_conversion_rate" as double) * 100)), ' expected for ', (cast("device_type" as varchar)), ' in the same months (z ', (coalesce(format('{:.1f}', cast("gap_z" as double)), 'n/a')), '); fix the page or the bid.') when action_status = 'act' and primary_leak in ('order_value') then concat('Order value leak on ', (cast("utm_source" as varchar)), '/', (cast("utm_campaign" as varchar)), ' ', (cast("device_type" as varchar)), ' landing on ', (cast("landing_page" as varchar)), ': ', (format('${:.2f}', cast("average_order_value_usd" as double))), ' per order vs ', (format('${:.2f}', cast("expected_average_order_value_usd" as double))), ' expected for ', (cast("device_type" as varchar)), ' in the same months (z ', (coalesce(format('{:.1f}', cast("gap_z" as double)), 'n/a')), '); review the offer and cross-sell on the page.') when action_status = 'act' and primary_leak in ('refund_drag') then concat('Refund drag on ', (cast("utm_source" as varchar)), '/', (cast("utm_campaign" as varchar)), ' ', (cast("device_type" as varchar)), ' landing on ', (cast("landing_page" as varchar)), ': ', (format('{:.1f}%', cast("refund_rate" as double) * 100)), ' of revenue refunded vs ', (format('{:.1f}%', cast("expected_refund_rate" as double) * 100)), ' expected for ', (cast("device_type" as varchar)), ' in the same months (z ', (coalesce(format('{:.1f}', cast("gap_z" as double)), 'n/a')), '); check what the page promises against the product.') when action_status = 'emerging' and primary_leak in ('device') then concat('Emerging leak on ', (cast("device_type" as varchar)), ': ', (upper(left("device_type", 1)) || substr("device_type", 2)), ' converted at ', (format('{:.1f}%', cast("recent_conversion_rate" as double) * 100)), ' vs ', (format('{:.1f}%', cast("recent_expected_conversion_rate" as double) * 100)), ' expected at the site''s rate in the same months (', (strftime("recent_start_month", '%Y-%m')), '..', (strftime("window_end_month", '%Y-%m')), ') and earned ', (format('${:,.0f}', cast("recent_gap_usd" as double))), ' less (z ', (coalesce(format('{:.1f}', cast("recent_gap_z" as double)), 'n/a')), ', q ', (coalesce(format('{:.2f}', cast("recent_q_value" as double)), 'n/a')), '), after a ', (cast("window_length_months" as varchar)), '-month window within noise: find what changed there in ', (strftime("recent_start_month", '%Y-%m')), ' and fix the ', (cast("device_type" as varchar)), ' experience before single pages.') when action_status = 'emerging' and primary_leak in ('conversion', 'order_value', 'refund_drag') and (utm_source = 'direct_or_unknown') then concat('Emerging leak on ', (cast("utm_source" as varchar)), '/', (cast("utm_campaign" as varchar)), ' ', (cast("device_type" as varchar)), ' landing on ', (cast("landing_page" as varchar)), ': in ', (strftime("recent_start_month", '%Y-%m')), '..', (strftime("window_end_month", '%Y-%m')), ' it converted at ', (format('{:.1f}%', cast("recent_conversion_rate" as double) * 100)), ' vs ', (format('{:.1f}%', cast("recent_expected_conversion_rate" as double) * 100)), ' expected for ', (cast("device_type" as varchar)), ' in the same months and earned ', (format('${:,.0f}', cast("recent_gap_usd" as double))), ' less (z ', (coalesce(format('{:.1f}', cast("recent_gap_z" as double)), 'n/a')), ', q ', (coalesce(format('{:.2f}', cast("recent_q_value" as double)), 'n/a')), '), after a ', (cast("window_length_months" as varchar)), '-month window within noise: find what changed there in ', (strftime("recent_start_month", '%Y-%m')), ' and fix the page.') when action_status = 'emerging' and primary_leak in ('conversion', 'order_value', 'refund_drag') then concat('Emerging leak on ', (cast("utm_source" as varchar)), '/', (cast("utm_campaign" as varchar)), ' ', (cast("device_type" as varchar)), ' landing on ', (cast("landing_page" as varchar)), ': in ', (strftime("recent_start_month", '%Y-%m')), '..', (strftime("window_end_month", '%Y-%m')), ' it converted at ', (format('{:.1f}%', cast("recent_conversion_rate" as double) * 100)), ' vs ', (format('{:.1f}%', cast("recent_expected_conversion_rate" as double) * 100)), ' expected for ', (cast("device_type" as varchar)), ' in the same months and earned ', (format('${:,.0f}', cast("recent_gap_usd" as double))), ' less (z ', (coalesce(format('{:.1f}', cast("recent_gap_z" as double)), 'n/a')), ', q ', (coalesce(format('{:.2f}', cast("recent_q_value" as double)), 'n/a')), '), after a ', (cast("window_length_months" as varchar)), '-month window within noise: find what changed there in ', (strftime("recent_start_month", '%Y-%m')), ' and fix the page or the bid.') when action_status = 'stopped' and primary_leak in ('device') then concat((upper(left("device_type", 1)) || substr("device_type", 2)), ' has had no sessions after ', (strftime("last_session_month", '%Y-%m')), '; while it ran it converted at ', (format('{:.1f}%', cast("conversion_rate" as double) * 100)), ' vs ', (format('{:.1f}%', cast("expected_conversion_rate" as double) * 100)), ' expected at the site''s rate in the same months (z ', (coalesce(format('{:.1f}', cast("gap_z" as double)), 'n/a')), '): fix the ', (cast("device_type" as varchar)), ' experience before it returns.') when action_status = 'stopped' and primary_leak in ('conversion') and (utm_source = 'direct_or_unknown') then concat((cast("utm_source" as varchar)), '/', (cast("utm_campaign" as varchar)), ' ', (cast("device_type" as varchar)), ' landing on ', (cast("landing_page" as varchar)), ' has had no sessions after ', (strftime("last_session_month", '%Y-%m')), '; while it ran it converted at ', (format('{:.1f}%', cast("conversion_rate" as double) * 100)), ' vs ', (format('{:.1f}%', cast("expected_conversion_rate" as double) * 100)), ' expected for ', (cast("device_type" as varchar)), ' (z ', (coalesce(format('{:.1f}', cast("gap_z" as double)), 'n/a')), '): fix the page before it runs again.') when action_status = 'stopped' and primary_leak in ('conversion') then concat((cast("utm_source" as varchar)), '/', (cast("utm_campaign" as varchar)), ' ', (cast("device_type" as varchar)), ' landing on ', (cast("landing_page" as varchar)), ' has had no sessions after ', (strftime("last_session_month", '%Y-%m')), '; while it ran it converted at ', (format('{:.1f}%', cast("conversion_rate" as double) * 100)), ' vs ', (format('{:.1f}%', cast("expected_conversion_rate" as double) * 100)), ' expected for ', (cast("device_type" as varchar)), ' (z ', (coalesce(format('{:.1f}', cast("gap_z" as double)), 'n/a')), '): fix the page or the bid before it runs again.') when action_status = 'stopped' and primary_leak in ('order_value') then concat((cast("utm_source" as varchar)), '/', (cast("utm_campaign" as varchar)), ' ', (cast("device_type" as varchar)), ' landing on ', (cast("landing_page" as varchar)), ' has had no sessions after ', (strftime("last_session_month", '%Y-%m')), '; while it ran it earned ', (format('${:.2f}', cast("average_order_value_usd" as double))), ' per order vs ', (format('${:.2f}', cast("expected_average_order_value_usd" as double))), ' expected for ', (cast("device_type" as varchar)), ' (z ', (coalesce(format('{:.1f}', cast("gap_z" as double)), 'n/a')), '): review the offer and cross-sell on the page before it runs again.') when action_status = 'stopped' and primary_leak in ('refund_drag') then concat((cast("utm_source" as varchar)), '/', (cast("utm_campaign" as varchar)), ' ', (cast("device_type" as varchar)), ' landing on ', (cast("landing_page" as varchar)), ' has had no sessions after ', (strftime("last_session_month", '%Y-%m')), '; while it ran ', (format('{:.1f}%', cast("refund_rate" as double) * 100)), ' of its revenue was refunded vs ', (format('{:.1f}%', cast("expected_refund_rate" as double) * 100)), ' expected for ', (cast("device_type" as varchar)), ' (z ', (coalesce(format('{:.1f}', cast("gap_z" as double)), 'n/a')), '): check what the page promises against the product before it runs again.') when action_status = 'noise' and primary_leak in ('device') then concat('Within noise: ', (upper(left("device_type", 1)) || substr("device_type", 2)), ' earned ', (format('${:,.0f}', cast("gap_usd" as double))), ' less than the site in the same months, a gap chance alone explains (z ', (coalesce(format('{:.1f}', cast("gap_z" as double)), 'n/a')), ', q ', (coalesce(format('{:.2f}', cast("q_value" as double)), 'n/a')), '): no action; watch it.') when action_status = 'noise' and primary_leak in ('conversion', 'order_value', 'refund_drag') then concat('Within noise: ', (cast("utm_source" as varchar)), '/', (cast("utm_campaign" as varchar)), ' ', (cast("device_type" as varchar)), ' landing on ', (cast("landing_page" as varchar)), ' earned ', (format('${:,.0f}', cast("gap_usd" as double))), ' less than ', (cast("device_type" as varchar)), ' in the same months, a gap chance alone explains (z ', (coalesce(format('{:.1f}', cast("gap_z" as double)), 'n/a')), ', q ', (coalesce(format('{:.2f}', cast("q_value" as double)), 'n/a')), '): no action; watch it.') end as recommended_action
from decided
order by priority_rank
