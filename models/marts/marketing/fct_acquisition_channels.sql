{#-
    Acquisition per month and channel (docs block `acquisition`): marketing spend, new customers
    (first valid order in the month, by acquisition_channel), CAC, and the net revenue of the new
    customers in their first acquisition_value_window_days days (90) per new customer and against
    CAC, shown only once every new customer of the month has had the full window by as_of_date.
    Every month from the first new customer or spend to the month of as_of_date, for every channel
    seen in either. Scaling: group-bys of the orders by customer and of the spend by month;
    months x channels rows.
-#}
{%- set value_window_days = var('acquisition_value_window_days') %}
with

orders as (
    select * from {{ ref('int_orders') }}
),

customers as (
    select * from {{ ref('stg_shop__customers') }}
),

spend as (
    select * from {{ ref('stg_shop__marketing_spend') }}
    where spend_date <= {{ as_of_date() }}
),

first_orders as (
    select
        customer_id,
        order_date as first_order_date
    from orders
    where valid_order_number = 1
),

new_customers as (
    select
        first_orders.customer_id,
        {{ month_start('first_orders.first_order_date') }} as acquisition_month,
        coalesce(customers.acquisition_channel, 'unknown') as channel,
        sum(orders.net_revenue) as window_net_revenue
    from first_orders
    left join customers
        on first_orders.customer_id = customers.customer_id
    inner join orders
        on
            first_orders.customer_id = orders.customer_id
            and first_orders.first_order_date <= orders.order_date
            and {{ add_days(value_window_days, 'first_orders.first_order_date') }} > orders.order_date
    group by
        first_orders.customer_id,
        {{ month_start('first_orders.first_order_date') }},
        coalesce(customers.acquisition_channel, 'unknown')
),

acquired as (
    select
        acquisition_month,
        channel,
        count(*) as new_customers,
        sum(window_net_revenue) as window_net_revenue
    from new_customers
    group by acquisition_month, channel
),

spent as (
    select
        {{ month_start('spend_date') }} as acquisition_month,
        coalesce(channel, 'unknown') as channel,
        sum(spend) as spend
    from spend
    group by {{ month_start('spend_date') }}, coalesce(channel, 'unknown')
),

has_spend_data as (
    select count(*) > 0 as has_spend
    from spend
),

channels as (
    select channel from acquired
    union
    select channel from spent
),

active_months as (
    select acquisition_month from acquired
    union all
    select acquisition_month from spent
),

months as (
    {{ month_spine('active_months', 'acquisition_month', 'acquisition_month') }}
),

cells as (
    select
        months.acquisition_month,
        channels.channel,
        coalesce(acquired.new_customers, 0) as new_customers,
        acquired.window_net_revenue,
        case when has_spend_data.has_spend then coalesce(spent.spend, 0) end as spend,
        {{ add_days(value_window_days - 1, add_days(-1, add_months(1, 'months.acquisition_month'))) }}
        <= {{ as_of_date() }} as is_value_window_complete
    from months
    cross join channels
    cross join has_spend_data
    left join acquired
        on months.acquisition_month = acquired.acquisition_month and channels.channel = acquired.channel
    left join spent
        on months.acquisition_month = spent.acquisition_month and channels.channel = spent.channel
),

final as (
    select
        acquisition_month,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(spend as {{ type_money() }}) as spend,
        cast(new_customers as {{ dbt.type_int() }}) as new_customers,
        {{ money_ratio('spend', 'new_customers') }} as cac,
        is_value_window_complete,
        cast(case when is_value_window_complete then coalesce(window_net_revenue, 0) end as {{ type_money() }})
            as value_window_net_revenue,
        case
            when is_value_window_complete then {{ money_ratio('window_net_revenue', 'new_customers') }}
        end as value_window_net_revenue_per_customer,
        case
            when is_value_window_complete
                then {{ rate('window_net_revenue', 'spend') }}
        end as ltv_to_cac
    from cells
)

select * from final
