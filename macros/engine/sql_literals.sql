{#-
    Values as SQL literals. Every setting, path or name that reaches SQL as a value goes through
    sql_string, which escapes it with the adapter's own rule (dbt.escape_single_quotes), so that a
    quote in a value is part of the value and never ends the literal.
-#}

{#- Text as an SQL string literal: it's -> 'it''s' (Spark: 'it\'s'). -#}
{% macro sql_string(value) -%}
    {{ return(adapter.dispatch('sql_string', 'customer_lifecycle')(value | string)) }}
{%- endmacro %}

{% macro default__sql_string(value) -%}
    {{ return("'" ~ dbt.escape_single_quotes(value) ~ "'") }}
{%- endmacro %}

{#- Spark also reads backslash escapes inside quotes, so a backslash is doubled first. -#}
{% macro spark__sql_string(value) -%}
    {{ return("'" ~ dbt.escape_single_quotes(value | replace('\\', '\\\\')) ~ "'") }}
{%- endmacro %}

{#- A list of values as SQL string literals: ['a', 'b'] -> 'a', 'b' (for `in (...)`). A setting that
    is not a list (0, 'a') is one value here, so the project parses and validate_project_vars names it. -#}
{% macro sql_string_list(values) -%}
    {%- set values = values if values is iterable and values is not string and values is not mapping
        else [values | string] -%}
    {%- for value in values -%}{{ sql_string(value) }}{{ ', ' if not loop.last }}{%- endfor -%}
{%- endmacro %}
