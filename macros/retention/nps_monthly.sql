{#-
    NPS per month (docs block `nps_monthly`), the one query behind fct_nps_monthly
    (by_stage = false) and fct_nps_monthly_by_stage (by_stage = true). Every answer given in the
    month counts (a customer answering twice counts twice). Months run from the first answer to the
    month of as_of_date; a month (and stage) without answers has 0 responses and a null NPS.
    By stage: the stage the customer was in when answering, that is at the end of the day before
    the answer (the answer itself can move a loyal customer to advocacy); for a customer first seen
    that day, the stage of that day. Every stage appears every month.
    Scaling: one group-by of the answers; by stage, a join of each answer with the stage spells of
    its customer (few per customer).
-#}
{% macro nps_monthly(by_stage=false) -%}
{%- set stage_key = 'stage, ' if by_stage else '' -%}
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

{% if by_stage -%}
history as (
    select * from {{ ref('fct_lifecycle_stage_history') }}
),

grouped_answers as (
    select
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

stages as (
    {% for stage in lifecycle_stages() -%}
        select {{ sql_string(stage) }} as stage{{ ' union all ' if not loop.last }}
    {%- endfor %}
),
{%- else -%}
grouped_answers as (
    select * from answers
),
{%- endif %}

months as (
    {{ month_spine('answers', 'response_date', 'nps_month') }}
),

monthly as (
    select
        nps_month,
        {{ stage_key }}count(*) as responses,
        sum(case when nps_class = 'promoter' then 1 else 0 end) as promoters,
        sum(case when nps_class = 'passive' then 1 else 0 end) as passives,
        sum(case when nps_class = 'detractor' then 1 else 0 end) as detractors
    from grouped_answers
    group by {{ stage_key }}nps_month
),

filled as (
    select
        months.nps_month,
        {{ 'stages.stage,' if by_stage }}
        coalesce(monthly.responses, 0) as responses,
        coalesce(monthly.promoters, 0) as promoters,
        coalesce(monthly.passives, 0) as passives,
        coalesce(monthly.detractors, 0) as detractors
    from months
    {{ 'cross join stages' if by_stage }}
    left join monthly
        on months.nps_month = monthly.nps_month{{ ' and stages.stage = monthly.stage' if by_stage }}
),

final as (
    select
        nps_month,
        {{ 'cast(stage as ' ~ dbt.type_string() ~ ') as stage,' if by_stage }}
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
{%- endmacro %}
