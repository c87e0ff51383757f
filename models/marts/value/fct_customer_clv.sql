{#- Historical and predicted value of every customer with a valid order, as of as_of_date
    (docs blocks `clv_summary`, `clv_scoring`). -#}
{%- set settings = clv_settings() -%}
with

summary as (
    select * from {{ ref('int_clv__customer_summary') }}
),

group_scores as (
    select * from {{ ref('int_clv__group_scores') }}
),

spend_model as (
    select
        p,
        q,
        gamma
    from {{ ref('int_clv__model_parameters') }}
    where model_name = 'gamma_gamma' and status = 'fitted'
),

valued as (
    select
        summary.*,
        group_scores.p_alive,
        group_scores.expected_purchases,
        group_scores.discounted_expected_purchases,
        {#- Gamma-Gamma: E[M | x, m] = p (gamma + x m) / (p x + q - 1), where x m is the repeat net revenue
            (x = 0: the population mean p gamma / (q - 1)). -#}
        spend_model.p * (spend_model.gamma + cast(summary.repeat_net_revenue as {{ type_double() }}))
        / (spend_model.p * summary.frequency + spend_model.q - 1) as expected_value
    from summary
    left join group_scores
        on
            summary.frequency = group_scores.frequency
            and summary.recency_days = group_scores.recency_days
            and summary.age_days = group_scores.age_days
    left join spend_model
        on 1 = 1
),

final as (
    select
        customer_id,
        first_purchase_date,
        last_purchase_date,
        valid_orders,
        purchases,
        frequency,
        recency_days,
        age_days,
        recency,
        age,
        historical_clv,
        average_order_value,
        repeat_net_revenue,
        average_repeat_value,
        cast(p_alive as {{ clv_score_type() }}) as p_alive,
        cast(expected_purchases as {{ clv_score_type() }}) as expected_purchases,
        cast(expected_value as {{ clv_score_type() }}) as expected_average_order_value,
        cast(expected_value * cast(discounted_expected_purchases as {{ type_double() }}) as {{ clv_score_type() }})
            as predicted_clv,
        cast({{ settings.horizon_days }} as {{ dbt.type_int() }}) as horizon_days
    from valued
)

select * from final
