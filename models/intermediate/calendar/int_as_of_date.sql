{{ config(materialized="table") }}

{#- The one day every mart is computed as of: var as_of_date, or the last day present in the data;
    and the data's first and last days (fct_build_record). A table, so that the data is scanned
    for it once per build. -#}
with

data_days as (
    select
        min(order_date) as first_day,
        max(order_date) as last_day
    from {{ ref('stg_shop__orders') }}
    union all
    select
        min(cast(occurred_at as date)) as first_day,
        max(cast(occurred_at as date)) as last_day
    from {{ ref('stg_shop__events') }}
    union all
    select
        min(cast(occurred_at as date)) as first_day,
        max(cast(occurred_at as date)) as last_day
    from {{ ref('stg_shop__email_events') }}
    union all
    select
        min(cast(responded_at as date)) as first_day,
        max(cast(responded_at as date)) as last_day
    from {{ ref('stg_shop__nps_responses') }}
    union all
    select
        min(cast(referred_at as date)) as first_day,
        max(cast(referred_at as date)) as last_day
    from {{ ref('stg_shop__referrals') }}
    union all
    select
        min(cast(signed_up_at as date)) as first_day,
        max(cast(signed_up_at as date)) as last_day
    from {{ ref('stg_shop__customers') }}
),

final as (
    select
        {% if var('as_of_date') -%}
            max(cast({{ sql_string(var('as_of_date')) }} as date))
        {%- else -%}
            max(last_day)
        {%- endif %} as as_of_date,
        min(first_day) as data_first_day,
        max(last_day) as data_last_day
    from data_days
)

select * from final
