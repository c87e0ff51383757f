{#-
    The checks of checked_raw_table on the rows that share a key (docs block `raw_loads`): the
    CTEs repeated_keys, repeated_rows, latest_versions and key_checks, after the CTE row_checks.
    key_checks holds every row once more with load_recency (1 for the key's latest load),
    key_deleted (the latest load marks the key deleted) and row_or_key_issue (row_issue, or
    conflicting_key / duplicate_row in the key's latest load).
    load_order: for files the relation that orders the loads (raw_file_load_order), else none.
-#}
{% macro raw_key_checks(spec, load_order) -%}
{%- set types = spec['columns'] -%}
{%- set columns = types.keys() | list -%}
{%- set key = spec['key'] -%}
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
)
{%- endmacro %}
