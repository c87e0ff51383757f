{#-
    The seeds on Spark. dbt-spark's own loader (session method) binds every CSV value as the text
    '<value>': an empty field (None) arrives as the text 'None', and a quote in a value ends the
    literal (dbt-spark #901, dbt-adapters #487: open, wontfix). Here Spark reads the seed's CSV file
    itself, with the raw files' fixed dialect (macro spark_raw_file_view): an empty field is null, text
    is kept as written, and the rows arrive in one statement instead of a value list per batch.
    Takes precedence over dbt-spark's spark__load_csv_rows (the root project's macros come first in
    dbt's dispatch); dbt's seed materialization still creates the table and calls it.
-#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set path = model['root_path'] ~ '/' ~ model['original_file_path'] -%}
    {%- set rows = spark_raw_file_view('raw_file__seed_' ~ model['name'], path, 'csv') -%}
    {%- set sql -%}
        insert into {{ this.render() }}
        select
            {%- for column in agate_table.column_names %}
            cast({{ adapter.quote(column) }} as {{ column_override.get(column, adapter.convert_type(agate_table, loop.index0)) }})
            {{- ',' if not loop.last }}
            {%- endfor %}
        from {{ rows }}
    {%- endset -%}
    {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
    {{ return(sql) }}
{% endmacro %}
