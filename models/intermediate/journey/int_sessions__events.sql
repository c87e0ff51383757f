{{ config(**incremental_by_unit('person_id')) }}

{#-
    Every tracking event with the session it belongs to (docs block `sessions`). A person's
    events, in time order, start a new session when more than session_timeout_minutes have
    passed since the person's previous event (exactly the timeout is still the same session).
    Sessions are per person, after identity stitching, so one session can span devices.
    Scaling: one sort of the events per person (one window, partition by person_id); the running
    sums reuse it. Incremental by person (docs block `incremental_runs`).
-#}
with

events as (
    select * from {{ ref('int_events__stitched') }}
    {{ touched_filter('person_id') }}
),

ordered as (
    select
        *,
        row_number() over person_timeline as person_event_number,
        lag(occurred_at) over person_timeline as previous_occurred_at
    from events
    window person_timeline as (partition by person_id order by occurred_at, event_id)
),

flagged as (
    select
        *,
        case
            when previous_occurred_at is null then 1
            when occurred_at > {{ add_to_timestamp('minute', var('session_timeout_minutes'), 'previous_occurred_at') }}
                then 1
            else 0
        end as is_session_start
    from ordered
),

numbered as (
    select
        *,
        sum(is_session_start) over person_so_far as session_number,
        max(case when is_session_start = 1 then person_event_number end) over person_so_far as session_start_number
    from flagged
    window person_so_far as (
        partition by person_id order by person_event_number rows between unbounded preceding and current row
    )
),

final as (
    select
        event_id,
        {{ dbt.concat(['person_id', "'/'", 'cast(session_number as ' ~ dbt.type_string() ~ ')']) }} as session_id,
        person_id,
        customer_id,
        session_number,
        person_event_number - session_start_number + 1 as event_number_in_session,
        person_event_number,
        anonymous_id,
        event_type,
        occurred_at,
        event_date,
        product_id,
        order_id,
        channel,
        device
    from numbered
)

select *{{ unit_bucket_column('person_id') }} from final
