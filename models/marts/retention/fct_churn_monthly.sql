{#-
    Active customers per month and how they moved (docs block `churn_monthly`), read from the
    stage history so that churn is exactly the lifecycle engine's churn. active_end is counted
    from the active spells open at the month's end (running sum of active spells starting minus
    ending); new, reactivated and churned from the spells starting in the month. They satisfy
    active_end = active_start + new + reactivated - churned (a data test checks it).
    Scaling: group-bys of the stage spells by month; months x 1 rows, never persons x months.
-#}
{%- set active = '(' ~ sql_string_list(active_customer_stages()) ~ ')' %}
with

history as (
    select * from {{ ref('fct_lifecycle_stage_history') }}
),

months as (
    {{ month_spine('history', 'valid_from', 'churn_month') }}
),

starts as (
    select
        {{ month_start('valid_from') }} as churn_month,
        sum(case when stage in {{ active }} then 1 else 0 end) as active_spells_started,
        sum(
            case
                when stage in {{ active }} and coalesce(previous_stage, 'awareness') in ('awareness', 'consideration')
                    then 1
                else 0
            end
        ) as new_customers,
        sum(case when previous_stage = 'churned' then 1 else 0 end) as reactivated_customers,
        sum(case when stage = 'churned' then 1 else 0 end) as churned_customers
    from history
    group by {{ month_start('valid_from') }}
),

ends as (
    select
        {{ month_start('valid_to') }} as churn_month,
        count(*) as active_spells_ended
    from history
    where stage in {{ active }} and valid_to is not null
    group by {{ month_start('valid_to') }}
),

flows as (
    select
        months.churn_month,
        coalesce(starts.new_customers, 0) as new_customers,
        coalesce(starts.reactivated_customers, 0) as reactivated_customers,
        coalesce(starts.churned_customers, 0) as churned_customers,
        sum(coalesce(starts.active_spells_started, 0) - coalesce(ends.active_spells_ended, 0)) over (
            order by months.churn_month rows between unbounded preceding and current row
        ) as active_at_end
    from months
    left join starts
        on months.churn_month = starts.churn_month
    left join ends
        on months.churn_month = ends.churn_month
),

with_start as (
    select
        *,
        coalesce(lag(active_at_end) over (order by churn_month), 0) as active_at_start
    from flows
),

final as (
    select
        churn_month,
        cast(active_at_start as {{ dbt.type_int() }}) as active_at_start,
        cast(new_customers as {{ dbt.type_int() }}) as new_customers,
        cast(active_at_start - churned_customers as {{ dbt.type_int() }}) as retained_customers,
        cast(churned_customers as {{ dbt.type_int() }}) as churned_customers,
        cast(reactivated_customers as {{ dbt.type_int() }}) as reactivated_customers,
        cast(active_at_end as {{ dbt.type_int() }}) as active_at_end,
        {{ rate('churned_customers', 'active_at_start') }} as churn_rate,
        {{ rate('active_at_start - churned_customers', 'active_at_start') }} as retention_rate
    from with_start
)

select * from final
