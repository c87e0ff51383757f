{#- BG/NBD scores of every (frequency, recency, age) group as of as_of_date: P(alive), expected
    purchases over the horizon, and the same discounted (docs block `clv_scoring`). Scored once per
    group, not per customer; a group is scored only when the BG/NBD fit has status 'fitted'. -#}
{%- set settings = clv_settings() -%}
with

groups as (
    select * from {{ ref('int_clv__bgnbd_groups') }}
),

parameters as (
    select
        r,
        alpha,
        a,
        b
    from {{ ref('int_clv__model_parameters') }}
    where model_name = 'bgnbd' and status = 'fitted'
),

scores as (
    {{ clv_bgnbd_scores(
        'groups', 'parameters', ['frequency', 'recency_days', 'age_days'],
        horizon=clv_in_time_unit(settings.horizon_days),
        periods=settings.discount_periods,
        discount_rate=settings.discount_rate,
        periods_per_year=clv_in_time_unit(365)
    ) }}
),

final as (
    select
        groups.frequency,
        groups.recency_days,
        groups.age_days,
        groups.customers,
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

select * from final
