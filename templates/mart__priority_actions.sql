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

site_baseline as (
    select
        window_start_month,
        window_end_month,
        {{ measure_columns(baseline_prefix('site')) }}
    from (
        select
            min(session_month) as window_start_month,
            max(session_month) as window_end_month,
            {{ totals() }}
        from in_window
    )
),

device_baseline as (
    select
        device_type,
        {{ measure_columns(baseline_prefix('device')) }}
    from (
        select device_type, {{ totals() }}
        from in_window
        group by all
    )
),

-- the first of the recent months: they run from it to the window's last month
recent_window as (
    select
        *,
        {{ metric('recent_start_month') }} as recent_start_month
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
        {{ scope('device') }} as action_scope,
        {{ all_label() }} as utm_source,
        {{ all_label() }} as utm_campaign,
        device_type,
        {{ all_label() }} as landing_page,
        {{ totals() }},
        cast(0 as bigint) as months_flagged,
        cast(0 as double) as conversion_leak_usd,
        cast(0 as double) as order_value_leak_usd,
        cast(0 as double) as refund_leak_usd,
        sum(revenue_gap_usd) as revenue_gap_usd,
        sum(device_gap_usd) as device_gap_usd,
        sum(segment_gap_usd) as segment_gap_usd,
        sum({{ scope_gap('device') }}) as gap_usd,
        {{ expected_sums('device') }},
        max(session_month) as last_session_month,
        is_recent_test
    from test_rows
    group by device_type, is_recent_test
),

-- each segment's sums, once per test (window, recent)
segment_candidates as (
    select
        {{ scope('segment') }} as action_scope,
        utm_source,
        utm_campaign,
        device_type,
        landing_page,
        {{ totals() }},
        cast(count_if({{ any_flag() }}) as bigint) as months_flagged,
        sum(conversion_leak_usd) as conversion_leak_usd,
        sum(order_value_leak_usd) as order_value_leak_usd,
        sum(refund_leak_usd) as refund_leak_usd,
        sum(revenue_gap_usd) as revenue_gap_usd,
        sum(device_gap_usd) as device_gap_usd,
        sum(segment_gap_usd) as segment_gap_usd,
        sum({{ scope_gap('segment') }}) as gap_usd,
        {{ expected_sums('segment') }},
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
        {{ metric('gap_se_usd') }} as gap_se_usd,
        {{ metric('gap_z') }} as gap_z,
        {{ metric('p_value') }} as p_value
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
        {{ metric('recent_sessions') }} as recent_sessions,
        {{ metric('recent_conversion_rate') }} as recent_conversion_rate,
        {{ metric('recent_expected_conversion_rate') }} as recent_expected_conversion_rate,
        {{ metric('recent_gap_usd') }} as recent_gap_usd,
        {{ metric('recent_gap_se_usd') }} as recent_gap_se_usd,
        {{ metric('recent_gap_z') }} as recent_gap_z,
        {{ metric('recent_p_value') }} as recent_p_value
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
        {{ metric('p_rank') }} as p_rank
    from family
),

stepped as (
    select
        *,
        {{ metric('bh_step') }} as bh_step
    from p_ranked
),

adjusted as (
    select
        *,
        {{ metric('bh_q_value') }} as bh_q_value
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
        {{ metric('q_value') }} as q_value,
        {{ metric('recent_q_value') }} as recent_q_value
    from adjusted
    group by action_scope, utm_source, utm_campaign, device_type, landing_page
),

-- each candidate's window test, its recent test beside it, and whether each is significant
judged as (
    select
        *,
        {{ metric('is_significant') }} as is_significant,
        {{ metric('is_recent_significant') }} as is_recent_significant
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
    select * from judged where action_scope = {{ scope('device') }} and {{ scope_keep('device') }}
    union all
    select * from judged where action_scope = {{ scope('segment') }} and {{ scope_keep('segment') }}
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
        {{ measure_columns() }},
        {{ metric('expected_conversion_rate') }} as expected_conversion_rate,
        {{ metric('expected_average_order_value_usd') }} as expected_average_order_value_usd,
        {{ metric('expected_refund_rate') }} as expected_refund_rate,
        {{ metric('expected_net_revenue_per_session_usd') }} as expected_net_revenue_per_session_usd,
        {{ metric('is_live') }} as is_live,
        {{ metric('window_length_months') }} as window_length_months,
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
        {{ primary_leak() }} as primary_leak,
        {{ action_status() }} as action_status,
        {{ metric('share_of_total_gap') }} as share_of_total_gap
    from measured
)

select
    row_number() over (order by {{ priority_order() }}) as priority_rank,
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
    {{ recommended_action() }} as recommended_action
from decided
order by priority_rank
