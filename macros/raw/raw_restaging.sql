{#-
    Daily runs of staging (docs block `raw_loads`): an incremental run of a base model reads only
    the loads it has not staged, and decides again only the keys whose outcome can have changed.
    The rows of the other keys stay as they are. A key is decided again, with every row it has in
    any load, when:
      - a new load brings a row of it (a new load: a file or a load-marker value not staged yet, or
        a file whose modified time or size changed);
      - a load that held a row of it is gone (a file deleted or rewritten: its rows are retracted);
      - its outcome depends on something outside the table, and that changed: it was quarantined
        as future_timestamp and its time has come, or as orphan_reference and its parent is staged
        now; its parent is no longer staged while it is staged or held back by a later check
        (missing_exchange_rate, out_of_range); or the value it carries from its parent or the
        exchange rate of its day (missing_exchange_rate: none) differs from the one it holds.
    Rows without a (typed) key are decided with their load alone: they are quarantined
    (missing_key, unparseable key), and the rate or parent value they keep is not updated later.
    A table without a load marker, a change of the settings staging reads (raw_staging_settings:
    also a parent table that appears or disappears), and the first run after an upgrade stage the
    whole table again ('whole'). The loads are listed as the model starts and again in the
    strategy: a file deleted or rewritten while its table is being staged needs a full refresh. The incremental strategy `restage` deletes the
    rows of retracted loads and of the keys decided again, and inserts their new outcome, in one
    transaction.
-#}

{#- How this run stages `table`: none (a full build), 'whole', or 'keys' (see above). -#}
{% macro raw_restage_mode(table, spec, located) -%}
    {%- if not (execute and is_incremental()) -%}{{ return(none) }}{%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- if 'staging_settings' not in columns or (located is not none and located.get('whole')) -%}
        {{ return('whole') }}
    {%- endif -%}
    {%- set changed -%}
        select count(*) from {{ this }}
        where staging_settings is distinct from {{ sql_string(raw_staging_settings(table, spec)) }}
    {%- endset -%}
    {{ return('whole' if run_query(changed).columns[0].values()[0] > 0 else 'keys') }}
{%- endmacro %}

{#- A fingerprint of what decides a row's outcome besides the data: the table's contract entry, the
    settings the checks read, and which of its parents are present. Every row records it
    (staging_settings). -#}
{% macro raw_staging_settings(table, spec) -%}
    {%- set parents = [] -%}
    {%- for parent in spec.get('references', {}).values() if raw_table_exists(parent) -%}
        {%- do parents.append(parent) -%}
    {%- endfor -%}
    {%- set settings = {'table': table, 'spec': spec, 'vocabularies': {}, 'parents': parents} -%}
    {%- for name in ['max_money_amount', 'min_valid_at', 'max_valid_at', 'reporting_currency', 'raw_deleted_column',
                     'raw_loaded_at_column', 'pii_hash_key'] -%}
        {%- do settings.update({name: var(name)}) -%}
    {%- endfor -%}
    {%- for column, vocabulary in spec.get('codes', {}).items() -%}
        {%- do settings['vocabularies'].update({vocabulary: var(vocabulary)}) -%}
    {%- endfor -%}
    {{ return(local_md5(tojson(settings, sort_keys=true))) }}
{%- endmacro %}

{#- The loads staged so far, the current loads (located['loads'], none when the table is absent)
    and the new ones, as relations (load_id, load_version). -#}
{% macro raw_current_loads(located) -%}
    {%- if located is none -%}
        {{ return('(select cast(null as ' ~ dbt.type_string() ~ ') as load_id, cast(null as ' ~ dbt.type_string()
            ~ ') as load_version where 1 = 0)') }}
    {%- endif -%}
    {{ return('(select load_id, load_version from ' ~ located['loads'] ~ ' as loads)') }}
{%- endmacro %}

{% macro raw_new_loads(located) -%}
    (select current_loads.load_id, current_loads.load_version
    from {{ raw_current_loads(located) }} as current_loads
    where not exists (
        select 1 from {{ this }} as staged
        where staged.load_id = current_loads.load_id and staged.load_version = current_loads.load_version
    ))
{%- endmacro %}

{#- The located table narrowed to some of its loads (loads: a relation of load_id): files by
    their list (read now), a warehouse table by its load marker; a seed is read whole. -#}
{% macro raw_located_loads(located, loads) -%}
    {%- if located is none or not ('path' in located or located.get('marker')) -%}
        {{ return(located) }}
    {%- elif 'path' in located -%}
        {%- set paths = run_query('select distinct load_id from ' ~ loads ~ ' as loads order by 1').columns[0].values() | list -%}
        {{ return(raw_files_located(none, paths, located['fmt']) if paths else {'empty': true}) }}
    {%- endif -%}
    {%- set narrowed = located.copy() -%}
    {%- do narrowed.update({'from': '(select * from ' ~ located['from'] ~ ' where ' ~ located['load_id']
        ~ ' in (select load_id from ' ~ loads ~ ' as loads)) as narrowed'}) -%}
    {{ return(narrowed) }}
{%- endmacro %}

{#- The keys to decide again (see above), as a select of the key columns. new_rows: the parsed
    rows of the new loads; links: raw_table_links(). -#}
{% macro raw_restaged_keys(spec, links, new_rows, located) -%}
{%- set key = spec['key'] -%}
{%- set keyed = [] -%}
{%- for column in key %}{% do keyed.append('key_checks.' ~ column ~ ' is not null') %}{% endfor -%}
    select {{ key | join(', ') }} from {{ new_rows }} as key_checks
    where {{ keyed | join(' and ') }}
    union
    select {{ key | join(', ') }} from {{ this }} as key_checks
    where {{ keyed | join(' and ') }} and (
        (key_checks.quarantine_reason = 'future_timestamp' and not ({{ raw_future_values(spec) }}))
        or not exists (
            select 1 from {{ raw_current_loads(located) }} as current_loads
            where current_loads.load_id = key_checks.load_id and current_loads.load_version = key_checks.load_version
        )
    )
    {%- for reference in links['references'] %}
    union
    select {% for column in key %}key_checks.{{ column }}{{ ', ' if not loop.last }}{% endfor %}
    from {{ this }} as key_checks
    left join {{ reference['model'] }} as {{ reference['alias'] }}
        on key_checks.{{ reference['column'] }} = {{ reference['alias'] }}.{{ reference['parent_key'] }}
    where {{ keyed | join(' and ') }} and key_checks.{{ reference['column'] }} is not null and (
        ({{ reference['alias'] }}.{{ reference['parent_key'] }} is null and (key_checks.row_status = 'staged'
            or key_checks.quarantine_reason in ('missing_exchange_rate', 'out_of_range')))
        or ({{ reference['alias'] }}.{{ reference['parent_key'] }} is not null
            and key_checks.quarantine_reason = 'orphan_reference')
        {%- for column in reference['carried'] %}
        or key_checks.{{ column }} is distinct from {{ reference['alias'] }}.{{ column }}
        {%- endfor %}
    )
    {%- endfor %}
    {%- if links['convert_currency'] %}
    union
    select {% for column in key %}key_checks.{{ column }}{{ ', ' if not loop.last }}{% endfor %}
    from {{ this }} as key_checks
    {{ raw_exchange_rate_join(links['convert_currency']) }}
    where {{ keyed | join(' and ') }} and key_checks.exchange_rate is distinct from {{ links['rate_expr'] }}
    {%- endif %}
{%- endmacro %}

{#- The current loads that hold a row of a key to decide again (keys: raw_restaged_keys), and the
    new loads, as a relation (load_id). -#}
{% macro raw_loads_to_read(spec, keys, located) -%}
    (select load_id from {{ raw_new_loads(located) }} as new_loads
    union
    select staged.load_id
    from {{ this }} as staged
    inner join ({{ keys }}) as restaged
        on {% for column in spec['key'] %}staged.{{ column }} = restaged.{{ column }}{{ ' and ' if not loop.last }}{% endfor %}
    where exists (
        select 1 from {{ raw_current_loads(located) }} as current_loads
        where current_loads.load_id = staged.load_id and current_loads.load_version = staged.load_version
    ))
{%- endmacro %}

{#- The rows of the CTE `outcome` this run writes: those of the keys decided again, and the rows
    without a key of the new loads. -#}
{% macro raw_restaged_rows(spec) -%}
{%- set key = spec['key'] -%}
    select outcome.*
    from outcome
    inner join (select distinct {{ key | join(', ') }} from restaged_keys) as restaged
        on {% for column in key %}outcome.{{ column }} = restaged.{{ column }}{{ ' and ' if not loop.last }}{% endfor %}
    union all
    select outcome.*
    from outcome
    inner join new_loads
        on outcome.load_id = new_loads.load_id and outcome.load_version = new_loads.load_version
    where {% for column in key %}outcome.{{ column }} is null{{ ' or ' if not loop.last }}{% endfor %}
{%- endmacro %}

{#- The incremental strategy of the base models base_shop__<table> (config incremental_strategy:
    restage). -#}
{% macro get_incremental_restage_sql(arg_dict) -%}
{%- set target, temp = arg_dict['target_relation'], arg_dict['temp_relation'] -%}
{%- set table = model['name'].split('__', 1)[1] -%}
{%- set spec = raw_spec(table) -%}
{%- set located = locate_raw_table(table) -%}
{%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
{%- if raw_restage_mode(table, spec, located) == 'whole' %}
delete from {{ target }};
{%- else %}
delete from {{ target }} as staged
where not exists (
    select 1 from {{ raw_current_loads(located) }} as current_loads
    where current_loads.load_id = staged.load_id and current_loads.load_version = staged.load_version
) or exists (
    select 1 from {{ temp }} as restaged
    where {% for column in spec['key'] %}restaged.{{ column }} = staged.{{ column }}{{ ' and ' if not loop.last }}{% endfor %}
);
{%- endif %}
insert into {{ target }} ({{ columns }})
select {{ columns }} from {{ temp }}
{%- endmacro %}
