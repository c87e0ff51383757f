{#-
    The read-only role of BI tools (var reader_role; README "Connect a BI tool"). On PostgreSQL
    every mart grants it select (dbt grants: +grants of models/marts in dbt_project.yml) and the
    build grants it usage of the marts schema (below); raw, staging and intermediate grant it nothing, so
    it gets "permission denied" there. DuckDB has no roles (a BI tool opens the file read-only),
    and on Spark access is the cluster's catalogue's business: no grants there.
-#}
{#- on-run-end: usage of the marts schema for the reader role (dbt grants cover tables only). The
    role is a plain identifier (checked before any model), written as dbt's grants write it. -#}
{% macro grant_reader_usage() -%}
    {%- if not execute or target.type != 'postgres' or not var('reader_role') -%}{{ return('') }}{%- endif -%}
    {%- set marts_schema = generate_schema_name('marts', none) | trim -%}
    {%- if not adapter.check_schema_exists(target.database, marts_schema) -%}{{ return('') }}{%- endif -%}
    grant usage on schema {{ adapter.quote(marts_schema) }} to {{ var('reader_role') }}
{%- endmacro %}
