{{ config(
    pre_hook=[before_begin("{{ refresh_planner_statistics() }}"), "{{ use_planner_settings() }}"],
    post_hook="{{ restore_planner_settings() }}",
) }}

{#-
    NPS per month and lifecycle stage at the time of the answer (docs block `nps_monthly`): the
    stage the customer was in when answering, that is at the end of the day before the answer (the
    answer itself can move a loyal customer to advocacy); for a customer first seen that day, the
    stage of that day. Every stage appears every month, from the first answer to the month of as_of_date.
    Scaling: a join of each answer with the stage spells of its customer (few per customer).
-#}
with

answers as (
    select
        response_id,
        customer_id,
        cast(responded_at as date) as response_date,
        {{ month_start('responded_at') }} as nps_month,
        {{ nps_class('score') }} as nps_class
    from {{ ref('stg_shop__nps_responses') }}
    where cast(responded_at as date) <= {{ as_of_date() }}
),

history as (
    select * from {{ ref('fct_lifecycle_stage_history') }}
),

answer_stages as (
    select
        answers.response_id,
        answers.nps_month,
        answers.nps_class,
        coalesce(stage_before.stage, stage_on_day.stage) as stage
    from answers
    left join history as stage_before
        on
            answers.customer_id = stage_before.person_id
            and answers.response_date > stage_before.valid_from
            and (answers.response_date <= stage_before.valid_to or stage_before.valid_to is null)
    left join history as stage_on_day
        on
            answers.customer_id = stage_on_day.person_id
            and answers.response_date = stage_on_day.valid_from
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

stages as (
    {% for stage in lifecycle_stages() -%}
        select '{{ stage }}' as stage{{ ' union all ' if not loop.last }}
    {%- endfor %}
),

monthly as (
    select
        nps_month,
        stage,
        count(*) as responses,
        sum(case when nps_class = 'promoter' then 1 else 0 end) as promoters,
        sum(case when nps_class = 'passive' then 1 else 0 end) as passives,
        sum(case when nps_class = 'detractor' then 1 else 0 end) as detractors
    from answer_stages
    group by nps_month, stage
),

filled as (
    select
        months.nps_month,
        stages.stage,
        coalesce(monthly.responses, 0) as responses,
        coalesce(monthly.promoters, 0) as promoters,
        coalesce(monthly.passives, 0) as passives,
        coalesce(monthly.detractors, 0) as detractors
    from months
    cross join stages
    left join monthly
        on months.nps_month = monthly.nps_month and stages.stage = monthly.stage
),

final as (
    select
        nps_month,
        cast(stage as {{ dbt.type_string() }}) as stage,
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
