{#- Nothing is lost: for every raw table, raw rows = staged rows + quarantined rows.
    Returns one row per table where the counts disagree. -#}
with

{% for table in var('raw_contract') %}
{{ table }}_counts as (
    select
        '{{ table }}' as source_table,
        (select count(*) from {{ raw_relation(table) }} as raw_rows) as raw_rows,
        (select count(*) from {{ ref('stg_shop__' ~ table) }}) as staged_rows,
        (
            select count(*) from {{ ref('stg_shop__quarantined_rows') }}
            where source_table = '{{ table }}'
        ) as quarantined_rows
),

{% endfor %}
final as (
    {%- for table in var('raw_contract') %}
    select * from {{ table }}_counts
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select * from final
where raw_rows <> staged_rows + quarantined_rows
