{#-
    clv_settings(): the customer-value settings, read and checked in one place.

    Returns a dict:
      time_unit          'day' or 'week' (var clv_time_unit)
      days_per_unit      1 or 7
      horizon_days       var clv_horizon_days: predicted CLV covers (as_of_date, as_of_date + horizon]
      discount_rate      var clv_annual_discount_rate (annual compounding), >= 0
      discount_periods   var clv_discount_periods (default 12): with a discount rate, the horizon is
                         cut into this many equal steps and each step's expected purchases are
                         discounted at the step's end; without one the sum telescopes to a single step
      holdout_days       var clv_holdout_days (default 182): length of the holdout period of the
                         calibration/holdout check, the last days up to as_of_date
      min_repeat_buyers  var clv_min_repeat_buyers (default 20): a model is fitted only with at
                         least this many repeat buyers
    A bad value stops the build with a message naming the setting.
-#}
{% macro clv_settings() -%}
    {%- set problems = [] -%}
    {%- set units = {'day': 1, 'week': 7} -%}
    {%- set time_unit = var('clv_time_unit', 'day') | string | trim | lower -%}
    {%- if time_unit not in units -%}
        {%- do problems.append("clv_time_unit must be day or week, got '" ~ var('clv_time_unit') ~ "'") -%}
    {%- endif -%}
    {%- set whole = {} -%}
    {%- for name, default in [('clv_horizon_days', 365), ('clv_discount_periods', 12), ('clv_holdout_days', 182),
                              ('clv_min_repeat_buyers', 20)] -%}
        {%- set value = var(name, default) | string | trim -%}
        {%- if value.isdigit() and value | int > 0 -%}
            {%- do whole.update({name: value | int}) -%}
        {%- else -%}
            {%- do problems.append(name ~ " must be a positive whole number, got '" ~ value ~ "'") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set rate_text = var('clv_annual_discount_rate', 0) | string | trim -%}
    {%- if not modules.re.fullmatch('[0-9]+([.][0-9]*)?|[.][0-9]+', rate_text) -%}
        {%- do problems.append("clv_annual_discount_rate must be a number >= 0 such as 0.1 (10 % a year), got '"
            ~ rate_text ~ "'") -%}
    {%- endif -%}
    {%- if problems -%}
        {{ exceptions.raise_compiler_error("Invalid customer-value settings (vars):\n  - " ~ (problems | join("\n  - "))) }}
    {%- endif -%}
    {%- set rate = rate_text | float -%}
    {{ return({
        'time_unit': time_unit,
        'days_per_unit': units[time_unit],
        'horizon_days': whole['clv_horizon_days'],
        'discount_rate': rate,
        'discount_periods': whole['clv_discount_periods'] if rate > 0 else 1,
        'holdout_days': whole['clv_holdout_days'],
        'min_repeat_buyers': whole['clv_min_repeat_buyers'],
    }) }}
{%- endmacro %}

{#- A number of days expressed in the model's time unit, as a double precision SQL expression. -#}
{% macro clv_in_time_unit(days_expr) -%}
    cast({{ days_expr }} as {{ type_double() }}) / {{ clv_settings()['days_per_unit'] }}
{%- endmacro %}

{#- The type of model scores (probabilities, expected counts, expected values): a decimal with 10
    places, so that the same score is the same value on every engine. -#}
{% macro clv_score_type() -%}
    decimal(28, 10)
{%- endmacro %}
