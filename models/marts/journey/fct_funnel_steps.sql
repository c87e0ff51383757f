{#-
    Funnel steps per day of entry, channel and device (docs blocks `funnels`, `funnel_steps`):
    entries reaching each step, drop-off from the previous step, step and overall conversion, and
    the median time from the previous step. An entry counts at step k when it reached steps 1..k.
    Scaling: the entries times their steps (at most funnel_max_steps rows per entry), one group-by.
-#}
with

entries as (
    select * from {{ ref('fct_funnel_sessions') }}
),

steps as (
    select * from {{ ref('int_funnel__steps') }}
),

entry_steps as (
    select
        entries.funnel_name,
        entries.entry_date,
        entries.channel,
        entries.device,
        steps.step_number,
        steps.step_name,
        {{ funnel_step_at('steps.step_number') }} as reached_at,
        {{ funnel_step_at('steps.step_number - 1') }} as previous_reached_at
    from entries
    inner join steps
        on entries.funnel_name = steps.funnel_name
),

aggregated as (
    select
        funnel_name,
        entry_date,
        channel,
        device,
        step_number,
        step_name,
        count(*) as entries,
        count(previous_reached_at) as entries_at_previous_step,
        count(reached_at) as entries_reaching_step,
        {{ median(seconds_between('previous_reached_at', 'reached_at')) }} as median_seconds_from_previous_step
    from entry_steps
    group by funnel_name, entry_date, channel, device, step_number, step_name
),

final as (
    select
        cast(funnel_name as {{ dbt.type_string() }}) as funnel_name,
        entry_date,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(device as {{ dbt.type_string() }}) as device,
        cast(step_number as {{ dbt.type_int() }}) as step_number,
        cast(step_name as {{ dbt.type_string() }}) as step_name,
        cast(entries as {{ dbt.type_int() }}) as entries,
        cast(entries_at_previous_step as {{ dbt.type_int() }}) as entries_at_previous_step,
        cast(entries_reaching_step as {{ dbt.type_int() }}) as entries_reaching_step,
        cast(entries_at_previous_step - entries_reaching_step as {{ dbt.type_int() }}) as drop_off,
        {{ rate('entries_reaching_step', 'entries_at_previous_step') }} as step_conversion_rate,
        {{ rate('entries_reaching_step', 'entries') }} as overall_conversion_rate,
        cast(
            case when step_number > 1 then median_seconds_from_previous_step end as {{ type_double() }}
        ) as median_seconds_from_previous_step
    from aggregated
)

select * from final
