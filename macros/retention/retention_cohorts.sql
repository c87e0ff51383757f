{#-
    Monthly retention cohorts (docs block `retention_cohorts`), the one query behind
    fct_retention_cohorts (by = none) and its split by a customer attribute such as
    acquisition_channel (by = 'acquisition_channel'): customers grouped by the month of their first
    valid order (and the attribute); for every month since, up to the month of as_of_date, the
    active customers, retention rate, net revenue and cumulative net revenue per cohort customer.
    Scaling: one group-by of int_customer_months (customers x active months), and cohorts x months
    cells (at most months^2 / 2 per attribute value), never customers x months.
-#}
{% macro retention_cohorts(by=none) -%}
{%- set keys = [by] if by else [] -%}
{%- set key_list -%}{% for key in keys %}{{ key }}, {% endfor %}{%- endset -%}
with

customer_months as (
    select * from {{ ref('int_customer_months') }}
),

cohorts as (
    select
        {{ key_list }}cohort_month,
        count(*) as cohort_size
    from customer_months
    where months_since_first_order = 0
    group by {{ key_list }}cohort_month
),

cells as (
    select
        {% for key in keys %}cohorts.{{ key }}, {% endfor %}cohorts.cohort_month,
        cohorts.cohort_size,
        numbers.n as months_since_first_order,
        {{ add_months('numbers.n', 'cohorts.cohort_month') }} as activity_month
    from cohorts
    cross join {{ whole_numbers(1000) }} as numbers
    where {{ add_months('numbers.n', 'cohorts.cohort_month') }} <= {{ month_start(as_of_date()) }}
),

activity as (
    select
        {{ key_list }}cohort_month,
        months_since_first_order,
        sum(case when valid_orders > 0 then 1 else 0 end) as active_customers,
        sum(valid_orders) as valid_orders,
        sum(net_revenue) as net_revenue
    from customer_months
    group by {{ key_list }}cohort_month, months_since_first_order
),

filled as (
    select
        {% for key in keys %}cells.{{ key }}, {% endfor %}cells.cohort_month,
        cells.months_since_first_order,
        cells.activity_month,
        cells.cohort_size,
        coalesce(activity.active_customers, 0) as active_customers,
        coalesce(activity.valid_orders, 0) as valid_orders,
        coalesce(activity.net_revenue, 0) as net_revenue
    from cells
    left join activity
        on
            {% for key in keys %}cells.{{ key }} = activity.{{ key }} and {% endfor %}cells.cohort_month = activity.cohort_month
            and cells.months_since_first_order = activity.months_since_first_order
),

final as (
    select
        {% for key in keys %}cast({{ key }} as {{ dbt.type_string() }}) as {{ key }}, {% endfor %}cohort_month,
        cast(months_since_first_order as {{ dbt.type_int() }}) as months_since_first_order,
        activity_month,
        cast(cohort_size as {{ dbt.type_int() }}) as cohort_size,
        cast(active_customers as {{ dbt.type_int() }}) as active_customers,
        {{ rate('active_customers', 'cohort_size') }} as retention_rate,
        cast(valid_orders as {{ dbt.type_int() }}) as valid_orders,
        cast(net_revenue as {{ type_money() }}) as net_revenue,
        cast(sum(net_revenue) over cohort_so_far as {{ type_money() }}) as cumulative_net_revenue,
        {{ money_ratio('sum(net_revenue) over cohort_so_far', 'cohort_size') }} as cumulative_net_revenue_per_customer
    from filled
    window cohort_so_far as (
        partition by {{ key_list }}cohort_month order by months_since_first_order
        rows between unbounded preceding and current row
    )
)

select * from final
{%- endmacro %}
