-- Refunds summed per order: they belong to the order they refund, whatever their date
-- (decision refund_attribution).
select
    order_id,
    cast(sum(refund_amount_usd) as decimal(18, 2)) as refund_amount_usd,
    count(*) as refunded_items
from {{ ref('stg__order_item_refunds') }}
group by order_id
