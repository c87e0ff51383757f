{{ config(**incremental_by_unit('person_id', mart=true)) }}

{#-
    Every person's lifecycle stage as intervals [valid_from, valid_to): one row per stage spell
    (docs block `lifecycle_stages`). Built from the checkpoints of
    int_lifecycle__stage_checkpoints by keeping the days on which the stage changes. Scaling: one
    sort of the checkpoints per person (lag and lead windows), never a person x day spine; the
    checkpoints' header says how their rows grow. Incremental
    by person (docs block `incremental_runs`). on_schema_change append_new_columns, not fail: the
    enforced contract declares varchar where PostgreSQL's new rows are text, the same type.
    On Spark a table rebuilt each run from the (incremental) checkpoints: a bucket column for
    partitions would break the mart's contract, and the rebuild is one pass over the checkpoints.
-#}
with

checkpoints as (
    select * from {{ ref('int_lifecycle__stage_checkpoints') }}
    {{ touched_filter('person_id') }}
),

compared as (
    select
        *,
        lag(stage) over (partition by person_id order by checkpoint_date) as stage_before
    from checkpoints
),

changes as (
    select * from compared
    where stage_before is null or stage <> stage_before
),

final as (
    select
        cast(person_id as {{ dbt.type_string() }}) as person_id,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        customer_id is null as is_anonymous,
        checkpoint_date as valid_from,
        lead(checkpoint_date) over (partition by person_id order by checkpoint_date) as valid_to,
        cast(stage as {{ dbt.type_string() }}) as stage,
        cast(stage_before as {{ dbt.type_string() }}) as previous_stage,
        lead(checkpoint_date) over (partition by person_id order by checkpoint_date) is null as is_current,
        cast(case
            when stage_before is null then 'first_seen'
            when valid_orders_on_day > 0 then 'order'
            when stage in ('at_risk', 'churned') then 'recency_threshold'
            when nps_answers_on_day > 0 then 'nps_answer'
            when referrals_on_day > 0 then 'referral'
            when referral_expiries > 0 then 'referral_expired'
            else 'engagement'
        end as {{ dbt.type_string() }}) as change_cause,
        coalesce(stage_before = 'churned', false) as is_reactivation,
        cast(valid_orders_to_date as {{ dbt.type_int() }}) as valid_orders_at_start,
        last_order_date as last_order_date_at_start
    from changes
)

select * from final
