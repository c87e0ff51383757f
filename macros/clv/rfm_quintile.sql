{#- RFM score 1-5 of a customer at `rank_expr` (rank(): ties share the lowest position) among
    `count_expr` customers: 1 + floor(5 * (rank - 1) / count). Tied values share a score; the score
    of a value is the quintile of the share of customers ranked strictly before it. -#}
{% macro rfm_quintile(rank_expr, count_expr) -%}
    cast(1 + floor(5 * cast({{ rank_expr }} - 1 as {{ type_double() }}) / {{ count_expr }}) as {{ dbt.type_int() }})
{%- endmacro %}
