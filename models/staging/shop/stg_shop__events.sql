with

checked as (
    select * from {{ ref('base_shop__events') }}
    where row_status = 'staged'
),

final as (
    select
        event_id,
        anonymous_id,
        customer_id,
        event_type,
        occurred_at,
        product_id,
        order_id,
        lower(channel) as channel,
        lower(device) as device
    from checked
)

select * from final
