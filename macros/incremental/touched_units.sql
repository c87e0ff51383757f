{#-
    Incremental runs with the person as the unit (docs block `incremental_runs`).

    int_changes__unit_digests fingerprints, per anonymous_id and per customer, every staged row a
    person's history is made of. Before it is rebuilt, keep_applied_digests() (its pre-hook) keeps
    the digests of the last successful build as int_changes__applied_digests; the changed units
    against those are int_changes__touched_units. Each incremental model then deletes the rows of
    the touched units (delete_touched_rows, a pre-hook) and inserts them recomputed
    (touched_filter in its SQL): appending replaced units, which is the same on every engine that
    can delete rows.
    Spark (Parquet tables, no row deletes) replaces whole partitions instead: each incremental
    table is partitioned by unit_bucket = pmod(xxhash64(unit), var unit_buckets), a run recomputes
    every unit of the touched buckets, drops those partitions and writes them again
    (insert_overwrite). The result is the same table.
-#}

{#- The config of a model that is incremental by unit, in one place; a model declares
    config(**incremental_by_unit('person_id')).
    column: the model's unit column; unit: 'person' or 'anonymous_id'. The meta names both for
    delete_touched_rows (its pre-hook) and for the data tests of the model (get_where_subquery).
    mart=true for a public mart with an enforced contract: a table rebuilt each run on Spark (a
    bucket column would break the contract), and on_schema_change append_new_columns, not fail
    (the contract declares varchar where PostgreSQL's new rows are text, the same type). -#}
{% macro incremental_by_unit(column, unit='person', mart=false) -%}
    {%- set spark_mart = mart and target.type == 'spark' -%}
    {%- set pre_hook -%}{% raw %}{{ delete_touched_rows() }}{% endraw %}{%- endset -%}
    {{ return({
        'materialized': 'table' if spark_mart else 'incremental',
        'incremental_strategy': 'append' if mart else unit_incremental_strategy(),
        'partition_by': none if mart else unit_partition_by(),
        'on_schema_change': 'append_new_columns' if mart else 'fail',
        'meta': {'unit_column': column, 'unit': unit},
        'pre_hook': pre_hook,
    }) }}
{%- endmacro %}

{#- The incremental strategy of the models that are incremental by unit. -#}
{% macro unit_incremental_strategy() -%}
    {{ return('insert_overwrite' if target.type == 'spark' else 'append') }}
{%- endmacro %}

{#- Their partitioning: by unit_bucket on Spark, none elsewhere. -#}
{% macro unit_partition_by() -%}
    {{ return(['unit_bucket'] if target.type == 'spark' else none) }}
{%- endmacro %}

{#- The bucket of a unit (Spark's partition key of the incremental tables). -#}
{% macro unit_bucket(column) -%}
    pmod(xxhash64({{ column }}), {{ var('unit_buckets') | int }})
{%- endmacro %}

{#- The extra last column of an incremental model's final select on Spark: `, <bucket> as unit_bucket`. -#}
{% macro unit_bucket_column(column) -%}
    {%- if target.type == 'spark' -%}, {{ unit_bucket(column) }} as unit_bucket{%- endif -%}
{%- endmacro %}

{#- Beside the unit digests (digests: their relation). Not a dbt node: a copy made by a hook. -#}
{% macro applied_digests_relation(digests) -%}
    {{ return(api.Relation.create(database=digests.database, schema=digests.schema,
        identifier='int_changes__applied_digests')) }}
{%- endmacro %}

{#- Whether a table exists now, asked of the database itself: dbt's relation cache does not see
    the tables that hooks create during the run. -#}
{% macro relation_exists(relation) -%}
    {{ return(adapter.dispatch('relation_exists', 'customer_lifecycle')(relation)) }}
{%- endmacro %}

{% macro default__relation_exists(relation) -%}
    {%- set found = run_query("select count(*) from information_schema.tables where table_schema = "
        ~ sql_string(relation.schema) ~ " and table_name = "
        ~ sql_string(relation.identifier)) -%}
    {{ return(found.rows[0][0] > 0) }}
{%- endmacro %}

{#- Spark has no information_schema; SHOW TABLES asks the catalogue (its pattern treats only * and
    | as special, and neither can be in a dbt identifier). -#}
{% macro spark__relation_exists(relation) -%}
    {%- set schemas = run_query("show schemas like " ~ sql_string(relation.schema)) -%}
    {%- if schemas.rows | length == 0 -%}{{ return(false) }}{%- endif -%}
    {%- set found = run_query("show tables in " ~ adapter.quote(relation.schema) ~ " like "
        ~ sql_string(relation.identifier)) -%}
    {{ return(found.rows | length > 0) }}
{%- endmacro %}

{#- Pre-hook of int_changes__unit_digests: keep the digests the tables were last built from, or
    drop them when the last build did not finish well (the next run then recomputes everyone). -#}
{% macro keep_applied_digests() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set applied = applied_digests_relation(this) -%}
    {%- set keep = flags.FULL_REFRESH is not true and relation_exists(this)
        and last_successful_build() is not none
        and run_query('select count(*) from ' ~ this ~ " where invocation_id = '"
            ~ last_successful_build() ~ "'").rows[0][0] > 0 -%}
    {%- do run_query('drop table if exists ' ~ applied) -%}
    {%- if keep -%}
        {{ get_create_table_as_sql(false, applied, 'select * from ' ~ this) }}
    {%- endif -%}
{%- endmacro %}

{#- A model of the change detection (int_changes__*, int_as_of_date): ref() in a model, which
    records what the model reads; in a data test, which does not ref them
    (get_where_subquery), the relation dbt builds the model into, taken from the graph. -#}
{% macro changes_relation(name) -%}
    {%- if model.resource_type != 'test' -%}{{ return(ref(name)) }}{%- endif -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == name -%}
        {{ return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) }}
    {%- endfor -%}
{%- endmacro %}

{#- 'changes' when the tables may be updated from the touched units alone, else 'full': no
    successful earlier build, other settings, an as_of_date moved backwards, or --full-refresh. -#}
{% macro incremental_mode() -%}
    {%- if not execute or flags.FULL_REFRESH -%}{{ return('full') }}{%- endif -%}
    {%- set applied = applied_digests_relation(changes_relation('int_changes__unit_digests')) -%}
    {%- if not relation_exists(applied) -%}{{ return('full') }}{%- endif -%}
    {%- set check = run_query(
        'select max(applied.settings_hash), max(applied.as_of_date), max(current_day.as_of_date) from '
        ~ applied ~ ' as applied cross join ' ~ changes_relation('int_as_of_date') ~ ' as current_day') -%}
    {%- set settings_hash, applied_as_of, current_as_of = check.rows[0] -%}
    {%- if settings_hash != incremental_settings_hash() or applied_as_of is none
        or (current_as_of is not none and current_as_of < applied_as_of) -%}
        {{ return('full') }}
    {%- endif -%}
    {{ return('changes') }}
{%- endmacro %}

{#- In an incremental model: `where <column> in (the touched units)` on a 'changes' run, nothing
    otherwise. unit: 'person' or 'anonymous_id'. Used in the model's import CTEs, on its own line. -#}
{% macro touched_filter(column, unit='person') -%}
    {#- Called in every run, parsing included, so that dbt records what a 'changes' run reads
        (a unit test runs the model on its given rows alone, never as a 'changes' run). -#}
    {%- if model.resource_type == 'unit_test' -%}{{ return('') }}{%- endif -%}
    {%- do ref('int_changes__unit_digests') -%}
    {%- do ref('int_changes__touched_units') -%}
    {%- do ref('int_as_of_date') -%}
    {%- if is_incremental() and incremental_mode() == 'changes' %}
        where {{ touched_condition(column, unit) }}
    {%- endif -%}
{%- endmacro %}

{#- The condition on a unit column that holds for the touched units: on Spark for every unit of a
    touched bucket (the partitions a run overwrites). -#}
{% macro touched_condition(column, unit='person') -%}
    {%- if target.type == 'spark' -%}
        {{ unit_bucket(column) }} in ({{ touched_buckets_sql(unit) }})
    {%- else -%}
        {{ column }} in (
            select unit_id from {{ changes_relation('int_changes__touched_units') }} where unit_type = {{ sql_string(unit) }}
        )
    {%- endif -%}
{%- endmacro %}

{% macro touched_buckets_sql(unit) -%}
    select distinct {{ unit_bucket('unit_id') }} from {{ changes_relation('int_changes__touched_units') }} where unit_type = {{ sql_string(unit) }}
{%- endmacro %}

{#- Pre-hook of an incremental model (incremental_by_unit): remove the rows that this run inserts again. -#}
{% macro delete_touched_rows() -%}
    {%- if not execute or not is_incremental() -%}{{ return('') }}{%- endif -%}
    {%- set meta = config.get('meta') -%}
    {{ return(adapter.dispatch('delete_touched_rows', 'customer_lifecycle')(meta['unit_column'], meta['unit'])) }}
{%- endmacro %}

{% macro default__delete_touched_rows(column, unit) -%}
    delete from {{ this }} {{ touched_filter(column, unit) }}
{%- endmacro %}

{#- Spark: all partitions on a full run, else the touched buckets' partitions (also those that
    this run leaves empty, which insert_overwrite alone would keep). -#}
{% macro spark__delete_touched_rows(column, unit) -%}
    {%- if incremental_mode() != 'changes' -%}
        {{ return('truncate table ' ~ this) }}
    {%- endif -%}
    {%- set buckets = run_query(touched_buckets_sql(unit)).columns[0].values() | list -%}
    {%- if buckets | length == 0 -%}{{ return('') }}{%- endif -%}
    alter table {{ this }} drop if exists
    {%- for bucket in buckets | sort %} partition (unit_bucket = {{ bucket | int }}){{ ',' if not loop.last }}{% endfor %}
{%- endmacro %}
