{#- A new customer is one whose first valid order falls in the month, the same count in every
    mart that shows it: the churn flows, the KPIs, the cohorts (month 0) and the acquisition
    channels (summed over channels). -#}
with

churn as (
    select
        churn_month as month_start,
        new_customers
    from {{ ref('fct_churn_monthly') }}
),

kpis as (
    select
        kpi_month as month_start,
        new_customers
    from {{ ref('fct_kpis_monthly') }}
),

cohorts as (
    select
        cohort_month as month_start,
        cohort_size as new_customers
    from {{ ref('fct_retention_cohorts') }}
    where months_since_first_order = 0
),

acquisition as (
    select
        acquisition_month as month_start,
        sum(new_customers) as new_customers
    from {{ ref('fct_acquisition_channels') }}
    group by acquisition_month
)

select
    churn.month_start,
    churn.new_customers as churn_new_customers,
    kpis.new_customers as kpi_new_customers,
    cohorts.new_customers as cohort_new_customers,
    acquisition.new_customers as acquisition_new_customers
from churn
left join kpis
    on churn.month_start = kpis.month_start
left join cohorts
    on churn.month_start = cohorts.month_start
left join acquisition
    on churn.month_start = acquisition.month_start
where
    churn.new_customers <> coalesce(kpis.new_customers, -1)
    or churn.new_customers <> coalesce(cohorts.new_customers, 0)
    or churn.new_customers <> coalesce(acquisition.new_customers, 0)
