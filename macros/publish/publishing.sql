{#-
    Publishing (docs block `publishing`): readers see the marts of the last build that finished
    well, all from that one build, with fct_build_record saying which build it was.
    - DuckDB: `python -m customer_lifecycle build` runs dbt on a working file updated in place
      and, only after dbt succeeded, copies the marts into a new file that it renames over the
      published file (customer_lifecycle/publish.py). A plain `dbt build` writes the file in place.
    - PostgreSQL: dbt builds the marts in <schema>_marts_build; at the end of a dbt invocation in
      which fct_build_record was built and nothing failed, publish_marts copies every mart into
      <schema>_marts in one transaction (on-run-end).
    - Spark: the marts are written in place (Parquet tables, no transactions).
-#}

{#- The marts a build publishes: fct_build_record counts the rows of each and publish_marts
    copies them with it. A pytest checks that this list names every other model in models/marts. -#}
{% macro published_marts() -%}
    {{ return([
        'dim_customers', 'fct_cart_abandonment', 'fct_funnel_sessions', 'fct_funnel_steps',
        'fct_kpis_monthly', 'fct_lifecycle_stage_history', 'fct_lifecycle_stage_monthly',
        'fct_lifecycle_transitions', 'fct_acquisition_channels', 'fct_email_campaign_performance',
        'fct_churn_monthly', 'fct_nps_monthly', 'fct_nps_monthly_by_stage', 'fct_retention_cohorts',
        'fct_retention_cohorts_by_channel', 'fct_clv_holdout_check', 'fct_clv_model_parameters',
        'fct_customer_clv', 'fct_rfm_segments', 'fct_orders', 'fct_sessions', 'dim_calendar_days',
    ]) }}
{%- endmacro %}

{#- dbt's schema names (<target schema>_<layer>), except that on PostgreSQL the marts are built in
    <target schema>_marts_build and published to <target schema>_marts. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set schema = default__generate_schema_name(custom_schema_name, node) | trim -%}
    {{ schema ~ ('_build' if custom_schema_name == 'marts' and target.type == 'postgres' else '') }}
{%- endmacro %}

{#- The schema readers read the marts from. -#}
{% macro published_marts_schema() -%}
    {{ return(default__generate_schema_name('marts', none) | trim) }}
{%- endmacro %}

{#- A hash of every setting but the pseudonym key (a secret): fct_build_record.settings_hash. -#}
{% macro build_settings_hash() -%}
    {%- set settings = {'raw_contract': raw_contract()} -%}
    {%- for name in incremental_settings() + settings_outside_incremental_hash() -%}
        {%- if name != 'pii_hash_key' -%}{%- do settings.update({name: var(name)}) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(local_md5(tojson(settings, sort_keys=true))) }}
{%- endmacro %}

{#- on-run-end (PostgreSQL): when this invocation built fct_build_record and nothing failed, copy
    the marts and the record from the build schema into the published schema in one transaction.
    New tables are written under a temporary name first, so that the published ones are locked
    only for the final drop and rename; a reader's running query finishes on the old table, the
    next one reads the new. A build killed at any point leaves the published schema as it was:
    the server rolls back an unfinished transaction. Each copy is made `like` its build table
    `including all`, so BI tools see the same primary key, not-null constraints and column comments
    (persist_docs), and the table comment is copied too. The reader role (var reader_role) gets usage
    of the published schema and select on its tables, nothing else. -#}
{% macro publish_marts(results) -%}
    {%- if not execute or target.type != 'postgres' -%}{{ return('') }}{%- endif -%}
    {%- set built_record = results | selectattr('node.name', 'equalto', 'fct_build_record')
        | selectattr('status', 'equalto', 'success') | list -%}
    {%- set failed = results | selectattr('status', 'in', ['error', 'fail', 'skipped', 'runtime error']) | list -%}
    {%- if not built_record or failed -%}{{ return('') }}{%- endif -%}
    {%- set build_schema_name = generate_schema_name('marts', none) | trim -%}
    {%- set published_name = published_marts_schema() -%}
    {%- set build_schema = adapter.quote(build_schema_name) -%}
    {%- set published = adapter.quote(published_name) -%}
    {%- set reader = var('reader_role') -%}
    {%- set tables = published_marts() + ['fct_build_record'] -%}
    begin;
    create schema if not exists {{ published }};
    {% for name in tables -%}
    drop table if exists {{ published }}.{{ adapter.quote(name ~ '__publishing') }};
    create table {{ published }}.{{ adapter.quote(name ~ '__publishing') }}
        (like {{ build_schema }}.{{ adapter.quote(name) }} including all);
    insert into {{ published }}.{{ adapter.quote(name ~ '__publishing') }}
        select * from {{ build_schema }}.{{ adapter.quote(name) }};
    {{ copy_table_comment(build_schema_name, published_name, name) }}
    {% endfor -%}
    {% for name in tables -%}
    drop table if exists {{ published }}.{{ adapter.quote(name) }};
    alter table {{ published }}.{{ adapter.quote(name ~ '__publishing') }} rename to {{ adapter.quote(name) }};
    alter index if exists {{ published }}.{{ adapter.quote(name ~ '__publishing_pkey') }} rename to {{ adapter.quote(name ~ '_pkey') }};
    {% if reader -%}grant select on {{ published }}.{{ adapter.quote(name) }} to {{ reader }};{%- endif %}
    {% endfor -%}
    {% if reader -%}grant usage on schema {{ published }} to {{ reader }};{%- endif %}
    commit
{%- endmacro %}

{#- PostgreSQL, inside publish_marts: give the new published copy of a mart (<name>__publishing)
    the table comment of its build table (`like ... including all` copies the column comments
    only). Schema and table names reach the server as quoted literals. -#}
{% macro copy_table_comment(build_schema_name, published_name, name) -%}
    do $publish$ begin execute format('comment on table %I.%I is %L', {{ sql_string(published_name) }},
        {{ sql_string(name ~ '__publishing') }},
        obj_description(to_regclass(format('%I.%I', {{ sql_string(build_schema_name) }}, {{ sql_string(name) }})), 'pg_class'));
    end $publish$;
{%- endmacro %}
