-- The landing page of a session is the URL of its pageview with the lowest id
-- (decision landing_page_rule). Sessions without pageviews have no row here.
select
    website_session_id,
    arg_min(pageview_url, website_pageview_id) as landing_page,
    min(website_pageview_id) as landing_pageview_id
from {{ ref('stg__website_pageviews') }}
group by website_session_id
