-- One row per website session, typed by the source manifest.
-- Null segment keys take the labels of contracts/metric-catalog.json#/labels.
select
    website_session_id,
    created_at as session_created_at,
    cast(date_trunc('month', created_at) as date) as session_month,
    user_id,
    is_repeat_session,
    coalesce(utm_source, {{ var('unknown_utm_source') }}) as utm_source,
    coalesce(utm_campaign, {{ var('unknown_utm_campaign') }}) as utm_campaign,
    utm_content,
    coalesce(device_type, {{ var('unknown_device_type') }}) as device_type,
    http_referer
from {{ source('maven', 'website_sessions') }}
