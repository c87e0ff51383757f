{#-
    Every order known as of as_of_date (grain: order_id), with what the KPIs count about it:
    valid or not, net revenue, the customer's valid-order number, first and repeat orders, upsell
    (docs blocks `valid_order`, `upsell_rate`), and the customer's acquisition channel. The order
    grain of the semantic layer's revenue, order, new-customer, repeat and upsell metrics.
    Scaling: two joins of the orders by order_id and customer_id.
-#}
with

orders as (
    select * from {{ ref('int_orders') }}
),

upsell as (
    select * from {{ ref('int_orders__upsell') }}
),

customers as (
    select * from {{ ref('stg_shop__customers') }}
),

final as (
    select
        orders.order_id,
        orders.customer_id,
        coalesce(customers.acquisition_channel, 'unknown') as acquisition_channel,
        orders.ordered_at,
        orders.order_date,
        orders.status,
        orders.order_total,
        orders.is_valid_order,
        orders.is_returned,
        orders.net_revenue,
        cast(orders.valid_order_number as {{ dbt.type_int() }}) as valid_order_number,
        coalesce(orders.valid_order_number = 1, false) as is_first_valid_order,
        coalesce(orders.valid_order_number >= 2, false) as is_repeat_order,
        coalesce(upsell.is_upsell_eligible, false) as is_upsell_eligible,
        coalesce(upsell.is_upsell, false) as is_upsell
    from orders
    left join upsell
        on orders.order_id = upsell.order_id
    left join customers
        on orders.customer_id = customers.customer_id
)

select * from final
