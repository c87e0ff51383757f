{#- Summed over acquisition channels, every cohort cell equals fct_retention_cohorts, and both
    marts have the same cells. -#}
with

by_channel as (
    select
        cohort_month,
        months_since_first_order,
        sum(cohort_size) as cohort_size,
        sum(active_customers) as active_customers,
        sum(valid_orders) as valid_orders,
        sum(net_revenue) as net_revenue
    from {{ ref('fct_retention_cohorts_by_channel') }}
    group by cohort_month, months_since_first_order
),

cohorts as (
    select * from {{ ref('fct_retention_cohorts') }}
)

select
    coalesce(cohorts.cohort_month, by_channel.cohort_month) as cohort_month,
    coalesce(cohorts.months_since_first_order, by_channel.months_since_first_order) as months_since_first_order
from cohorts
full outer join by_channel
    on
        cohorts.cohort_month = by_channel.cohort_month
        and cohorts.months_since_first_order = by_channel.months_since_first_order
where
    cohorts.cohort_month is null
    or by_channel.cohort_month is null
    or cohorts.cohort_size <> by_channel.cohort_size
    or cohorts.active_customers <> by_channel.active_customers
    or cohorts.valid_orders <> by_channel.valid_orders
    or cohorts.net_revenue <> by_channel.net_revenue
