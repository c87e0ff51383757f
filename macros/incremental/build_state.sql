{#-
    The record of builds (docs block `incremental_runs`): table lifecycle_build_state in the target
    schema, one row per `dbt build`/`run` that built the unit digests, with its outcome. An
    incremental run trusts the tables only when the digests it compares against were made by the
    last build and that build succeeded.
-#}
{% macro build_state_relation() -%}
    {{ return(api.Relation.create(database=target.get('database'), schema=target.schema, identifier='lifecycle_build_state')) }}
{%- endmacro %}

{#- on-run-end: record this invocation when it built the unit digests. -#}
{% macro record_build_state(results) -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set built_digests = results | selectattr('node.name', 'equalto', 'int_changes__unit_digests') | list -%}
    {%- if not built_digests -%}{{ return('') }}{%- endif -%}
    {%- set failed = results | selectattr('status', 'in', ['error', 'fail', 'skipped', 'runtime error']) | list -%}
    {%- set relation = build_state_relation() -%}
    {#- The target schema itself holds no model when every model has a custom schema (Spark creates
        only the schemas of models). -#}
    {%- do adapter.create_schema(relation) -%}
    {%- do run_query(
        'create table if not exists ' ~ relation ~ ' (invocation_id ' ~ dbt.type_string() ~ ', finished_at '
        ~ dbt.type_timestamp() ~ ', succeeded boolean)') -%}
    insert into {{ relation }} (invocation_id, finished_at, succeeded)
    values ({{ sql_string(invocation_id) }}, {{ dbt.current_timestamp() }}, {{ 'false' if failed else 'true' }})
{%- endmacro %}

{#- The invocation id of the last recorded build when it succeeded, else none. -#}
{% macro last_successful_build() -%}
    {%- set relation = build_state_relation() -%}
    {%- if not relation_exists(relation) -%}{{ return(none) }}{%- endif -%}
    {%- set last = run_query('select invocation_id, succeeded from ' ~ relation
        ~ ' order by finished_at desc, invocation_id desc limit 1') -%}
    {%- if last.rows | length == 0 or not last.rows[0][1] -%}{{ return(none) }}{%- endif -%}
    {{ return(last.rows[0][0]) }}
{%- endmacro %}
