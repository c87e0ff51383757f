{{ config(materialized="table") }}

{#-
    The units an incremental run recomputes (docs block `incremental_runs`), against the digests
    of the last successful build (int_changes__applied_digests, kept by a hook):
      anonymous_id  whose staged events changed (new, late, changed or gone rows), or with events
                    on the days between the previous and this as_of_date;
      person        the anonymous person of such an anonymous_id and every customer it is or was
                    identified as; every customer whose own rows changed or who has a dated fact
                    between the two as-of days; and every customer for whom a time rule (at_risk,
                    churned, the end of a referral's advocacy window) fires between them.
    Without digests of a last successful build every unit counts as touched; such a run recomputes
    everyone (incremental_mode() = 'full') and does not read this list.
-#}
{%- set applied = applied_digests_relation(ref('int_changes__unit_digests')) %}
{%- set compare = execute and relation_exists(applied) %}

with

current_digests as (
    select * from {{ ref('int_changes__unit_digests') }}
),

applied_digests as (
    select * from {{ applied if compare else 'current_digests' }}
    where {{ 'true' if compare else '1 = 0' }}
),

as_of_days as (
    select
        (select max(as_of_date) from applied_digests) as previous_as_of_date,
        (select as_of_date from {{ ref('int_as_of_date') }}) as as_of_date
),

changed_units as (
    select
        coalesce(current_digests.unit_type, applied_digests.unit_type) as unit_type,
        coalesce(current_digests.unit_id, applied_digests.unit_id) as unit_id
    from current_digests
    full outer join applied_digests
        on current_digests.unit_type = applied_digests.unit_type
            and current_digests.unit_id = applied_digests.unit_id
            and coalesce(current_digests.linked_id, '') = coalesce(applied_digests.linked_id, '')
    where current_digests.unit_id is null
        or applied_digests.unit_id is null
        or current_digests.unit_rows <> applied_digests.unit_rows
        or current_digests.digest <> applied_digests.digest
),

anonymous_ids as (
    select unit_id as anonymous_id from changed_units
    where unit_type in ('anonymous_id', 'identification')
    union
    select events.anonymous_id
    from {{ ref('stg_shop__events') }} as events
    cross join as_of_days
    where cast(events.occurred_at as date) > as_of_days.previous_as_of_date
        and cast(events.occurred_at as date) <= as_of_days.as_of_date
),

identifications as (
    select
        unit_id as anonymous_id,
        linked_id as customer_id
    from current_digests
    where unit_type = 'identification'
    union
    select
        unit_id,
        linked_id
    from applied_digests
    where unit_type = 'identification'
),

dated_facts as (
    {#- customer, day of a fact that can move a stage or start a time rule -#}
    select
        customer_id,
        cast(signed_up_at as date) as fact_date
    from {{ ref('stg_shop__customers') }}
    union all
    select
        customer_id,
        order_date as fact_date
    from {{ ref('int_orders') }}
    union all
    select
        customer_id,
        cast(responded_at as date) as fact_date
    from {{ ref('stg_shop__nps_responses') }}
    union all
    select
        referrer_customer_id as customer_id,
        cast(referred_at as date) as fact_date
    from {{ ref('stg_shop__referrals') }}
),

time_rule_days as (
    select
        customer_id,
        {{ time_rule_day('at_risk', 'order_date') }} as fact_date
    from {{ ref('int_orders') }}
    where is_valid_order
    union all
    select
        customer_id,
        {{ time_rule_day('churned', 'order_date') }}
    from {{ ref('int_orders') }}
    where is_valid_order
    union all
    select
        referrer_customer_id,
        {{ time_rule_day('referral_expiry', 'cast(referred_at as date)') }}
    from {{ ref('stg_shop__referrals') }}
),

persons as (
    select {{ dbt.concat(["'anonymous:'", 'anonymous_id']) }} as person_id from anonymous_ids
    union
    select identifications.customer_id
    from identifications
    inner join anonymous_ids
        on identifications.anonymous_id = anonymous_ids.anonymous_id
    union
    select unit_id from changed_units
    where unit_type = 'customer'
    union
    select moments.customer_id
    from (
        select * from dated_facts
        union all
        select * from time_rule_days
    ) as moments
    cross join as_of_days
    where moments.fact_date > as_of_days.previous_as_of_date
        and moments.fact_date <= as_of_days.as_of_date
),

final as (
    select
        cast('anonymous_id' as {{ dbt.type_string() }}) as unit_type,
        cast(anonymous_id as {{ dbt.type_string() }}) as unit_id
    from anonymous_ids
    union all
    select
        cast('person' as {{ dbt.type_string() }}) as unit_type,
        cast(person_id as {{ dbt.type_string() }}) as unit_id
    from persons
)

select * from final
