{#-
    Runs at the start of every dbt invocation (on-run-start). Some engines cannot parse a
    value safely in plain SQL (PostgreSQL raises on an invalid date instead of returning
    null), so they get small helper functions in the target schema. Engines that have
    try_cast need nothing.
-#}
{% macro create_engine_helpers() -%}
    {{ return(adapter.dispatch('create_engine_helpers', 'customer_lifecycle')()) }}
{%- endmacro %}

{% macro default__create_engine_helpers() -%}
    select 1
{%- endmacro %}

{% macro postgres__create_engine_helpers() -%}
    create schema if not exists {{ target.schema }};

    create or replace function {{ target.schema }}.lc_try_timestamp_utc(v text)
    returns timestamp language plpgsql immutable set timezone to 'UTC' as $fn$
    begin
        return (v::timestamptz at time zone 'UTC');
    exception when others then
        return null;
    end
    $fn$;

    create or replace function {{ target.schema }}.lc_try_date(v text)
    returns date language plpgsql immutable as $fn$
    begin
        return v::date;
    exception when others then
        return null;
    end
    $fn$;
{%- endmacro %}
