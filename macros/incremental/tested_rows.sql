{#-
    Data tests that scale (docs block `incremental_runs`). dbt hands every generic data test the
    rows it checks through get_where_subquery; this project's version keeps dbt's `where` config
    and, in an incremental run that updated the touched units only (incremental_mode() 'changes'),
    narrows a test of a model that is incremental by unit (incremental_by_unit) to the rows the
    run wrote: those of the touched units (on Spark, of the touched buckets). In such a run a test
    of a base model checks the rows this invocation decided (decided_by_invocation_id), except its
    quarantine share, which is the whole table's. A full refresh, a run
    that recomputes everyone, and any run with var test_whole_tables true check whole tables.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}{%- do conditions.append('(' ~ where ~ ')') -%}{%- endif -%}
    {%- set written = written_rows_condition() -%}
    {%- if written -%}{%- do conditions.append(written) -%}{%- endif -%}
    {%- if not conditions -%}{{ return(relation) }}{%- endif -%}
    {%- set filtered -%}
        (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
    {%- endset -%}
    {{ return(filtered) }}
{%- endmacro %}

{#- The condition for the rows this run wrote into the model under test, or '' when the test
    checks the whole table. -#}
{% macro written_rows_condition() -%}
    {%- if not execute or var('test_whole_tables') -%}{{ return('') }}{%- endif -%}
    {%- set tested = graph.nodes.get(model.get('attached_node') or '') or {} -%}
    {%- set tested_config = tested.get('config', {}) -%}
    {%- set meta = tested_config.get('meta', {}) -%}
    {#- A base model (incremental_strategy restage): the rows this invocation decided. Its
        quarantine share is a share of the whole table. -#}
    {%- if tested_config.get('incremental_strategy') == 'restage' and tested_config.get('materialized') == 'incremental' -%}
        {{ return('' if (model.get('test_metadata') or {}).get('name') == 'quarantine_share'
            or incremental_mode() != 'changes' else 'decided_by_invocation_id = ' ~ sql_string(invocation_id)) }}
    {%- endif -%}
    {%- if 'unit_column' not in meta or tested_config.get('materialized') != 'incremental'
        or incremental_mode() != 'changes' -%}
        {{ return('') }}
    {%- endif -%}
    {{ return(touched_condition(meta['unit_column'], meta['unit'])) }}
{%- endmacro %}
