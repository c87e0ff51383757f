with

checked as (
    select * from {{ ref('base_shop__orders') }}
    where row_status = 'staged'
),

final as (
    select
        order_id,
        customer_id,
        ordered_at,
        cast(ordered_at as date) as order_date,
        status,
        currency,
        cast(order_total as {{ type_money() }}) as order_total_in_currency,
        exchange_rate,
        cast(round(order_total * exchange_rate, 2) as {{ type_money() }}) as order_total
    from checked
)

select * from final
