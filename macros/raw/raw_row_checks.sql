{#-
    The checks of checked_raw_table (docs block `shop_staging`) that look at one raw row at a time:
    the cleaning of its text, its parsing into typed columns, and the first check it fails.
-#}

{#- The select list of the cleaned rows: trimmed text, blank as null, codes lower case, `upper`
    columns upper case; and each column as it arrived (raw_<column>), for the quarantine. -#}
{% macro raw_cleaned_columns(spec) -%}
{%- set columns = spec['columns'].keys() | list -%}
{%- set codes = spec.get('codes', {}) -%}
{%- set upper_columns = spec.get('upper', []) -%}
        {%- for column in columns %}
        {%- set text = "nullif(trim(" ~ column ~ "), '')" %}
        {%- if column in codes %}
        lower({{ text }}) as {{ column }},
        {%- elif column in upper_columns %}
        upper({{ text }}) as {{ column }},
        {%- else %}
        {{ text }} as {{ column }},
        {%- endif %}
        {%- endfor %}
        {%- for column in columns %}
        {{ column }} as raw_{{ column }},
        {%- endfor %}
        load_id,
        load_version,
        deleted_mark
{%- endmacro %}

{#- The select list of the parsed rows: each column typed (text_<column> keeps its cleaned text),
    and is_deleted from the soft-delete mark (var raw_deleted_column). -#}
{% macro raw_parsed_columns(spec) -%}
{%- set types = spec['columns'] -%}
{%- set columns = types.keys() | list -%}
        {%- for column in columns %}
        {{ column }} as text_{{ column }},
        {%- set type = types[column] %}
        {%- if type == 'timestamp' %}
        {{ try_timestamp_utc(column) }} as {{ column }},
        {%- elif type == 'date' %}
        {{ try_date(column) }} as {{ column }},
        {%- elif type in ('money', 'number') %}
        {{ try_decimal(column) }} as {{ column }},
        {%- elif type == 'integer' %}
        {{ try_integer(column) }} as {{ column }},
        {%- else %}
        {{ column }},
        {%- endif %}
        {%- endfor %}
        {%- for column in columns %}
        raw_{{ column }},
        {%- endfor %}
        load_id,
        load_version,
        coalesce(lower(trim(deleted_mark)) in ('true', 't', '1', 'yes'), false) as is_deleted
{%- endmacro %}

{#- row_issue: the first check the row fails on its own, null when it passes them all. A row
    marked deleted needs only its key. -#}
{% macro raw_row_issue(spec) -%}
{%- set types = spec['columns'] -%}
{%- set columns = types.keys() | list -%}
{%- set key = spec['key'] -%}
{%- set codes = spec.get('codes', {}) -%}
{%- set ranges = spec.get('ranges', {}) -%}
{%- set max_valid_at = raw_max_valid_at() -%}
{%- set min_valid_at = var('min_valid_at') -%}
{%- set max_money = var('max_money_amount') | int -%}
        case
            when {% for column in key %}text_{{ column }} is null{{ ' or ' if not loop.last }}{% endfor %}
                then 'missing_key'
            {#- A deletion needs its key only. #}
            when is_deleted then null
            {%- for column in spec.get('not_null', []) %}
            when text_{{ column }} is null then 'missing_value'
            {%- endfor %}
            {%- for column in columns if types[column] in ('timestamp', 'date') %}
            when text_{{ column }} is not null and {{ column }} is null then 'unparseable_timestamp'
            {%- endfor %}
            {%- for column in columns if types[column] in ('money', 'number', 'integer') %}
            when text_{{ column }} is not null and {{ column }} is null then 'unparseable_number'
            {%- endfor %}
            when {{ raw_future_values(spec) }} then 'future_timestamp'
            {%- for column in columns if types[column] == 'money' %}
            when {{ column }} < 0 then 'negative_amount'
            {%- endfor %}
            {%- for column in columns if types[column] == 'money' %}
            when {{ column }} > {{ max_money }} then 'out_of_range'
            {%- endfor %}
            {%- for column in columns if types[column] == 'timestamp' %}
            when {{ column }} < cast({{ sql_string(min_valid_at) }} as {{ dbt.type_timestamp() }}) then 'out_of_range'
            {%- endfor %}
            {%- for column in columns if types[column] == 'date' %}
            when {{ column }} < cast(cast({{ sql_string(min_valid_at) }} as {{ dbt.type_timestamp() }}) as date) then 'out_of_range'
            {%- endfor %}
            {%- for column, bounds in ranges.items() %}
            {%- if bounds[0] is not none %}
            when {{ column }} < {{ bounds[0] }} then 'out_of_range'
            {%- endif %}
            {%- if bounds[1] is not none %}
            when {{ column }} > {{ bounds[1] }} then 'out_of_range'
            {%- endif %}
            {%- endfor %}
            {%- for column, vocabulary in codes.items() %}
            when {{ column }} not in ({{ sql_string_list(var(vocabulary)) }}) then 'unknown_code'
            {%- endfor %}
        end as row_issue,
{%- endmacro %}

{#- The latest valid moment: var max_valid_at, else the time the run started. -#}
{% macro raw_max_valid_at() -%}
    {{ return(var('max_valid_at') or run_started_at.strftime('%Y-%m-%d %H:%M:%S')) }}
{%- endmacro %}

{#- True when a timestamp or date of the row lies after raw_max_valid_at() (false, not null,
    when none does). -#}
{% macro raw_future_values(spec) -%}
{%- set types = spec['columns'] -%}
{%- set latest = 'cast(' ~ sql_string(raw_max_valid_at()) ~ ' as ' ~ dbt.type_timestamp() ~ ')' -%}
{%- set checks = [] -%}
{%- for column in types if types[column] == 'timestamp' -%}
    {%- do checks.append('coalesce(' ~ column ~ ' > ' ~ latest ~ ', false)') -%}
{%- endfor -%}
{%- for column in types if types[column] == 'date' -%}
    {%- do checks.append('coalesce(' ~ column ~ ' > cast(' ~ latest ~ ' as date), false)') -%}
{%- endfor -%}
{{ return('(' ~ (checks | join(' or ') if checks else 'false') ~ ')') }}
{%- endmacro %}
