{#- Nothing is lost: for every raw table, raw rows = staged rows + quarantined rows.
    Returns one row per table where the counts disagree. -#}
with

row_counts as (
    {% for table in var('raw_contract') -%}
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
