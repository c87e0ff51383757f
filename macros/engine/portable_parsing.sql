{#-
    Portable parsing of raw text values. Every raw column arrives as text; these macros turn
    it into a typed value, or null when it does not parse, on every supported engine.
    Accepted formats (the raw data contract):
      timestamps  ISO 8601: YYYY-MM-DD[( |T)HH:MM[:SS[.fff]]][Z|+HH[:MM]|-HH[:MM]]; no offset = UTC
      dates       YYYY-MM-DD
      numbers     optional sign, digits, optional decimals (no exponents, no NaN)
-#}

{% macro iso_timestamp_pattern() -%}
[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?
{%- endmacro %}

{% macro offset_suffix_pattern() -%}
.*[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)
{%- endmacro %}

{% macro regex_full_match(expr, pattern) -%}
    {{ return(adapter.dispatch('regex_full_match', 'customer_lifecycle')(expr, pattern)) }}
{%- endmacro %}

{% macro default__regex_full_match(expr, pattern) -%}
    regexp_full_match({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{% macro postgres__regex_full_match(expr, pattern) -%}
    ({{ expr }} ~ '^(?:{{ pattern }})$')
{%- endmacro %}

{% macro spark__regex_full_match(expr, pattern) -%}
    ({{ expr }} rlike '^(?:{{ pattern }})$')
{%- endmacro %}

{#- A text value as a UTC timestamp (without time zone), or null. -#}
{% macro try_timestamp_utc(expr) -%}
    {{ return(adapter.dispatch('try_timestamp_utc', 'customer_lifecycle')(expr)) }}
{%- endmacro %}

{% macro default__try_timestamp_utc(expr) -%}
    case
        when not {{ regex_full_match(expr, iso_timestamp_pattern()) }} then null
        when {{ regex_full_match(expr, offset_suffix_pattern()) }}
            then cast(timezone('UTC', try_cast({{ expr }} as timestamptz)) as timestamp)
        else try_cast({{ expr }} as timestamp)
    end
{%- endmacro %}

{% macro postgres__try_timestamp_utc(expr) -%}
    case
        when {{ regex_full_match(expr, iso_timestamp_pattern()) }}
            then {{ target.schema }}.lc_try_timestamp_utc({{ expr }})
    end
{%- endmacro %}

{#- Spark casts ISO 8601 text with an offset to UTC (session time zone UTC) but wants seconds
    before an offset and minutes in it: '10:00+02' is written '10:00:00+02:00' first. -#}
{% macro spark__try_timestamp_utc(expr) -%}
    case
        when {{ regex_full_match(expr, iso_timestamp_pattern()) }}
            then try_cast(regexp_replace(regexp_replace({{ expr }},
                '^([0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2})(?=$|Z|[+-])', '$1:00'),
                '(:[0-9]{2}(?:[.][0-9]+)?)([+-][0-9]{2})$', '$1$2:00') as timestamp)
    end
{%- endmacro %}

{#- A text value as a date, or null. -#}
{% macro try_date(expr) -%}
    {{ return(adapter.dispatch('try_date', 'customer_lifecycle')(expr)) }}
{%- endmacro %}

{% macro default__try_date(expr) -%}
    case
        when {{ regex_full_match(expr, '[0-9]{4}-[0-9]{2}-[0-9]{2}') }}
            then try_cast({{ expr }} as date)
    end
{%- endmacro %}

{% macro postgres__try_date(expr) -%}
    case
        when {{ regex_full_match(expr, '[0-9]{4}-[0-9]{2}-[0-9]{2}') }}
            then {{ target.schema }}.lc_try_date({{ expr }})
    end
{%- endmacro %}

{#- A text value as a decimal number (money, rates), or null. The pattern check makes the
    cast itself safe, so the same SQL serves every engine: at most 22 digits before the point, which
    numeric(28,6) holds (a longer number is unparseable_number; the money ceiling, max_money_amount,
    is far below). -#}
{% macro try_decimal(expr) -%}
    case
        when length({{ expr }}) <= 40
            and {{ regex_full_match(expr, '[+-]?([0-9]{1,22}([.][0-9]*)?|[.][0-9]+)') }}
            then cast({{ expr }} as {{ dbt.type_numeric() }})
    end
{%- endmacro %}

{#- A text value as an integer, or null ('2.5' does not parse as an integer). -#}
{% macro try_integer(expr) -%}
    case
        when length({{ expr }}) <= 18 and {{ regex_full_match(expr, '[+-]?[0-9]+') }}
            then cast({{ expr }} as {{ dbt.type_bigint() }})
    end
{%- endmacro %}

{#- Money in the reporting currency: a fixed-scale decimal. -#}
{% macro type_money() -%}
    decimal(18, 2)
{%- endmacro %}
