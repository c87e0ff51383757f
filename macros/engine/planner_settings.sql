{#-
    Planner settings for every model on PostgreSQL (project-wide hooks in dbt_project.yml; other
    engines need nothing: the hooks render empty, and dbt skips an empty hook).

    PostgreSQL plans from table statistics that autovacuum gathers asynchronously, so a table built
    seconds earlier in the same run has none; and through a chain of CTEs its row estimates
    collapse to a handful of rows. Either can make it pick nested loops over tens of thousands of
    rows (minutes instead of a second). Every join here is an equi-join (or a cross join with a
    small calendar), so:
    - analyze_built_table() (post-hook) gathers statistics of each table as soon as it is built,
      for the models downstream of it; ANALYZE reads a fixed-size sample, so this stays cheap at
      any scale;
    - use_planner_settings() (pre-hook) turns nested loops off, and with them JIT compilation:
      disabling a plan type adds a huge constant to the cost of the plans that still need it (the
      cross joins), which would make every query look expensive enough to JIT-compile, and that
      compilation alone takes seconds;
    - restore_planner_settings() (post-hook) resets both: dbt's PostgreSQL connections are reused
      by the next node (a data test, a user's hook), and the settings are per session.
-#}
{% macro analyze_built_table() -%}
    {{ return(adapter.dispatch('analyze_built_table', 'customer_lifecycle')()) }}
{%- endmacro %}

{% macro default__analyze_built_table() -%}{%- endmacro %}

{% macro postgres__analyze_built_table() -%}
    {%- if config.get('materialized') in ('table', 'incremental', 'seed') -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}

{% macro use_planner_settings() -%}
    {{ return(adapter.dispatch('use_planner_settings', 'customer_lifecycle')()) }}
{%- endmacro %}

{% macro default__use_planner_settings() -%}{%- endmacro %}

{% macro postgres__use_planner_settings() -%}
    set enable_nestloop = off;
    set jit = off
{%- endmacro %}

{% macro restore_planner_settings() -%}
    {{ return(adapter.dispatch('restore_planner_settings', 'customer_lifecycle')()) }}
{%- endmacro %}

{% macro default__restore_planner_settings() -%}{%- endmacro %}

{% macro postgres__restore_planner_settings() -%}
    reset enable_nestloop;
    reset jit
{%- endmacro %}
