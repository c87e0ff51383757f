{#- In every month, the persons counted across all stages at month end (at as_of_date for the
    last month) are exactly the persons first seen by then (counted from int_persons). -#}
with

monthly as (
    select * from {{ ref('fct_lifecycle_stage_monthly') }}
),

by_month as (
    select
        stage_month,
        sum(persons_at_month_end) as persons_in_stages
    from monthly
    group by stage_month
),

known as (
    select
        by_month.stage_month,
        by_month.persons_in_stages,
        count(persons.person_id) as persons_known
    from by_month
    left join {{ ref('int_persons') }} as persons
        on persons.first_seen_date < {{ add_months(1, 'by_month.stage_month') }}
    group by by_month.stage_month, by_month.persons_in_stages
)

select
    stage_month,
    persons_in_stages,
    persons_known
from known
where persons_in_stages <> persons_known
