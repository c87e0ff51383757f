{#- The calibration/holdout split of the customer-value check (docs block `clv_holdout`): every
    customer whose first purchase is on or before the calibration end date, summarised as of that
    date, with the purchases actually made in the holdout period after it, up to as_of_date. -#}
with

purchases as (
    select * from {{ ref('int_clv__purchases') }}
),

settings as (
    select
        calibration_end_date,
        days_per_unit
    from {{ ref('int_clv__settings') }}
),

per_customer as (
    select
        purchases.customer_id,
        settings.calibration_end_date as end_day,
        settings.days_per_unit,
        min(purchases.purchase_date) as first_day,
        max(case when purchases.purchase_date <= settings.calibration_end_date then purchases.purchase_date end)
            as last_day,
        sum(case when purchases.purchase_date <= settings.calibration_end_date then 1 else 0 end)
            as calibration_purchases,
        sum(case when purchases.purchase_date > settings.calibration_end_date then 1 else 0 end)
            as holdout_purchases
    from purchases
    cross join settings
    group by purchases.customer_id, settings.calibration_end_date, settings.days_per_unit
),

day_counts as (
    select
        *,
        {{ days_between('first_day', 'last_day') }} as recency_days,
        {{ days_between('first_day', 'end_day') }} as age_days
    from per_customer
    where first_day <= end_day
),

final as (
    select
        customer_id,
        first_day as first_purchase_date,
        cast(calibration_purchases - 1 as {{ dbt.type_int() }}) as frequency,
        cast(recency_days as {{ dbt.type_int() }}) as recency_days,
        cast(age_days as {{ dbt.type_int() }}) as age_days,
        cast(recency_days as {{ type_double() }}) / days_per_unit as recency,
        cast(age_days as {{ type_double() }}) / days_per_unit as age,
        cast(holdout_purchases as {{ dbt.type_int() }}) as holdout_purchases
    from day_counts
)

select * from final
