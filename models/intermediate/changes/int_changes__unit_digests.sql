{{ config(materialized="table", pre_hook="{{ keep_applied_digests() }}") }}

{#-
    A fingerprint of everything a person's history is made of, per unit (docs block
    `incremental_runs`): per anonymous_id its staged events; per customer its customer row, orders,
    NPS answers and referrals made; and every identification (an anonymous_id seen with a
    customer_id), which says whose histories an anonymous_id's events can belong to. The digest is
    the row count and the sum of the rows' fingerprints, so it does not depend on row order.
    The settings hash and as_of_date of the build ride along, for the next run to compare.
    Scaling: one pass and one group-by over each staged table.
-#}
{%- set sources = [
    {'model': 'stg_shop__events', 'unit_type': 'anonymous_id', 'unit': 'anonymous_id',
     'columns': ['event_id', 'anonymous_id', 'customer_id', 'event_type', 'occurred_at', 'product_id', 'order_id', 'channel', 'device']},
    {'model': 'stg_shop__customers', 'unit_type': 'customer', 'unit': 'customer_id',
     'columns': ['customer_id', 'email', 'signed_up_at', 'country', 'acquisition_channel']},
    {'model': 'stg_shop__orders', 'unit_type': 'customer', 'unit': 'customer_id',
     'columns': ['order_id', 'customer_id', 'ordered_at', 'status', 'currency', 'order_total_in_currency', 'order_total']},
    {'model': 'stg_shop__nps_responses', 'unit_type': 'customer', 'unit': 'customer_id',
     'columns': ['response_id', 'customer_id', 'responded_at', 'score']},
    {'model': 'stg_shop__referrals', 'unit_type': 'customer', 'unit': 'referrer_customer_id',
     'columns': ['referral_id', 'referrer_customer_id', 'referred_customer_id', 'referred_at']},
] %}

with

fingerprinted_rows as (
    {%- for source in sources %}
        select
            {{ sql_string(source.unit_type) }} as unit_type,
            {{ source.unit }} as unit_id,
            cast(null as {{ dbt.type_string() }}) as linked_id,
            {{ row_fingerprint(source.columns) }} as fingerprint
        from {{ ref(source.model) }}
        union all
    {%- endfor %}
    select distinct
        'identification' as unit_type,
        anonymous_id as unit_id,
        customer_id as linked_id,
        0 as fingerprint
    from {{ ref('stg_shop__events') }}
    where customer_id is not null
),

digests as (
    select
        unit_type,
        unit_id,
        linked_id,
        count(*) as unit_rows,
        sum(fingerprint) as digest
    from fingerprinted_rows
    group by unit_type, unit_id, linked_id
),

final as (
    select
        cast(digests.unit_type as {{ dbt.type_string() }}) as unit_type,
        cast(digests.unit_id as {{ dbt.type_string() }}) as unit_id,
        cast(digests.linked_id as {{ dbt.type_string() }}) as linked_id,
        digests.unit_rows,
        cast(digests.digest as decimal(38, 0)) as digest,
        build.as_of_date,
        cast({{ sql_string(incremental_settings_hash()) }} as {{ dbt.type_string() }}) as settings_hash,
        cast({{ sql_string(invocation_id) }} as {{ dbt.type_string() }}) as invocation_id
    from digests
    cross join {{ ref('int_as_of_date') }} as build
)

select * from final
