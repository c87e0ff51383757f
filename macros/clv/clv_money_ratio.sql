{#- numerator / denominator rounded to cents, half up, the same on every engine (a money amount >= 0
    divided by a whole number > 0; null when the denominator is 0). Plain division is not portable
    here: DuckDB divides decimals in double precision, PostgreSQL exactly, so a half cent can round
    differently. This works on whole cents: floor((2 cents + n) / (2 n)). -#}
{% macro clv_money_ratio(numerator, denominator) -%}
    cast(
        cast(
            floor(
                (2 * cast(round(({{ numerator }}) * 100) as {{ dbt.type_bigint() }}) + ({{ denominator }}))
                / cast(2 * nullif({{ denominator }}, 0) as double precision)
            ) as {{ dbt.type_bigint() }}
        ) * 0.01 as {{ type_money() }}
    )
{%- endmacro %}
