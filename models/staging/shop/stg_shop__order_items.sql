with

checked as (
    select * from {{ ref('base_shop__order_items') }}
    where row_status = 'staged'
),

final as (
    select
        order_item_id,
        order_id,
        product_id,
        quantity,
        cast(unit_price as {{ type_money() }}) as unit_price_in_currency,
        cast(round(unit_price * exchange_rate, 2) as {{ type_money() }}) as unit_price,
        cast(round(quantity * unit_price * exchange_rate, 2) as {{ type_money() }}) as line_total
    from checked
)

select * from final
