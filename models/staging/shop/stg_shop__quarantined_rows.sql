{{ config(materialized="table") }}

{#- Every raw row that did not pass staging, one row each, with the reason it was held back.
    For each raw table: raw rows = staged rows + quarantined rows. -#}
with

final as (
    {% for table in var('raw_contract') -%}
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
