with

checked as (
    select * from {{ ref('base_shop__products') }}
    where row_status = 'staged'
),

final as (
    select
        product_id,
        category,
        lower(tier) as tier,
        cast(list_price as {{ type_money() }}) as list_price
    from checked
)

select * from final
