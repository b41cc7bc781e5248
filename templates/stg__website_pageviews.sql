-- One row per pageview, typed by the source manifest.
select
    website_pageview_id,
    created_at as pageview_created_at,
    website_session_id,
    pageview_url
from {{ source('maven', 'website_pageviews') }}
