{{ config(materialized="table") }}

{#- The one day every mart is computed as of: var as_of_date, or the last day present in the data.
    A table, so that the data is scanned for it once per build. -#}
with

last_days as (
    select max(order_date) as last_day from {{ ref('stg_shop__orders') }}
    union all
    select max(cast(occurred_at as date)) from {{ ref('stg_shop__events') }}
    union all
    select max(cast(occurred_at as date)) from {{ ref('stg_shop__email_events') }}
    union all
    select max(cast(responded_at as date)) from {{ ref('stg_shop__nps_responses') }}
    union all
    select max(cast(referred_at as date)) from {{ ref('stg_shop__referrals') }}
    union all
    select max(cast(signed_up_at as date)) from {{ ref('stg_shop__customers') }}
),

final as (
    select
        {% if var('as_of_date') -%}
            max(cast({{ sql_string(var('as_of_date')) }} as date))
        {%- else -%}
            max(last_day)
        {%- endif %} as as_of_date
    from last_days
)

select * from final
