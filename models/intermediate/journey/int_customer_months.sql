{#-
    Each customer with a valid order, per calendar month from the month of their first valid order
    in which they placed a valid order or had revenue (docs block `retention_cohorts`): the cohort
    (month of the first valid order), acquisition channel, valid orders and net revenue that month.
    Scaling: one group-by of the orders by customer and month.
-#}
with

orders as (
    select * from {{ ref('int_orders') }}
),

customers as (
    select * from {{ ref('stg_shop__customers') }}
),

first_orders as (
    select
        customer_id,
        order_date as first_order_date
    from orders
    where valid_order_number = 1
),

monthly as (
    select
        customer_id,
        {{ month_start('order_date') }} as activity_month,
        sum(case when is_valid_order then 1 else 0 end) as valid_orders,
        sum(net_revenue) as net_revenue
    from orders
    group by customer_id, {{ month_start('order_date') }}
),

final as (
    select
        monthly.customer_id,
        coalesce(customers.acquisition_channel, 'unknown') as acquisition_channel,
        first_orders.first_order_date,
        {{ month_start('first_orders.first_order_date') }} as cohort_month,
        monthly.activity_month,
        cast(
            {{ dbt.datediff(month_start('first_orders.first_order_date'), 'monthly.activity_month', 'month') }}
            as {{ dbt.type_int() }}
        ) as months_since_first_order,
        monthly.valid_orders,
        cast(monthly.net_revenue as {{ type_money() }}) as net_revenue
    from monthly
    inner join first_orders
        on monthly.customer_id = first_orders.customer_id
    left join customers
        on monthly.customer_id = customers.customer_id
    where monthly.activity_month >= {{ month_start('first_orders.first_order_date') }}
)

select * from final
