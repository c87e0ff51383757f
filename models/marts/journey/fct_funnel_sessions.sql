{{ config(**incremental_by_unit('person_id', mart=true)) }}

{#-
    Every entry of every declared funnel (docs blocks `funnels`, `funnel_entry`): for a
    session-scope funnel an entry is a session that reached step 1; for a person-scope funnel it is
    one attempt of a person (session_id then holds the attempt's id). When each step was reached,
    the channel and device of the session the entry started in, and whether it converted.
    Scaling: a join of the entries with their entry session (grain: entries, not events), both of
    one person. Incremental by person (docs block `incremental_runs`); a full table on Spark, like
    fct_sessions.
-#}
with

entries as (
    select * from {{ ref('int_funnel__entries') }}
    {{ touched_filter('person_id') }}
),

sessions as (
    select * from {{ ref('int_sessions') }}
    {{ touched_filter('person_id') }}
),

steps as (
    select * from {{ ref('int_funnel__steps') }}
),

final as (
    select
        cast(entries.funnel_name as {{ dbt.type_string() }}) as funnel_name,
        cast(entries.entry_id as {{ dbt.type_string() }}) as session_id,
        cast(entries.funnel_scope as {{ dbt.type_string() }}) as funnel_scope,
        cast(entries.funnel_order as {{ dbt.type_string() }}) as funnel_order,
        cast(entries.person_id as {{ dbt.type_string() }}) as person_id,
        cast(entries.customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(entries.entry_session_id as {{ dbt.type_string() }}) as entry_session_id,
        cast(entries.attempt_number as {{ dbt.type_int() }}) as attempt_number,
        cast(entries.entered_at as {{ dbt.type_timestamp() }}) as entered_at,
        cast(entries.entered_at as date) as entry_date,
        cast(entries.window_ends_at as {{ dbt.type_timestamp() }}) as window_ends_at,
        cast(sessions.channel as {{ dbt.type_string() }}) as channel,
        cast(sessions.device as {{ dbt.type_string() }}) as device,
        cast(entries.funnel_steps as {{ dbt.type_int() }}) as funnel_steps,
        cast(entries.steps_reached as {{ dbt.type_int() }}) as steps_reached,
        cast(steps.step_name as {{ dbt.type_string() }}) as last_step_reached,
        entries.steps_reached = entries.funnel_steps as is_converted,
        cast(entries.converted_at as {{ dbt.type_timestamp() }}) as converted_at,
        cast(entries.step_1_at as {{ dbt.type_timestamp() }}) as step_1_at,
        cast(entries.step_2_at as {{ dbt.type_timestamp() }}) as step_2_at,
        cast(entries.step_3_at as {{ dbt.type_timestamp() }}) as step_3_at,
        cast(entries.step_4_at as {{ dbt.type_timestamp() }}) as step_4_at,
        cast(entries.step_5_at as {{ dbt.type_timestamp() }}) as step_5_at,
        cast(entries.step_6_at as {{ dbt.type_timestamp() }}) as step_6_at,
        cast(entries.step_7_at as {{ dbt.type_timestamp() }}) as step_7_at,
        cast(entries.step_8_at as {{ dbt.type_timestamp() }}) as step_8_at
    from entries
    inner join sessions
        on entries.entry_session_id = sessions.session_id
    inner join steps
        on entries.funnel_name = steps.funnel_name and entries.steps_reached = steps.step_number
)

select * from final
