{#- Calibration-period customers grouped by (frequency, recency, age) as of the calibration end date,
    with their actual holdout purchases: the input of the calibration fit and of the holdout check. -#}
with

summary as (
    select * from {{ ref('int_clv__holdout_summary') }}
),

final as (
    select
        frequency,
        recency_days,
        age_days,
        recency,
        age,
        cast(count(*) as {{ dbt.type_int() }}) as customers,
        cast(sum(holdout_purchases) as {{ dbt.type_int() }}) as holdout_purchases
    from summary
    group by frequency, recency_days, age_days, recency, age
)

select * from final
