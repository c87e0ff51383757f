{#- Purchases as the customer-value models count them (docs block `clv_summary`): a customer's
    day with at least one valid order, as of as_of_date. Orders on the same day count once. -#}
with

valid_orders as (
    select
        customer_id,
        order_date,
        net_revenue
    from {{ ref('int_orders') }}
    where is_valid_order
),

purchase_days as (
    select
        customer_id,
        order_date as purchase_date,
        count(*) as valid_orders,
        sum(net_revenue) as net_revenue
    from valid_orders
    group by customer_id, order_date
),

final as (
    select
        customer_id,
        purchase_date,
        cast(valid_orders as {{ dbt.type_int() }}) as valid_orders,
        cast(net_revenue as {{ type_money() }}) as net_revenue,
        cast(row_number() over (partition by customer_id order by purchase_date) as {{ dbt.type_int() }})
            as purchase_number
    from purchase_days
)

select * from final
