{#-
    Planner settings for the journey, retention and KPI models on PostgreSQL (hooks; other engines
    need nothing and run a no-op).

    PostgreSQL plans from table statistics that autovacuum gathers asynchronously, so a table built
    seconds earlier in the same run has none; and through a chain of CTEs its row estimates
    collapse to a handful of rows. On these models' joins either can make it pick nested loops over
    tens of thousands of rows (minutes instead of a second). Every join here is an equi-join (or a
    cross join with a small calendar), so:
    - refresh_planner_statistics() (a pre-hook run outside the model's transaction, so its locks
      are released at once) analyzes each table upstream of the model that has never been
      analyzed; ANALYZE reads a fixed-size sample, so this stays cheap at any scale;
    - use_planner_settings() (pre-hook) turns nested loops off, and with them JIT compilation:
      disabling a plan type adds a huge constant to the cost of the plans that still need it (the
      cross joins), which would make every query look expensive enough to JIT-compile, and that
      compilation alone takes seconds;
    - restore_planner_settings() (post-hook) resets both: dbt's PostgreSQL connections run in
      autocommit mode and are reused by the next model, so the settings are per session.
-#}
{% macro refresh_planner_statistics() -%}
    {{ return(adapter.dispatch('refresh_planner_statistics', 'customer_lifecycle')()) }}
{%- endmacro %}

{% macro default__refresh_planner_statistics() -%}
    select 1
{%- endmacro %}

{% macro postgres__refresh_planner_statistics() -%}
    {%- if not execute -%}{{ return('select 1') }}{%- endif -%}
    {%- set seen = [] -%}
    {%- set tables = [] -%}
    {%- set pending = model.depends_on.nodes | list -%}
    {#- Jinja has no while loop: walk the upstream graph breadth-first, at most once per node. -#}
    {%- for _ in range(graph.nodes | length) -%}
        {%- if pending -%}
            {%- set node_id = pending.pop(0) -%}
            {%- if node_id not in seen and node_id in graph.nodes -%}
                {%- do seen.append(node_id) -%}
                {%- set node = graph.nodes[node_id] -%}
                {%- if node.resource_type in ('model', 'seed') and node.config.materialized in ('table', 'incremental', 'seed') -%}
                    {%- do tables.append(node.relation_name) -%}
                {%- endif -%}
                {%- do pending.extend(node.depends_on.nodes | default([])) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not tables -%}{{ return('select 1') }}{%- endif %}
    do $refresh$
    declare
        stale record;
    begin
        for stale in
            select relation::text as relation_name
            from unnest(array[
                {%- for relation in tables %}
                to_regclass('{{ relation | replace("'", "''") }}'){{ ',' if not loop.last }}
                {%- endfor %}
            ]) as upstream (relation)
            inner join pg_class on pg_class.oid = upstream.relation
            where pg_class.reltuples < 0
        loop
            execute 'analyze ' || stale.relation_name;
        end loop;
    end
    $refresh$
{%- endmacro %}

{% macro use_planner_settings() -%}
    {{ return(adapter.dispatch('use_planner_settings', 'customer_lifecycle')()) }}
{%- endmacro %}

{% macro default__use_planner_settings() -%}
    select 1
{%- endmacro %}

{% macro postgres__use_planner_settings() -%}
    set enable_nestloop = off;
    set jit = off
{%- endmacro %}

{% macro restore_planner_settings() -%}
    {{ return(adapter.dispatch('restore_planner_settings', 'customer_lifecycle')()) }}
{%- endmacro %}

{% macro default__restore_planner_settings() -%}
    select 1
{%- endmacro %}

{% macro postgres__restore_planner_settings() -%}
    reset enable_nestloop;
    reset jit
{%- endmacro %}
