{{ config(**incremental_by_unit('person_id', mart=true)) }}

{#-
    Every session (docs block `sessions`) with its channel, device, event counts and whether it
    converted in the KPI funnel (macro kpi_funnel_name): the session grain of the semantic layer's
    sessions and session_conversion_rate.
    Scaling: a join of the sessions with the converted entries of one funnel. Incremental by person
    (docs block `incremental_runs`); a full table on Spark, like fct_lifecycle_stage_history, and
    on_schema_change append_new_columns for the same reason (the contract's varchar is PostgreSQL's
    text).
-#}
{%- set kpi_funnel = kpi_funnel_name() %}
with

sessions as (
    select * from {{ ref('int_sessions') }}
    {{ touched_filter('person_id') }}
),

funnel_entries as (
    select * from {{ ref('int_funnel__entries') }}
    {{ touched_filter('person_id') }}
),

converted as (
    select distinct entry_session_id
    from funnel_entries
    where funnel_name = {{ sql_string(kpi_funnel) }} and converted_at is not null
),

final as (
    select
        sessions.session_id,
        sessions.person_id,
        sessions.customer_id,
        cast(sessions.session_number as {{ dbt.type_int() }}) as session_number,
        sessions.started_at,
        sessions.ended_at,
        sessions.session_date,
        sessions.duration_seconds,
        sessions.channel,
        sessions.device,
        cast(sessions.events as {{ dbt.type_int() }}) as events,
        cast(sessions.page_views as {{ dbt.type_int() }}) as page_views,
        cast(sessions.product_views as {{ dbt.type_int() }}) as product_views,
        cast(sessions.add_to_carts as {{ dbt.type_int() }}) as add_to_carts,
        cast(sessions.checkouts_begun as {{ dbt.type_int() }}) as checkouts_begun,
        cast(sessions.purchases as {{ dbt.type_int() }}) as purchases,
        case
            when {{ 'true' if kpi_funnel else 'false' }} then converted.entry_session_id is not null
        end as is_converted
    from sessions
    left join converted
        on sessions.session_id = converted.entry_session_id
)

select * from final
