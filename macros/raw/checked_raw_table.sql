{#-
    checked_raw_table(table)

    The whole cleaning of one raw table, driven by its entry in the raw data contract (macro
    raw_contract: the source `shop`). Every raw row comes out exactly once, typed, with
    quarantine_reason null (the row is staged) or set to the first check it fails, in this order:
      missing_key, missing_value, unparseable_timestamp, unparseable_number, future_timestamp,
      negative_amount, out_of_range, unknown_code            (each row on its own)
      duplicate_row, conflicting_key                          (rows sharing a key and a load)
      orphan_reference                                        (against the staged parent)
      missing_exchange_rate                                   (orders in a currency with no rate)
    Cleaning before the checks: text is trimmed and blank means null; code columns are lower
    case, columns listed in `upper` upper case; timestamps become UTC.

    Which row of a key wins (docs block `raw_loads`): among the rows that pass the row checks, those
    of the key's latest load (for files the order of raw_file_load_order; for a warehouse table or
    a seed, load_id itself). One distinct row there is
    staged (its other copies in that load are duplicate_row); several distinct rows are all
    conflicting_key; a row marked deleted (var raw_deleted_column) there deletes the key. The key's
    rows of earlier loads are superseded. row_status says which: staged, superseded, deleted or
    quarantined (with quarantine_reason); the ledger stg_shop__loads counts them per load.

    The table's meta.currency says where its money's currency comes from: {column, at} adds
    exchange_rate (reporting currency per unit, 1 for the reporting currency) from the latest rate
    on or before that day; {of: parent} brings the referenced staged parent's exchange_rate along.

    The staged parents a table is checked against (its references, and stg_shop__exchange_rates
    for a currency column) are read with ref() while the build runs, so the model declares them
    with `-- depends_on:` lines (macro raw_contract says why).

    Cost (docs block `staging_scaling`): one pass over the raw rows; row_hash is a fixed-width
    fingerprint of the typed values; only rows whose key is shared are sorted (duplicates and
    conflicts), and the raw text (raw_values, row_key, raw_row_id) is built only for quarantined
    rows: staged rows carry null there.
