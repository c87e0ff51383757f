{#- Net revenue reconciles to the cent: all orders of int_orders = all cohort cells = all cohort
    cells by channel = all KPI months. -#}
with

orders as (
    select coalesce(sum(net_revenue), 0) as order_revenue
    from {{ ref('int_orders') }}
),

cohorts as (
    select coalesce(sum(net_revenue), 0) as cohort_revenue
    from {{ ref('fct_retention_cohorts') }}
),

channel_cohorts as (
    select coalesce(sum(net_revenue), 0) as channel_cohort_revenue
    from {{ ref('fct_retention_cohorts_by_channel') }}
),

kpis as (
    select coalesce(sum(net_revenue), 0) as kpi_revenue
    from {{ ref('fct_kpis_monthly') }}
)

select
    orders.order_revenue,
    cohorts.cohort_revenue,
    channel_cohorts.channel_cohort_revenue,
    kpis.kpi_revenue
from orders
cross join cohorts
cross join channel_cohorts
cross join kpis
where
    orders.order_revenue <> cohorts.cohort_revenue
    or orders.order_revenue <> channel_cohorts.channel_cohort_revenue
    or orders.order_revenue <> kpis.kpi_revenue
