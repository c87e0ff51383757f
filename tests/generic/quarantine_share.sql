{#- How much of a raw table staging quarantined (model: its base model, one row per raw row).
    Warns when more than quarantine_warn_percent of the table's rows are quarantined, fails above
    quarantine_error_percent: a quarantine that swallows a table is an error, not a pass. The
    failure count dbt prints is that share in whole percent, rounded up; the lines logged with it
    name the table, each reason and its share. Returns one row per reason while the table is above
    the warning level. -#}
{% test quarantine_share(model, source_table) %}
{%- set warn_percent = var('quarantine_warn_percent') | int -%}
{%- set error_percent = var('quarantine_error_percent') | int -%}
{{ config(fail_calc='coalesce(max(quarantined_percent), 0)', warn_if='> ' ~ warn_percent, error_if='> ' ~ error_percent) }}
{%- set shares_sql -%}
with

reasons as (
    select
        quarantine_reason,
        count(*) as row_count
    from {{ model }}
    group by quarantine_reason
),

shares as (
    select
        quarantine_reason,
        row_count as quarantined_rows,
        sum(row_count) over () as raw_rows,
        sum(case when quarantine_reason is not null then row_count else 0 end) over () as table_quarantined_rows
    from reasons
)

select
    {{ sql_string(source_table) }} as source_table,
    quarantine_reason,
    quarantined_rows,
    raw_rows,
    cast(ceil(100.0 * table_quarantined_rows / raw_rows) as {{ dbt.type_int() }}) as quarantined_percent
from shares
where quarantine_reason is not null
{%- endset -%}
{%- if execute -%}
    {%- for row in run_query(shares_sql).rows if row[4] > warn_percent -%}
        {%- do log("Quarantine: " ~ source_table ~ " " ~ row[1] ~ " " ~ row[2] ~ " of " ~ row[3] ~ " raw rows ("
            ~ '%.1f' % (100.0 * row[2] / row[3]) ~ " %); the table is " ~ row[4] ~ " % quarantined, above "
            ~ ("quarantine_error_percent (" ~ error_percent if row[4] > error_percent
               else "quarantine_warn_percent (" ~ warn_percent) ~ " %)", info=true) -%}
    {%- endfor -%}
{%- endif -%}
{{ shares_sql }}
{% endtest %}
