{#- The ledger of staged loads (docs block `raw_loads`): one row per raw table and load, with what
    became of its rows (row_status). For every load
    raw_rows = staged_rows + superseded_rows + deleted_rows + quarantined_rows.
    The tables are those of the contract (macro raw_contract), each declared below with a
    depends_on line. -#}
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

load_rows as (
    {% for table in raw_contract() -%}
        select
            '{{ table }}' as source_table,
            load_id,
            count(*) as raw_rows,
            sum(case when row_status = 'staged' then 1 else 0 end) as staged_rows,
            sum(case when row_status = 'superseded' then 1 else 0 end) as superseded_rows,
            sum(case when row_status = 'deleted' then 1 else 0 end) as deleted_rows,
            sum(case when row_status = 'quarantined' then 1 else 0 end) as quarantined_rows
        from {{ ref('base_shop__' ~ table) }}
        group by load_id
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

final as (
    select
        cast(source_table as {{ dbt.type_string() }}) as source_table,
        cast(load_id as {{ dbt.type_string() }}) as load_id,
        raw_rows,
        cast(staged_rows as {{ dbt.type_bigint() }}) as staged_rows,
        cast(superseded_rows as {{ dbt.type_bigint() }}) as superseded_rows,
        cast(deleted_rows as {{ dbt.type_bigint() }}) as deleted_rows,
        cast(quarantined_rows as {{ dbt.type_bigint() }}) as quarantined_rows,
        cast({{ sql_string(invocation_id) }} as {{ dbt.type_string() }}) as staged_by_invocation_id
    from load_rows
)

select * from final
