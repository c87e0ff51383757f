{#- Moves between lifecycle stages per month (the month of the day the new stage starts).
    Win-backs are the moves out of churned (is_reactivation). First entries are not moves: they
    are the inflow of fct_lifecycle_stage_monthly. -#}
with

history as (
    select * from {{ ref('fct_lifecycle_stage_history') }}
    where previous_stage is not null
),

final as (
    select
        {{ month_start('valid_from') }} as transition_month,
        previous_stage as from_stage,
        stage as to_stage,
        previous_stage = 'churned' as is_reactivation,
        cast(count(*) as {{ dbt.type_int() }}) as transitions,
        cast(count(distinct person_id) as {{ dbt.type_int() }}) as persons
    from history
    group by {{ month_start('valid_from') }}, previous_stage, stage
)

select * from final
