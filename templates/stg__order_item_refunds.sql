-- One row per refunded order item, typed by the source manifest.
select
    order_item_refund_id,
    created_at as refund_created_at,
    order_item_id,
    order_id,
    refund_amount_usd
from {{ source('maven', 'order_item_refunds') }}
