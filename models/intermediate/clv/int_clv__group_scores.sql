{{ config(materialized="table") }}

{#- BG/NBD scores of every (frequency, recency, age) group as of as_of_date: P(alive), expected
    purchases over the horizon, and the same discounted (docs block `clv_scoring`). Scored once
    per group, not per customer; a group is scored only when the BG/NBD fit has status 'fitted'.
    A table, not a view: the series is summed once, not again in every model and test that reads
    it (Spark recomputes a view each time). -#}
{%- set settings = clv_settings() -%}
with

{{ clv_fitted_group_scores(
    'int_clv__bgnbd_groups', 'bgnbd',
    horizon=clv_in_time_unit(settings.horizon_days),
    periods=settings.discount_periods,
    discount_rate=settings.discount_rate,
    periods_per_year=clv_in_time_unit(365)
) }},

final as (
    select
        frequency,
        recency_days,
        age_days,
        customers,
        p_alive,
        expected_purchases,
        discounted_expected_purchases,
        series_terms,
        is_series_converged
    from scored
)

select * from final
