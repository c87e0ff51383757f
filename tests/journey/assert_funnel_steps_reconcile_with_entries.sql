{#- Per funnel, step 1 of fct_funnel_steps counts every entry of fct_funnel_sessions, the last step
    every converted entry, and every declared step appears. -#}
with

entries as (
    select
        funnel_name,
        count(*) as entries,
        sum(case when is_converted then 1 else 0 end) as converted_entries
    from {{ ref('fct_funnel_sessions') }}
    group by funnel_name
),

declared as (
    select
        funnel_name,
        max(funnel_steps) as funnel_steps
    from {{ ref('int_funnel__steps') }}
    group by funnel_name
),

steps as (
    select
        funnel_steps.funnel_name,
        sum(case when funnel_steps.step_number = 1 then funnel_steps.entries_reaching_step else 0 end)
            as step_1_entries,
        sum(
            case
                when funnel_steps.step_number = declared.funnel_steps then funnel_steps.entries_reaching_step else 0
            end
        ) as last_step_entries,
        count(distinct funnel_steps.step_number) as steps_seen,
        max(declared.funnel_steps) as funnel_steps
    from {{ ref('fct_funnel_steps') }} as funnel_steps
    inner join declared
        on funnel_steps.funnel_name = declared.funnel_name
    group by funnel_steps.funnel_name
)

select
    entries.funnel_name,
    entries.entries,
    entries.converted_entries,
    steps.step_1_entries,
    steps.last_step_entries,
    steps.steps_seen,
    steps.funnel_steps
from entries
left join steps
    on entries.funnel_name = steps.funnel_name
where
    steps.funnel_name is null
    or entries.entries <> steps.step_1_entries
    or entries.converted_entries <> steps.last_step_entries
    or steps.steps_seen <> steps.funnel_steps
