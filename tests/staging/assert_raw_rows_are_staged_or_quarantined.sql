{#- Nothing is lost: for every raw table, raw rows = staged rows + quarantined rows.
    Returns one row per table where the counts disagree. The tables are those of the contract
    (macro raw_contract), each declared below with a depends_on line. -#}
-- depends_on: {{ ref('stg_shop__customers') }}
-- depends_on: {{ ref('stg_shop__orders') }}
-- depends_on: {{ ref('stg_shop__order_items') }}
-- depends_on: {{ ref('stg_shop__products') }}
-- depends_on: {{ ref('stg_shop__events') }}
-- depends_on: {{ ref('stg_shop__email_events') }}
-- depends_on: {{ ref('stg_shop__campaigns') }}
-- depends_on: {{ ref('stg_shop__nps_responses') }}
-- depends_on: {{ ref('stg_shop__referrals') }}
-- depends_on: {{ ref('stg_shop__marketing_spend') }}
-- depends_on: {{ ref('stg_shop__exchange_rates') }}
-- depends_on: {{ ref('stg_shop__quarantined_rows') }}
with

row_counts as (
    {% for table in raw_contract() -%}
        select
            '{{ table }}' as source_table,
            (select count(*) from {{ raw_relation(table) }} as raw_table) as raw_rows,
            (select count(*) from {{ ref('stg_shop__' ~ table) }}) as staged_rows,
            (
                select count(*) from {{ ref('stg_shop__quarantined_rows') }} as quarantined
                where quarantined.source_table = '{{ table }}'
            ) as quarantined_rows
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select * from row_counts
where raw_rows <> staged_rows + quarantined_rows
