{#- Each month's active_at_end is the next month's active_at_start, and equals the persons in an
    active stage at that month's end in fct_lifecycle_stage_monthly (counted there independently). -#}
with

churn as (
    select
        *,
        lead(active_at_start) over (order by churn_month) as next_active_at_start
    from {{ ref('fct_churn_monthly') }}
),

stage_counts as (
    select
        stage_month,
        sum(persons_at_month_end) as active_persons
    from {{ ref('fct_lifecycle_stage_monthly') }}
    where stage in ({{ sql_string_list(active_customer_stages()) }})
    group by stage_month
)

select
    churn.churn_month,
    churn.active_at_end,
    churn.next_active_at_start,
    stage_counts.active_persons
from churn
left join stage_counts
    on churn.churn_month = stage_counts.stage_month
where
    (churn.next_active_at_start is not null and churn.active_at_end <> churn.next_active_at_start)
    or churn.active_at_end <> coalesce(stage_counts.active_persons, 0)
