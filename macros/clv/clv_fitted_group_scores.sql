{#- The CTEs `groups` (every row of the groups model), `parameters` (the BG/NBD fit `model_name`
    when its status is 'fitted') and `scored`: every group with its scores from clv_bgnbd_scores
    (null when the fit is not usable). One query for the scores as of as_of_date and for the holdout
    check's calibration fit. -#}
{% macro clv_fitted_group_scores(groups_model, model_name, horizon, periods=1, discount_rate=0, periods_per_year=365) -%}
groups as (
    select * from {{ ref(groups_model) }}
),

parameters as (
    select
        r,
        alpha,
        a,
        b
    from {{ ref('int_clv__model_parameters') }}
    where model_name = {{ sql_string(model_name) }} and status = 'fitted'
),

scores as (
    {{ clv_bgnbd_scores(
        'groups', 'parameters', ['frequency', 'recency_days', 'age_days'],
        horizon=horizon, periods=periods, discount_rate=discount_rate, periods_per_year=periods_per_year
    ) }}
),

scored as (
    select
        groups.*,
        cast(scores.p_alive as {{ clv_score_type() }}) as p_alive,
        cast(scores.expected_purchases as {{ clv_score_type() }}) as expected_purchases,
        cast(scores.discounted_expected_purchases as {{ clv_score_type() }}) as discounted_expected_purchases,
        cast(scores.series_terms as {{ dbt.type_int() }}) as series_terms,
        scores.is_series_converged
    from groups
    left join scores
        on
            groups.frequency = scores.frequency
            and groups.recency_days = scores.recency_days
            and groups.age_days = scores.age_days
)
{%- endmacro %}
