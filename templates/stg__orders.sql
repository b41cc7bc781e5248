-- One row per order, typed by the source manifest (money is DECIMAL, decision money_type).
select
    order_id,
    created_at as order_created_at,
    website_session_id,
    user_id,
    primary_product_id,
    items_purchased,
    price_usd,
    cogs_usd
from {{ source('maven', 'orders') }}
