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
    a seed, load_id itself). One distinct row there is staged (its other copies in that load are
    duplicate_row); several distinct rows are all conflicting_key; a row marked deleted (var
    raw_deleted_column) there deletes the key. The key's rows of earlier loads are superseded.
    row_status says which: staged, superseded, deleted or quarantined (with quarantine_reason); the
    ledger stg_shop__loads counts them per load.

    The steps, each a macro of its own: raw_relation (the rows as text, with their load),
    raw_cleaned_columns and raw_parsed_columns (cleaning, typing), raw_row_issue (the checks of a
    row on its own), raw_key_checks (rows sharing a key), the references and the exchange rate
    (here), raw_outcome_rows (row_status, and the raw text of quarantined rows).

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
{%- set spec = raw_spec(table) -%}
{%- set located = locate_raw_table(table) -%}
{%- set types = spec['columns'] -%}
{%- set columns = types.keys() | list -%}
{%- set currency = spec.get('currency') or {} -%}
{%- set convert_currency = currency if 'column' in currency else none -%}
{%- set carry = {currency['of']: ['exchange_rate']} if 'of' in currency else {} -%}
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
        {{- raw_cleaned_columns(spec) }}
    from source
),

parsed as (
    select
        {{- raw_parsed_columns(spec) }}
    from cleaned
),

row_checks as (
    select
        *,
        {{ raw_row_issue(spec) | trim }}
        {{ row_fingerprint(columns) }} as row_hash
    from parsed
),

{{ raw_key_checks(spec, located.get('load_order') if located else none) }},

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
    {{- raw_outcome_rows(spec, output_columns) }}
)

select * from final
{%- endmacro %}
