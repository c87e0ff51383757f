{#- Down every funnel, per day, channel and device: the entries reaching a step never exceed those
    reaching the step before, and each step starts from exactly the entries that reached the
    previous one. -#}
with

steps as (
    select
        funnel_name,
        entry_date,
        channel,
        device,
        step_number,
        entries,
        entries_at_previous_step,
        entries_reaching_step,
        lag(entries_reaching_step) over (
            partition by funnel_name, entry_date, channel, device order by step_number
        ) as entries_reaching_previous_step
    from {{ ref('fct_funnel_steps') }}
)

select *
from steps
where
    entries_reaching_step > entries_at_previous_step
    or (step_number = 1 and entries_at_previous_step <> entries)
    or (step_number > 1 and entries_at_previous_step <> entries_reaching_previous_step)
