{#- Nothing is lost (docs block `raw_loads`): for every raw table and every load, the raw rows
    equal the ledger's (stg_shop__loads), and the ledger's rows are staged + superseded + deleted +
    quarantined; per table its staged rows are those of stg_shop__<table> and its quarantined rows
    those of stg_shop__quarantined_rows. Returns one row per table or load where they disagree.
    The tables are those of the contract (macro raw_contract), each declared below with a
    depends_on line. -#}
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
-- depends_on: {{ ref('stg_shop__loads') }}
with

raw_loads as (
    {% for table in raw_contract() -%}
        select
            '{{ table }}' as source_table,
            load_id,
            count(*) as raw_rows
        from {{ raw_relation(table) }} as raw_table
        group by load_id
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

table_counts as (
    {% for table in raw_contract() -%}
        select
            '{{ table }}' as source_table,
            (select count(*) from {{ ref('stg_shop__' ~ table) }}) as staged_rows,
            (
                select count(*) from {{ ref('stg_shop__quarantined_rows') }} as quarantined
                where quarantined.source_table = '{{ table }}'
            ) as quarantined_rows
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

ledger as (
    select * from {{ ref('stg_shop__loads') }}
),

load_disagreements as (
    select
        coalesce(raw_loads.source_table, ledger.source_table) as source_table,
        coalesce(raw_loads.load_id, ledger.load_id) as load_id,
        raw_loads.raw_rows,
        ledger.raw_rows as ledger_rows
    from raw_loads
    full outer join ledger
        on raw_loads.source_table = ledger.source_table
            and raw_loads.load_id = ledger.load_id
    where raw_loads.raw_rows is null
        or ledger.raw_rows is null
        or raw_loads.raw_rows <> ledger.raw_rows
        or ledger.raw_rows
        <> ledger.staged_rows + ledger.superseded_rows + ledger.deleted_rows + ledger.quarantined_rows
),

table_disagreements as (
    select
        table_counts.source_table,
        cast(null as {{ dbt.type_string() }}) as load_id,
        table_counts.staged_rows as raw_rows,
        sum(ledger.staged_rows) as ledger_rows
    from table_counts
    left join ledger
        on table_counts.source_table = ledger.source_table
    group by table_counts.source_table, table_counts.staged_rows, table_counts.quarantined_rows
    having table_counts.staged_rows <> coalesce(sum(ledger.staged_rows), 0)
        or table_counts.quarantined_rows <> coalesce(sum(ledger.quarantined_rows), 0)
)

select * from load_disagreements
union all
select * from table_disagreements
