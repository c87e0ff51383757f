{#-
    The outcome of checked_raw_table (docs block `raw_loads`): every raw row once, with its typed
    columns (output_columns), row_status and quarantine_reason; the raw text of a quarantined row
    (raw_values, row_key, raw_row_id: a hash of its values, its load and, for identical copies in one
    load, which copy)
    is built for quarantined rows only. Reads the CTE checked.
-#}
{% macro raw_outcome_rows(spec, output_columns) -%}
{%- set types = spec['columns'] -%}
{%- set columns = types.keys() | list -%}
{%- set key = spec['key'] -%}
    select
        {%- for column in output_columns %}
        {{ column }},
        {%- endfor %}
        cast(null as {{ dbt.type_string() }}) as raw_row_id,
        cast(null as {{ dbt.type_string() }}) as row_key,
        cast(null as {{ dbt.type_string() }}) as raw_values,
        cast(case
            when load_recency > 1 then 'superseded'
            when key_deleted then 'deleted'
            else 'staged'
        end as {{ dbt.type_string() }}) as row_status,
        quarantine_reason
    from checked
    where quarantine_reason is null
    union all
    select
        {%- for column in output_columns %}
        {{ column }},
        {%- endfor %}
        {{ dbt.hash(dbt.concat(['raw_values', "'|'", 'load_id', "'|'", 'cast(copy_number as ' ~ dbt.type_string() ~ ')'])) }} as raw_row_id,
        row_key,
        raw_values,
        cast('quarantined' as {{ dbt.type_string() }}) as row_status,
        quarantine_reason
    from (
        select
            *,
            row_number() over (partition by raw_values, load_id order by quarantine_reason) as copy_number
        from (
            select
                *,
                {{ dbt.concat(row_key_parts(key)) }} as row_key,
                {{ dbt.concat(raw_values_parts(columns, spec.get('pii', []))) }} as raw_values
            from checked
            where quarantine_reason is not null
        ) as quarantined
    ) as numbered
{%- endmacro %}

{#- 'col=value | col=value', nulls shown as <null>: the raw row as it arrived (its raw_ columns),
    for quarantine; the table's pii columns as '<pii:' + the first 16 hex digits of the pseudonym + '>'. -#}
{% macro raw_values_parts(columns, pii=[]) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("'" ~ ('' if loop.first else ' | ') ~ column ~ "='") -%}
        {%- if column in pii -%}
            {#- A direct identifier shows as the start of its pseudonym: equal values stay equal. -#}
            {%- do parts.append("coalesce(" ~ dbt.concat(["'<pii:'", "substr(" ~ pseudonym('raw_' ~ column) ~ ", 1, 16)", "'>'"])
                ~ ", '<null>')") -%}
        {%- else -%}
            {%- do parts.append("coalesce(raw_" ~ column ~ ", '<null>')") -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(parts) }}
{%- endmacro %}

{#- The row key as text: the cleaned key columns (text_ columns) joined with '|'. -#}
{% macro row_key_parts(key) -%}
    {%- set parts = [] -%}
    {%- for column in key -%}
        {%- if not loop.first %}{% do parts.append("'|'") %}{% endif -%}
        {%- do parts.append("coalesce(text_" ~ column ~ ", '')") -%}
    {%- endfor -%}
    {{ return(parts) }}
{%- endmacro %}
