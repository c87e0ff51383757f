{#- Expected purchases in the holdout period of every calibration group, from the BG/NBD fitted on
    data up to the calibration end date (docs block `clv_holdout`), next to the actual purchases. -#}
{%- set settings = clv_settings() -%}
with

groups as (
    select * from {{ ref('int_clv__holdout_groups') }}
),

parameters as (
    select
        r,
        alpha,
        a,
        b
    from {{ ref('int_clv__model_parameters') }}
    where model_name = 'bgnbd_calibration' and status = 'fitted'
),

scores as (
    {{ clv_bgnbd_scores(
        'groups', 'parameters', ['frequency', 'recency_days', 'age_days'],
        horizon=clv_in_time_unit(settings.holdout_days)
    ) }}
),

final as (
    select
        groups.frequency,
        groups.recency_days,
        groups.age_days,
        groups.customers,
        groups.holdout_purchases,
        cast(scores.p_alive as {{ clv_score_type() }}) as p_alive,
        cast(scores.expected_purchases as {{ clv_score_type() }}) as expected_holdout_purchases,
        scores.is_series_converged
    from groups
    left join scores
        on
            groups.frequency = scores.frequency
            and groups.recency_days = scores.recency_days
            and groups.age_days = scores.age_days
)

select * from final
