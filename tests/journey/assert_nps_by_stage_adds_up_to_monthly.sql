{#- Every NPS answer has a stage: summed over the stages, each month equals fct_nps_monthly. -#}
with

by_stage as (
    select
        nps_month,
        sum(responses) as responses,
        sum(promoters) as promoters,
        sum(detractors) as detractors
    from {{ ref('fct_nps_monthly_by_stage') }}
    group by nps_month
)

select
    monthly.nps_month,
    monthly.responses,
    by_stage.responses as responses_by_stage
from {{ ref('fct_nps_monthly') }} as monthly
left join by_stage
    on monthly.nps_month = by_stage.nps_month
where
    by_stage.nps_month is null
    or monthly.responses <> by_stage.responses
    or monthly.promoters <> by_stage.promoters
    or monthly.detractors <> by_stage.detractors
