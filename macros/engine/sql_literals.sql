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

{#- A list of values as SQL string literals: ['a', 'b'] -> 'a', 'b' (for `in (...)`). -#}
{% macro sql_string_list(values) -%}
    {%- for value in values -%}{{ sql_string(value) }}{{ ', ' if not loop.last }}{%- endfor -%}
{%- endmacro %}