-#}
{% macro checked_raw_table(table) -%}
{#- Parsing: only where the rows come from counts (the contract is not known yet). -#}
{%- if not execute -%}{{ return('select * from ' ~ raw_relation(table) ~ ' as raw_rows') }}{%- endif -%}
{#- raw_row_id identifies each quarantined raw row: a hash of its values and, for identical copies,
    which copy. -#}
{%- set spec = raw_spec(table) -%}
{%- set located = locate_raw_table(table) -%}
{%- set types = spec['columns'] -%}
{%- set columns = types.keys() | list -%}
{%- set key = spec['key'] -%}
{%- set codes = spec.get('codes', {}) -%}
{%- set upper_columns = spec.get('upper', []) -%}
{%- set ranges = spec.get('ranges', {}) -%}
{%- set currency = spec.get('currency') or {} -%}
{%- set convert_currency = currency if 'column' in currency else none -%}
{%- set carry = {currency['of']: ['exchange_rate']} if 'of' in currency else {} -%}
{%- set max_valid_at = var('max_valid_at') or run_started_at.strftime('%Y-%m-%d %H:%M:%S') -%}
{%- set min_valid_at = var('min_valid_at') -%}
{%- set max_money = var('max_money_amount') | int -%}
{%- set references = [] -%}
{%- set carried_columns = [] -%}
{%- set rate = {'expr': none} -%}
{%- for column, parent in spec.get('references', {}).items() -%}
    {%- if raw_table_exists(parent) -%}
        {%- do references.append({'column': column, 'parent': parent, 'alias': 'parent_' ~ loop.index,
            'parent_key': raw_spec(parent)['key'][0], 'model': ref('stg_shop__' ~ parent)}) -%}
        {%- do carried_columns.extend(carry.get(parent, [])) -%}
        {%- if 'exchange_rate' in carry.get(parent, []) -%}{%- do rate.update({'expr': 'parent_' ~ loop.index ~ '.exchange_rate'}) -%}{%- endif -%}
    {%- endif -%}
{%- endfor -%}
{#- The exchange rate of a row's money (reporting currency per unit), when the table has one: its
    amounts in the reporting currency are held to the same ceiling. -#}
{%- if convert_currency -%}
    {%- do rate.update({'expr': "(case when key_checks." ~ convert_currency['column'] ~ " = "
        ~ sql_string(var('reporting_currency')) ~ " then cast(1 as " ~ dbt.type_numeric()
        ~ ") else exchange_rates.rate_to_reporting end)"}) -%}
{%- endif -%}
{%- set rate_expr = rate['expr'] -%}

with

source as (
    select * from {{ raw_relation(table, located) }} as raw_rows
),

cleaned as (
    select
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
        deleted_mark
    from source
),

parsed as (
    select
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
        coalesce(lower(trim(deleted_mark)) in ('true', 't', '1', 'yes'), false) as is_deleted
    from cleaned
),

row_checks as (
    select
        *,
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
            {%- for column in columns if types[column] == 'timestamp' %}
            when {{ column }} > cast({{ sql_string(max_valid_at) }} as {{ dbt.type_timestamp() }}) then 'future_timestamp'
            {%- endfor %}
            {%- for column in columns if types[column] == 'date' %}
            when {{ column }} > cast(cast({{ sql_string(max_valid_at) }} as {{ dbt.type_timestamp() }}) as date) then 'future_timestamp'
            {%- endfor %}
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
        {{ row_fingerprint(columns) }} as row_hash
    from parsed
),

{#- Keys that more than one row passing the row checks shares: the only rows that need a sort. -#}
{%- set same_key = [] %}
{%- for column in key %}{% do same_key.append('repeated_keys.' ~ column ~ ' = row_checks.' ~ column) %}{% endfor %}
repeated_keys as (
    select {{ key | join(', ') }}
    from row_checks
    where row_issue is null
    group by {{ key | join(', ') }}
    having count(*) > 1
),

{#- Their rows, with load_recency 1 for the rows of the key's latest load. Only these rows need
    the order of their loads. #}
{%- set load_order = located.get('load_order') if located else none %}
repeated_rows as (
    select
        row_checks.*,
        rank() over (
            partition by {% for column in key %}row_checks.{{ column }}{{ ', ' if not loop.last }}{% endfor %}
            order by {{ 'loads.load_order' if load_order else 'row_checks.load_id' }} desc, row_checks.load_id desc
        ) as load_recency
    from row_checks
    inner join repeated_keys
        on {{ same_key | join(' and ') }}
    {%- if load_order %}
    left join {{ load_order }} as loads
        on row_checks.load_id = loads.load_id
    {%- endif %}
    where row_checks.row_issue is null
),

latest_versions as (
    select
        {{ key | join(', ') }},
        min(row_hash) as min_row_hash,
        max(row_hash) as max_row_hash,
        max(case when is_deleted then 1 else 0 end) = 1 as deletes_key
    from repeated_rows
    where load_recency = 1
    group by {{ key | join(', ') }}
),

key_checks as (
    select
        row_checks.*,
        1 as load_recency,
        row_checks.is_deleted as key_deleted,
        row_checks.row_issue as row_or_key_issue
    from row_checks
    left join repeated_keys
        on {{ same_key | join(' and ') }}
    where row_checks.row_issue is not null or repeated_keys.{{ key[0] }} is null
    union all
    select
        repeated_rows.*,
        latest_versions.deletes_key as key_deleted,
        case
            when repeated_rows.load_recency > 1 or latest_versions.deletes_key then null
            when latest_versions.min_row_hash <> latest_versions.max_row_hash then 'conflicting_key'
            when row_number() over (
                partition by {% for column in key %}repeated_rows.{{ column }}, {% endfor %}repeated_rows.load_recency
                order by {{ dbt.concat(raw_values_parts(columns, spec.get('pii', []))) }}
            ) > 1
                then 'duplicate_row'
        end as row_or_key_issue
    from repeated_rows
    inner join latest_versions
        on {% for column in key %}latest_versions.{{ column }} = repeated_rows.{{ column }}{{ ' and ' if not loop.last }}{% endfor %}
),

{%- if convert_currency %}

exchange_rates as (
    select * from {{ ref('stg_shop__exchange_rates') }}
),
{%- endif %}

checked as (
    select
        key_checks.*,
        {%- for reference in references %}
        {%- for column in carry.get(reference['parent'], []) %}
        {{ reference['alias'] }}.{{ column }},
        {%- endfor %}
        {%- endfor %}
        {%- if convert_currency %}
        {{ rate_expr }} as exchange_rate,
        {%- endif %}
        case
            when key_checks.row_or_key_issue is not null then key_checks.row_or_key_issue
            when key_checks.load_recency > 1 or key_checks.key_deleted then null
            {%- for reference in references %}
            when key_checks.{{ reference['column'] }} is not null
                and {{ reference['alias'] }}.{{ reference['parent_key'] }} is null
                then 'orphan_reference'
            {%- endfor %}
            {%- if convert_currency %}
            when key_checks.{{ convert_currency['column'] }} <> {{ sql_string(var("reporting_currency")) }}
                and exchange_rates.rate_to_reporting is null
                then 'missing_exchange_rate'
            {%- endif %}
            {%- for column in columns if types[column] == 'money' and rate_expr %}
            when key_checks.{{ column }} * {{ rate_expr }} > {{ max_money }} then 'out_of_range'
            {%- endfor %}
        end as quarantine_reason
    from key_checks
    {%- for reference in references %}
    left join {{ reference['model'] }} as {{ reference['alias'] }}
        on key_checks.{{ reference['column'] }} = {{ reference['alias'] }}.{{ reference['parent_key'] }}
    {%- endfor %}
    {%- if convert_currency %}
    {%- set on_day = 'cast(key_checks.' ~ convert_currency['at'] ~ ' as date)' %}
    left join exchange_rates
        on key_checks.{{ convert_currency['column'] }} = exchange_rates.currency
        and {{ on_day }} >= exchange_rates.valid_from
        and ({{ on_day }} < exchange_rates.valid_to or exchange_rates.valid_to is null)
    {%- endif %}
),

{#- The typed columns every row keeps, staged or quarantined. #}
{%- set output_columns = columns + carried_columns + (['exchange_rate'] if convert_currency else [])
    + ['row_hash', 'load_id'] %}

final as (
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
        {{ dbt.hash(dbt.concat(['raw_values', "'|'", 'cast(copy_number as ' ~ dbt.type_string() ~ ')'])) }} as raw_row_id,
        row_key,
        raw_values,
        cast('quarantined' as {{ dbt.type_string() }}) as row_status,
        quarantine_reason
    from (
        select
            *,
            row_number() over (partition by raw_values order by quarantine_reason, load_id) as copy_number
        from (
            select
                *,
                {{ dbt.concat(row_key_parts(key)) }} as row_key,
                {{ dbt.concat(raw_values_parts(columns, spec.get('pii', []))) }} as raw_values
            from checked
            where quarantine_reason is not null
        ) as quarantined
    ) as numbered
)

select * from final
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
