{#- A list of values as SQL string literals: ['a', 'b'] -> 'a', 'b' (for `in (...)`). -#}
{% macro sql_string_list(values) -%}
    {%- for value in values -%}'{{ value }}'{{ ', ' if not loop.last }}{%- endfor -%}
{%- endmacro %}
