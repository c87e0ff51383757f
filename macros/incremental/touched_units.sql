{#-
    Incremental runs with the person as the unit (docs block `incremental_runs`).

    int_changes__unit_digests fingerprints, per anonymous_id and per customer, every staged row a
    person's history is made of. Before it is rebuilt, keep_applied_digests() (its pre-hook) keeps
    the digests of the last successful build as int_changes__applied_digests; the changed units
    against those are int_changes__touched_units. Each incremental model then deletes the rows of
    the touched units (delete_touched_rows, a pre-hook) and inserts them recomputed
    (touched_filter in its SQL): appending replaced units, which is the same on every engine that
    can delete rows.
-#}

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
        ~ dbt.string_literal(relation.schema | replace("'", "''")) ~ " and table_name = "
        ~ dbt.string_literal(relation.identifier | replace("'", "''"))) -%}
    {{ return(found.rows[0][0] > 0) }}
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

{#- 'changes' when the tables may be updated from the touched units alone, else 'full': no
    successful earlier build, other settings, an as_of_date moved backwards, or --full-refresh. -#}
{% macro incremental_mode() -%}
    {%- if not execute or flags.FULL_REFRESH -%}{{ return('full') }}{%- endif -%}
    {%- set applied = applied_digests_relation(ref('int_changes__unit_digests')) -%}
    {%- if not relation_exists(applied) -%}{{ return('full') }}{%- endif -%}
    {%- set check = run_query(
        'select max(applied.settings_hash), max(applied.as_of_date), max(current_day.as_of_date) from '
        ~ applied ~ ' as applied cross join ' ~ ref('int_as_of_date') ~ ' as current_day') -%}
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
    {%- if is_incremental() and incremental_mode() == 'changes' -%}
        where {{ column }} in (
            select unit_id from {{ ref('int_changes__touched_units') }} where unit_type = '{{ unit }}'
        )
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of an incremental model: remove the rows that this run inserts again. -#}
{% macro delete_touched_rows(column, unit='person') -%}
    {%- if not execute or not is_incremental() -%}{{ return('') }}{%- endif -%}
    delete from {{ this }} {{ touched_filter(column, unit) }}
{%- endmacro %}
