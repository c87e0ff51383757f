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
    (here, with raw_table_links), raw_outcome_rows (row_status, and the raw text of quarantined
    rows). In a daily run (macro raw_restage_mode) only the new loads and the loads that hold a key
    to decide again are read, and only the rows of those keys are written (raw_restaging.sql).
    Every row records the settings it was decided with (staging_settings) and the build that
    decided it (decided_by_invocation_id).

    The table's meta.currency says where its money's currency comes from: {column, at} adds
    exchange_rate (reporting currency per unit, 1 for the reporting currency) from the latest rate
    on or before that day; {of: parent} brings the referenced staged parent's exchange_rate along.

    The staged parents a table is checked against (its references, and stg_shop__exchange_rates
    for a currency column) are read with ref() while the build runs, so the model declares them
    with `-- depends_on:` lines (macro raw_contract says why).

    Cost (docs block `staging_scaling`): one pass over the raw rows read; row_hash is a fixed-width
    fingerprint of the typed values; only rows whose key is shared are sorted (duplicates and
    conflicts), and the raw text (raw_values, row_key, raw_row_id) is built only for quarantined
    rows: staged rows carry null there.
-#}
{% macro checked_raw_table(table) -%}
{#- Parsing: only where the rows come from counts (the contract is not known yet). -#}
{%- if not execute -%}{{ return('select * from ' ~ raw_relation(table) ~ ' as raw_rows') }}{%- endif -%}
{%- set spec = raw_spec(table) -%}
{%- set located = locate_raw_table(table) -%}
{%- set columns = spec['columns'].keys() | list -%}
{%- set links = raw_table_links(table, spec) -%}
{%- set rate_expr = links['rate_expr'] -%}
{%- set convert_currency = links['convert_currency'] -%}
{%- set restage = raw_restage_mode(table, spec, located) -%}
{%- set read = located -%}
{%- if restage == 'keys' -%}
    {#- The new loads' rows, then the loads that hold a key to decide again. -#}
    {%- set new_loads = raw_new_loads(located) -%}
    {%- set new_rows = '(select parsed.* from (' ~ raw_parsed_rows(spec, raw_relation(table, raw_located_loads(located, new_loads)))
        ~ ') as parsed inner join ' ~ new_loads ~ ' as new_loads on parsed.load_id = new_loads.load_id'
        ~ ' and parsed.load_version = new_loads.load_version)' -%}
    {%- set read = raw_located_loads(located, raw_loads_to_read(spec, raw_restaged_keys(spec, links, new_rows, located), located)) -%}
{%- endif %}

with

parsed as (
    {{ raw_parsed_rows(spec, raw_relation(table, read)) }}
),

row_checks as (
    select
        *,
        {{ raw_row_issue(spec) | trim }}
        {{ row_fingerprint(columns) }} as row_hash
    from parsed
),

{{ raw_key_checks(spec, read.get('load_order') if read else none) }},

checked as (
    select
        key_checks.*,
        {%- for reference in links['references'] %}
        {%- for column in reference['carried'] %}
        {{ reference['alias'] }}.{{ column }},
        {%- endfor %}
        {%- endfor %}
        {%- if convert_currency %}
        {{ rate_expr }} as exchange_rate,
        {%- endif %}
        case
            when key_checks.row_or_key_issue is not null then key_checks.row_or_key_issue
            when key_checks.load_recency > 1 or key_checks.key_deleted then null
            {%- for reference in links['references'] %}
            when key_checks.{{ reference['column'] }} is not null
                and {{ reference['alias'] }}.{{ reference['parent_key'] }} is null
                then 'orphan_reference'
            {%- endfor %}
            {%- if convert_currency %}
            when key_checks.{{ convert_currency['column'] }} <> {{ sql_string(var("reporting_currency")) }}
                and exchange_rates.rate_to_reporting is null
                then 'missing_exchange_rate'
            {%- endif %}
            {%- for column in columns if spec['columns'][column] == 'money' and rate_expr %}
            when key_checks.{{ column }} * {{ rate_expr }} > {{ var('max_money_amount') | int }} then 'out_of_range'
            {%- endfor %}
        end as quarantine_reason
    from key_checks
    {%- for reference in links['references'] %}
    left join {{ reference['model'] }} as {{ reference['alias'] }}
        on key_checks.{{ reference['column'] }} = {{ reference['alias'] }}.{{ reference['parent_key'] }}
    {%- endfor %}
    {{ raw_exchange_rate_join(convert_currency) }}
),

{#- The typed columns every row keeps, staged or quarantined. #}
{%- set output_columns = columns + links['carried_columns'] + (['exchange_rate'] if convert_currency else [])
    + ['row_hash', 'load_id', 'load_version'] %}

outcome as (
    {{- raw_outcome_rows(spec, output_columns) }}
),
{%- if restage == 'keys' %}

new_loads as (
    select * from {{ raw_new_loads(located) }} as new_loads
),

restaged_keys as (
    {{ raw_restaged_keys(spec, links, '(select parsed.* from parsed inner join new_loads on parsed.load_id = new_loads.load_id'
        ~ ' and parsed.load_version = new_loads.load_version)', located) }}
),

final as (
    {{ raw_restaged_rows(spec) }}
)
{%- else %}

final as (
    select * from outcome
)
{%- endif %}

select
    final.*,
    cast({{ sql_string(raw_staging_settings(table, spec)) }} as {{ dbt.type_string() }}) as staging_settings,
    cast({{ sql_string(invocation_id) }} as {{ dbt.type_string() }}) as decided_by_invocation_id
from final
{%- endmacro %}

{#- The parsed rows of a raw relation (raw_relation): cleaned, then typed. -#}
{% macro raw_parsed_rows(spec, relation) -%}
    select
        {{- raw_parsed_columns(spec) }}
    from (
        select
            {{- raw_cleaned_columns(spec) }}
        from {{ relation }} as raw_rows
    ) as cleaned
{%- endmacro %}

{#- What a table's rows are checked against besides themselves:
      references        [{column, parent, alias, parent_key, model, carried}] for each parent present
      carried_columns   the parents' columns a row takes along (meta.currency {of: parent})
      convert_currency  meta.currency {column, at} when the table's money has its own currency
      rate_expr         the row's exchange rate (reporting currency per unit), or none
    The staged parents are read with ref() while the build runs, so the model declares them with
    `-- depends_on:` lines (macro raw_contract says why). -#}
{% macro raw_table_links(table, spec) -%}
{%- set currency = spec.get('currency') or {} -%}
{%- set carry = {currency['of']: ['exchange_rate']} if 'of' in currency else {} -%}
{%- set links = {'references': [], 'carried_columns': [], 'rate_expr': none,
    'convert_currency': currency if 'column' in currency else none} -%}
{%- for column, parent in spec.get('references', {}).items() -%}
    {%- if raw_table_exists(parent) -%}
        {%- set alias = 'parent_' ~ loop.index -%}
        {%- do links['references'].append({'column': column, 'parent': parent, 'alias': alias,
            'parent_key': raw_spec(parent)['key'][0], 'model': ref('stg_shop__' ~ parent), 'carried': carry.get(parent, [])}) -%}
        {%- do links['carried_columns'].extend(carry.get(parent, [])) -%}
        {%- if 'exchange_rate' in carry.get(parent, []) -%}{%- do links.update({'rate_expr': alias ~ '.exchange_rate'}) -%}{%- endif -%}
    {%- endif -%}
{%- endfor -%}
{%- if links['convert_currency'] -%}
    {%- do links.update({'rate_expr': "(case when key_checks." ~ currency['column'] ~ " = "
        ~ sql_string(var('reporting_currency')) ~ " then cast(1 as " ~ dbt.type_numeric()
        ~ ") else exchange_rates.rate_to_reporting end)"}) -%}
{%- endif -%}
{{ return(links) }}
{%- endmacro %}

{#- The rate of the day of a row (key_checks) in its own currency: a left join of the staged rates
    as exchange_rates (nothing when convert_currency is none). -#}
{% macro raw_exchange_rate_join(convert_currency) -%}
    {%- if convert_currency %}
    {%- set on_day = 'cast(key_checks.' ~ convert_currency['at'] ~ ' as date)' %}
    left join {{ ref('stg_shop__exchange_rates') }} as exchange_rates
        on key_checks.{{ convert_currency['column'] }} = exchange_rates.currency
        and {{ on_day }} >= exchange_rates.valid_from
        and ({{ on_day }} < exchange_rates.valid_to or exchange_rates.valid_to is null)
    {%- endif %}
{%- endmacro %}
