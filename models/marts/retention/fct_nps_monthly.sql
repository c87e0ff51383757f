{{ config(
    pre_hook=[before_begin("{{ refresh_planner_statistics() }}"), "{{ use_planner_settings() }}"],
    post_hook="{{ restore_planner_settings() }}",
) }}

{#-
    NPS per month (docs block `nps_monthly`): every answer given in the month counts (a customer answering
    twice counts twice). Months run from the first answer to the month of as_of_date; a month with
    no answer has 0 responses and a null NPS. Scaling: one group-by of the answers by month.
-#}
with

answers as (
    select
        {{ month_start('responded_at') }} as nps_month,
        {{ nps_class('score') }} as nps_class
    from {{ ref('stg_shop__nps_responses') }}
    where cast(responded_at as date) <= {{ as_of_date() }}
),

bounds as (
    select
        min(nps_month) as first_month,
        {{ month_start(as_of_date()) }} as last_month
    from answers
),

months as (
    select {{ add_months('numbers.n', 'bounds.first_month') }} as nps_month
    from {{ whole_numbers(1000) }} as numbers
    cross join bounds
    where {{ add_months('numbers.n', 'bounds.first_month') }} <= bounds.last_month
),

monthly as (
    select
        nps_month,
        count(*) as responses,
        sum(case when nps_class = 'promoter' then 1 else 0 end) as promoters,
        sum(case when nps_class = 'passive' then 1 else 0 end) as passives,
        sum(case when nps_class = 'detractor' then 1 else 0 end) as detractors
    from answers
    group by nps_month
),

filled as (
    select
        months.nps_month,
        coalesce(monthly.responses, 0) as responses,
        coalesce(monthly.promoters, 0) as promoters,
        coalesce(monthly.passives, 0) as passives,
        coalesce(monthly.detractors, 0) as detractors
    from months
    left join monthly
        on months.nps_month = monthly.nps_month
),

final as (
    select
        nps_month,
        cast(responses as {{ dbt.type_int() }}) as responses,
        cast(promoters as {{ dbt.type_int() }}) as promoters,
        cast(passives as {{ dbt.type_int() }}) as passives,
        cast(detractors as {{ dbt.type_int() }}) as detractors,
        {{ rate('promoters', 'responses') }} as promoter_share,
        {{ rate('detractors', 'responses') }} as detractor_share,
        {{ rate('100 * (promoters - detractors)', 'responses') }} as nps
    from filled
)

select * from final
