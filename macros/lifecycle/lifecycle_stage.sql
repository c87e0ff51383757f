{#-
    The lifecycle stage rules: the one definition (docs block `lifecycle_stages`).

    Arguments are SQL expressions describing a person at the end of day `on_date`:
      valid_orders       valid orders placed on or before the day
      last_order_date    day of the latest of them (null without one)
      is_promoter        1 when the latest NPS answer on or before the day is a promoter's
      last_referral_date day of the latest referral the person made on or before the day
      has_considered     1 when the person showed consideration on or before the day
    Precedence (first match wins): churned, at_risk, advocacy, loyalty, retention, conversion,
    consideration, awareness.
-#}
{% macro lifecycle_stage(valid_orders, last_order_date, on_date, is_promoter, last_referral_date, has_considered) -%}
    case
        when {{ valid_orders }} > 0
            and {{ days_between(last_order_date, on_date) }} > {{ var('churn_after_days') }}
            then 'churned'
        when {{ valid_orders }} > 0
            and {{ days_between(last_order_date, on_date) }} > {{ var('at_risk_after_days') }}
            then 'at_risk'
        when {{ valid_orders }} >= {{ var('loyalty_min_orders') }}
            and (
                {{ is_promoter }} = 1
                or {{ days_between(last_referral_date, on_date) }} <= {{ var('advocacy_referral_window_days') }}
            )
            then 'advocacy'
        when {{ valid_orders }} >= {{ var('loyalty_min_orders') }} then 'loyalty'
        when {{ valid_orders }} >= 2 then 'retention'
        when {{ valid_orders }} = 1 then 'conversion'
        when {{ has_considered }} = 1 then 'consideration'
        else 'awareness'
    end
{%- endmacro %}

{#- The stages in order, for accepted-values tests and ordering. -#}
{% macro lifecycle_stages() -%}
    {{ return(['awareness', 'consideration', 'conversion', 'retention', 'loyalty', 'advocacy', 'at_risk', 'churned']) }}
{%- endmacro %}

{#- time_rule_day(rule, day): the first day on which a time rule can move a stage with no new fact:
    the day after the threshold counted from `day` (an order's day for at_risk and churned, a
    referral's day for the end of its advocacy window). Read by the stage checkpoints and by the
    incremental runs' touched persons, so both place a rule on the same day. -#}
{% macro time_rule_day(rule, day) -%}
    {%- set thresholds = {
        'at_risk': whole_number_setting('at_risk_after_days'),
        'churned': whole_number_setting('churn_after_days'),
        'referral_expiry': whole_number_setting('advocacy_referral_window_days'),
    } -%}
    {{ add_days(thresholds[rule] + 1, day) }}
{%- endmacro %}

