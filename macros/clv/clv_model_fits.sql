{#-
    clv_model_fits(): a SELECT of the fitted CLV models (docs block `clv_fit`), typed, with the
    columns of customer_lifecycle.clv.warehouse.FIT_COLUMNS (model_name as fitted_model, groups as
    fit_groups). It reads:

      DuckDB: the dbt Python model int_clv__model_fits, built by `dbt build`;
      other engines (PostgreSQL has no dbt Python models): the table int_clv__model_fits that
      `python -m customer_lifecycle fit-clv` writes beside the summary groups (the schema of
      int_clv__bgnbd_groups); while it has not been run, no rows.
-#}
{% macro clv_model_fits() -%}
    {%- if target.type == 'duckdb' -%}
        {%- set relation = ref('int_clv__model_fits') -%}
    {%- else -%}
        {%- set groups = ref('int_clv__bgnbd_groups') -%}
        {%- set relation = none -%}
        {%- if execute -%}
            {%- set relation = adapter.get_relation(
                database=groups.database, schema=groups.schema, identifier='int_clv__model_fits') -%}
        {%- endif -%}
    {%- endif -%}
    {%- set columns = [
        ('model_name', dbt.type_string(), 'fitted_model'),
        ('status', dbt.type_string(), 'status'),
        ('failure_reason', dbt.type_string(), 'failure_reason'),
        ('message', dbt.type_string(), 'message'),
        ('is_converged', 'boolean', 'is_converged'),
    ] -%}
    {%- for name in clv_parameter_names() -%}
        {%- do columns.append((name, type_double(), name)) -%}
        {%- do columns.append((name ~ '_std_error', type_double(), name ~ '_std_error')) -%}
    {%- endfor -%}
    {%- do columns.extend([
        ('log_likelihood', type_double(), 'log_likelihood'),
        ('customers', dbt.type_bigint(), 'customers'),
        ('repeat_buyers', dbt.type_bigint(), 'repeat_buyers'),
        ('groups', dbt.type_bigint(), 'fit_groups'),
        ('time_unit', dbt.type_string(), 'time_unit'),
        ('as_of_date', 'date', 'as_of_date'),
        ('fitted_with', dbt.type_string(), 'fitted_with'),
    ]) -%}
    select
        {%- for name, type, alias in columns %}
        cast({{ name if relation is not none else 'null' }} as {{ type }}) as {{ alias }}{{ ',' if not loop.last }}
        {%- endfor %}
    {%- if relation is not none %}
    from {{ relation }}
    {%- else %}
    where 1 = 0
    {%- endif %}
{%- endmacro %}

{#- The parameter columns of the fit table, in order. -#}
{% macro clv_parameter_names() -%}
    {{ return(['r', 'alpha', 'a', 'b', 'p', 'q', 'gamma']) }}
{%- endmacro %}
