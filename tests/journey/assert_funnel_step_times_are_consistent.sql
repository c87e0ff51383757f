{#- In every entry a step is reached only after the steps before it were (never earlier), steps
    beyond the funnel's length are empty, steps_reached counts the reached steps, converted_at is
    the last step's time, and in a person-scope funnel every step lies inside the attempt's window. -#}
with

entries as (
    select * from {{ ref('fct_funnel_sessions') }}
),

numbers as (
    select digits.n + 1 as step_number
    from {{ whole_numbers(funnel_max_steps()) }} as digits
    where digits.n < {{ funnel_max_steps() }}
),

steps as (
    select
        entries.funnel_name,
        entries.session_id,
        numbers.step_number,
        entries.funnel_steps,
        entries.steps_reached,
        entries.window_ends_at,
        {{ funnel_step_at('numbers.step_number') }} as reached_at,
        {{ funnel_step_at('numbers.step_number - 1') }} as previous_reached_at,
        case when numbers.step_number = entries.funnel_steps then entries.converted_at end as converted_at
    from entries
    cross join numbers
)

select *
from steps
where
    (step_number = 1 and (reached_at is null or reached_at <> previous_reached_at))
    or (reached_at is not null and (previous_reached_at is null or reached_at < previous_reached_at))
    or (reached_at is not null and step_number > funnel_steps)
    or (reached_at is not null and window_ends_at is not null and reached_at > window_ends_at)
    or ((reached_at is not null) <> (step_number <= steps_reached))
    or (
        step_number = funnel_steps
        and coalesce(reached_at <> converted_at, reached_at is not null or converted_at is not null)
    )
