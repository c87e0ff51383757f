{#- The cohorts partition the customers with a valid order: their sizes add up to them, overall
    and per acquisition channel. -#}
with

customers as (
    select count(distinct customer_id) as customers_with_a_valid_order
    from {{ ref('int_orders') }}
    where is_valid_order
),

cohorts as (
    select sum(cohort_size) as cohort_customers
    from {{ ref('fct_retention_cohorts') }}
    where months_since_first_order = 0
),

channel_cohorts as (
    select sum(cohort_size) as channel_cohort_customers
    from {{ ref('fct_retention_cohorts_by_channel') }}
    where months_since_first_order = 0
)

select
    customers.customers_with_a_valid_order,
    cohorts.cohort_customers,
    channel_cohorts.channel_cohort_customers
from customers
cross join cohorts
cross join channel_cohorts
where
    customers.customers_with_a_valid_order <> coalesce(cohorts.cohort_customers, 0)
    or customers.customers_with_a_valid_order <> coalesce(channel_cohorts.channel_cohort_customers, 0)
