{#- Portable measures shared by the marts: rates, money ratios, medians (docs block `rates`). -#}

{#- A floating-point column type that is 8 bytes on every engine (DuckDB's `float` is 4 bytes). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'customer_lifecycle')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}

{#- numerator / denominator as a fraction, computed in double precision on every engine (so the
    result is bit-for-bit the same), and null when the denominator is 0 or null. -#}
{% macro rate(numerator, denominator) -%}
    cast({{ numerator }} as {{ type_double() }}) / nullif(cast({{ denominator }} as {{ type_double() }}), 0)
{%- endmacro %}

{#- An amount of money divided by a count (AOV, CAC, revenue per customer), rounded half up to
    cents, and null when the count is 0 or null. The amount is first made whole cents and the
    rounding done with an exact floor, because DuckDB divides decimals in floating point:
    70.82 / 4 = 17.705 would round to 17.70 there and to 17.71 on PostgreSQL. -#}
{% macro money_ratio(amount, count) -%}
    cast(
        cast(
            floor(
                (2 * cast(round(({{ amount }}) * 100) as {{ dbt.type_bigint() }}) + ({{ count }}))
                / cast(2 * nullif({{ count }}, 0) as {{ type_double() }})
            ) as {{ dbt.type_bigint() }}
        ) * 0.01 as {{ type_money() }}
    )
{%- endmacro %}

{#- Whole seconds from one timestamp to a later one. -#}
{% macro seconds_between(start_expr, end_expr) -%}
    cast({{ dbt.datediff(start_expr, end_expr, 'second') }} as {{ dbt.type_bigint() }})
{%- endmacro %}

{#- The median of a numeric expression (an aggregate; nulls are ignored), interpolated between the
    two middle values when their number is even. -#}
{% macro median(expr) -%}
    {{ return(adapter.dispatch('median', 'customer_lifecycle')(expr)) }}
{%- endmacro %}

{% macro default__median(expr) -%}
    percentile_cont(0.5) within group (order by {{ expr }})
{%- endmacro %}

{#- A timestamp plus a number of days or minutes (stays a timestamp on every engine). -#}
{% macro add_to_timestamp(datepart, amount, timestamp_expr) -%}
    cast({{ dbt.dateadd(datepart, amount, timestamp_expr) }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- The product tiers in ascending order (var product_tier_order), as a CASE that ranks a tier
    (1 = lowest); null for a tier not in the list. A setting that is not a list (null, 0) is one
    value here, so the project parses and validate_project_vars names it. -#}
{% macro product_tier_rank(tier_expr) -%}
    {%- set tiers = var('product_tier_order') -%}
    {%- set tiers = tiers if tiers is iterable and tiers is not string and tiers is not mapping else [tiers | string] -%}
    case {{ tier_expr }}
        {%- for tier in tiers %}
        when {{ sql_string(tier | lower) }} then {{ loop.index }}
        {%- endfor %}
    end
{%- endmacro %}

{#- The lifecycle stages in which a person counts as an active customer (docs block
    `churn_monthly`): has a valid order and has not churned. -#}
{% macro active_customer_stages() -%}
    {{ return(['conversion', 'retention', 'loyalty', 'advocacy', 'at_risk']) }}
{%- endmacro %}
