{#- Orders known as of as_of_date, with the definitions of a valid order and of net revenue
    (docs block `valid_order`). -#}
with

orders as (
    select * from {{ ref('stg_shop__orders') }}
    where order_date <= {{ as_of_date() }}
),

classified as (
    select
        order_id,
        customer_id,
        ordered_at,
        order_date,
        status,
        order_total,
        status <> 'cancelled' as is_valid_order,
        status = 'returned' as is_returned,
        cast(
            case when status in ('cancelled', 'returned') then 0 else order_total end
            as {{ type_money() }}
        ) as net_revenue
    from orders
),

ranked as (
    select
        *,
        row_number() over (
            partition by customer_id, is_valid_order order by ordered_at, order_id
        ) as rank_among_same_validity
    from classified
),

final as (
    select
        order_id,
        customer_id,
        ordered_at,
        order_date,
        status,
        order_total,
        is_valid_order,
        is_returned,
        net_revenue,
        case when is_valid_order then rank_among_same_validity end as valid_order_number
    from ranked
)

select * from final
