{#-
    The record of the build that made the marts beside it (docs block `publishing`): one row per
    published mart. Built after every other mart and its tests (it refs each of them), so it
    exists only when they all passed; readers ask it which build, as of which day, they see.
-#}
with

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

mart_rows as (
    {%- for mart in published_marts() %}
        {%- if not loop.first %}
            union all
        {%- endif %}
        select
            {{ sql_string(mart) }} as mart_name,
            count(*) as row_count
        from {{ ref(mart) }}
    {%- endfor %}
),

final as (
    select
        cast({{ sql_string(invocation_id) }} as {{ dbt.type_string() }}) as build_id,
        cast({{ dbt.current_timestamp_in_utc_backcompat() }} as {{ dbt.type_timestamp() }}) as finished_at,
        as_of.as_of_date,
        as_of.data_first_day,
        as_of.data_last_day,
        cast({{ sql_string(dbt_version) }} as {{ dbt.type_string() }}) as dbt_version,
        cast({{ sql_string(build_settings_hash()) }} as {{ dbt.type_string() }}) as settings_hash,
        cast(mart_rows.mart_name as {{ dbt.type_string() }}) as mart_name,
        cast(mart_rows.row_count as {{ dbt.type_bigint() }}) as row_count
    from mart_rows
    cross join as_of
)

select * from final
