{#- fct_customer_clv has exactly the customers with a valid order, and their historical CLV adds up
    to the net revenue of those customers' orders; the RFM segments add up to the same. -#}
with

orders as (
    select
        count(distinct case when is_valid_order then customer_id end) as customers,
        sum(case when is_valid_order then net_revenue else 0 end) as net_revenue
    from {{ ref('int_orders') }}
),

customer_value as (
    select
        count(*) as customers,
        coalesce(sum(historical_clv), 0) as net_revenue
    from {{ ref('fct_customer_clv') }}
),

segments as (
    select
        sum(customers) as customers,
        sum(net_revenue) as net_revenue
    from {{ ref('fct_rfm_segments') }}
)

select
    orders.customers as order_customers,
    customer_value.customers as clv_customers,
    segments.customers as segment_customers,
    orders.net_revenue as order_net_revenue,
    customer_value.net_revenue as clv_net_revenue,
    segments.net_revenue as segment_net_revenue
from orders
cross join customer_value
cross join segments
where
    orders.customers <> customer_value.customers
    or orders.customers <> segments.customers
    or coalesce(orders.net_revenue, 0) <> customer_value.net_revenue
    or coalesce(orders.net_revenue, 0) <> segments.net_revenue
