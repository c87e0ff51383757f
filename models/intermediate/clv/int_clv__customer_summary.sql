{#- Recency, frequency, age and value of every customer with a valid order, as of as_of_date, in
    the form the BG/NBD and Gamma-Gamma models read (docs block `clv_summary`). -#}
with

purchases as (
    select * from {{ ref('int_clv__purchases') }}
),

settings as (
    select
        as_of_date,
        days_per_unit
    from {{ ref('int_clv__settings') }}
),

per_customer as (
    select
        purchases.customer_id,
        settings.as_of_date,
        settings.days_per_unit,
        min(purchases.purchase_date) as first_day,
        max(purchases.purchase_date) as last_day,
        count(*) as purchases,
        sum(purchases.valid_orders) as valid_orders,
        sum(purchases.net_revenue) as net_revenue,
        sum(case when purchases.purchase_number > 1 then purchases.net_revenue else 0 end) as repeat_net_revenue
    from purchases
    cross join settings
    group by purchases.customer_id, settings.as_of_date, settings.days_per_unit
),

day_counts as (
    select
        *,
        {{ days_between('first_day', 'last_day') }} as recency_days,
        {{ days_between('first_day', 'as_of_date') }} as age_days,
        {{ days_between('last_day', 'as_of_date') }} as idle_days
    from per_customer
),

final as (
    select
        customer_id,
        first_day as first_purchase_date,
        last_day as last_purchase_date,
        cast(valid_orders as {{ dbt.type_int() }}) as valid_orders,
        cast(purchases as {{ dbt.type_int() }}) as purchases,
        cast(purchases - 1 as {{ dbt.type_int() }}) as frequency,
        cast(recency_days as {{ dbt.type_int() }}) as recency_days,
        cast(age_days as {{ dbt.type_int() }}) as age_days,
        cast(idle_days as {{ dbt.type_int() }}) as days_since_last_purchase,
        cast(recency_days as {{ type_double() }}) / days_per_unit as recency,
        cast(age_days as {{ type_double() }}) / days_per_unit as age,
        cast(net_revenue as {{ type_money() }}) as historical_clv,
        cast(repeat_net_revenue as {{ type_money() }}) as repeat_net_revenue,
        {{ money_ratio('net_revenue', 'valid_orders') }} as average_order_value,
        {{ money_ratio('repeat_net_revenue', 'purchases - 1') }} as average_repeat_value
    from day_counts
)

select * from final
