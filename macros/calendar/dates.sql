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

{#- The months (as their first days) from the month of the earliest `date_column` in `relation` (a
    CTE or table name) to the month of as_of_date, one row each in column `month_column`; no rows
    when the relation is empty. The month calendar of every monthly mart. -#}
{% macro month_spine(relation, date_column, month_column) -%}
    select {{ add_months('numbers.n', 'bounds.first_month') }} as {{ month_column }}
    from {{ whole_numbers(1000) }} as numbers
    cross join (select min({{ month_start(date_column) }}) as first_month from {{ relation }}) as bounds
    where {{ add_months('numbers.n', 'bounds.first_month') }} <= {{ month_start(as_of_date()) }}
{%- endmacro %}
