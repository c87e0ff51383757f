{{ config(materialized="table") }}

{#- Every raw row that did not pass staging, one row each, with the reason it was held back.
    For each raw table: raw rows = staged rows + quarantined rows. The tables are those of the
    contract (macro raw_contract), each declared below with a depends_on line. -#}
-- depends_on: {{ ref('base_shop__customers') }}
-- depends_on: {{ ref('base_shop__orders') }}
-- depends_on: {{ ref('base_shop__order_items') }}
-- depends_on: {{ ref('base_shop__products') }}
-- depends_on: {{ ref('base_shop__events') }}
-- depends_on: {{ ref('base_shop__email_events') }}
-- depends_on: {{ ref('base_shop__campaigns') }}
-- depends_on: {{ ref('base_shop__nps_responses') }}
-- depends_on: {{ ref('base_shop__referrals') }}
-- depends_on: {{ ref('base_shop__marketing_spend') }}
-- depends_on: {{ ref('base_shop__exchange_rates') }}
with

final as (
    {% for table in raw_contract() -%}
        select
            raw_row_id as quarantined_row_id,
            '{{ table }}' as source_table,
            row_key,
            quarantine_reason,
            raw_values
        from {{ ref('base_shop__' ~ table) }}
        where quarantine_reason is not null
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select * from final
