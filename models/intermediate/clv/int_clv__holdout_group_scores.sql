{{ config(materialized="table") }}

{#- Expected purchases in the holdout period of every calibration group, from the BG/NBD fitted
    on data up to the calibration end date (docs block `clv_holdout`), next to the actual
    purchases. A table, not a view: the series is summed once, not again in every model and test
    that reads it (Spark recomputes a view each time). -#}
{%- set settings = clv_settings() -%}
with

{{ clv_fitted_group_scores(
    'int_clv__holdout_groups', 'bgnbd_calibration',
    horizon=clv_in_time_unit(settings.holdout_days)
) }},

final as (
    select
        frequency,
        recency_days,
        age_days,
        customers,
        holdout_purchases,
        p_alive,
        expected_purchases as expected_holdout_purchases,
        is_series_converged
    from scored
)

select * from final
