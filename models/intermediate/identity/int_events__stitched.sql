{{ config(**incremental_by_unit('anonymous_id', 'anonymous_id')) }}

{#-
    Tracking events known as of as_of_date, each with the person it belongs to (docs block
    `identity_stitching`). An event that carries a customer_id identifies its anonymous_id.
    An event without one belongs to the customer of the latest identification of its
    anonymous_id at or before it; before the first identification, to the first customer the
    anonymous_id is identified as. An anonymous_id never identified is a person of its own.
    Incremental by anonymous_id (docs block `incremental_runs`): a run restitches the touched
    anonymous_ids only.
    Cost: one window pass over the events (partitioned by anonymous_id), one over the identifying
    events only, and two hash joins.
-#}
with

touched_events as (
    select * from {{ ref('stg_shop__events') }}
    {{ touched_filter('anonymous_id', 'anonymous_id') }}
),

events as (
    select * from touched_events
    where cast(occurred_at as date) <= {{ as_of_date() }}
),

numbered as (
    select
        *,
        sum(case when customer_id is not null then 1 else 0 end) over (
            partition by anonymous_id order by occurred_at, event_id
            rows between unbounded preceding and current row
        ) as identifications_so_far
    from events
),

identifications as (
    {#- the n-th identification of each anonymous_id (numbered as in `numbered`) and its customer -#}
    select
        anonymous_id,
        row_number() over (partition by anonymous_id order by occurred_at, event_id) as identification_number,
        customer_id as identified_customer_id
    from events
    where customer_id is not null
),

resolved as (
    select
        numbered.*,
        coalesce(
            numbered.customer_id,
            latest.identified_customer_id,
            first_identification.identified_customer_id
        ) as resolved_customer_id
    from numbered
    left join identifications as latest
        on numbered.anonymous_id = latest.anonymous_id
            and numbered.identifications_so_far = latest.identification_number
    left join identifications as first_identification
        on numbered.anonymous_id = first_identification.anonymous_id
            and first_identification.identification_number = 1
),

final as (
    select
        event_id,
        coalesce(resolved_customer_id, {{ dbt.concat(["'anonymous:'", 'anonymous_id']) }}) as person_id,
        resolved_customer_id as customer_id,
        customer_id is not null as is_identified_event,
        anonymous_id,
        event_type,
        occurred_at,
        cast(occurred_at as date) as event_date,
        product_id,
        order_id,
        channel,
        device
    from resolved
)

select *{{ unit_bucket_column('anonymous_id') }} from final
