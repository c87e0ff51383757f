{#- Day and month arithmetic on dates, the same on every engine (results are always dates). -#}

{% macro add_days(days, date_expr) -%}
    cast({{ dbt.dateadd('day', days, date_expr) }} as date)
{%- endmacro %}

{% macro days_between(start_date, end_date) -%}
    {{ dbt.datediff(start_date, end_date, 'day') }}
{%- endmacro %}

{% macro month_start(date_expr) -%}
    cast({{ dbt.date_trunc('month', date_expr) }} as date)
{%- endmacro %}

{% macro add_months(months, date_expr) -%}
    cast({{ dbt.dateadd('month', months, date_expr) }} as date)
{%- endmacro %}

{#- The day every mart is computed as of: a scalar subquery on int_as_of_date. -#}
{% macro as_of_date() -%}
    (select as_of_date from {{ ref('int_as_of_date') }})
{%- endmacro %}

{#- Whole numbers 0 .. n-1 as a relation with one column `n` (a cross join of digits, so it needs
    no recursive SQL and no engine-specific series function). -#}
{% macro whole_numbers(count) -%}
    {%- set digits = (count | string) | length -%}
    (
        select
            {% for position in range(digits) -%}
                d{{ position }}.digit * {{ 10 ** position }}{{ ' + ' if not loop.last }}
            {%- endfor %} as n
        from
            {% for position in range(digits) -%}
                (
                    {% for digit in range(10) -%}
                        select {{ digit }} as digit{{ ' union all ' if not loop.last }}
                    {%- endfor %}
                ) as d{{ position }}{{ ',' if not loop.last }}
            {% endfor %}
    )
{%- endmacro %}
