{{ config(**incremental_by_unit('person_id')) }}

{#-
    One row per session (docs block `sessions`), with the channel and device of its first event.
    Scaling: one group-by of the sessionized events by session. Incremental by person (docs block
    `incremental_runs`).
-#}
with

session_events as (
    select * from {{ ref('int_sessions__events') }}
    {{ touched_filter('person_id') }}
),

first_events as (
    select
        session_id,
        coalesce(channel, 'unknown') as channel,
        coalesce(device, 'unknown') as device
    from session_events
    where event_number_in_session = 1
),

summarised as (
    select
        session_id,
        person_id,
        customer_id,
        session_number,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        count(*) as events,
        sum(case when event_type = 'page_view' then 1 else 0 end) as page_views,
        sum(case when event_type = 'product_view' then 1 else 0 end) as product_views,
        sum(case when event_type = 'add_to_cart' then 1 else 0 end) as add_to_carts,
        sum(case when event_type = 'begin_checkout' then 1 else 0 end) as checkouts_begun,
        sum(case when event_type = 'purchase' then 1 else 0 end) as purchases,
        min(case when event_type = 'add_to_cart' then occurred_at end) as first_add_to_cart_at
    from session_events
    group by session_id, person_id, customer_id, session_number
),

final as (
    select
        summarised.session_id,
        summarised.person_id,
        summarised.customer_id,
        summarised.session_number,
        summarised.started_at,
        summarised.ended_at,
        cast(summarised.started_at as date) as session_date,
        {{ seconds_between('summarised.started_at', 'summarised.ended_at') }} as duration_seconds,
        first_events.channel,
        first_events.device,
        summarised.events,
        summarised.page_views,
        summarised.product_views,
        summarised.add_to_carts,
        summarised.checkouts_begun,
        summarised.purchases,
        summarised.first_add_to_cart_at
    from summarised
    inner join first_events
        on summarised.session_id = first_events.session_id
)

select *{{ unit_bucket_column('person_id') }} from final
