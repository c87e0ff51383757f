{#- The holdout check covers every customer whose first purchase is on or before the calibration end
    date, and its actual holdout purchases are exactly their purchases after that date. -#}
with

settings as (
    select calibration_end_date from {{ ref('int_clv__settings') }}
),

first_purchases as (
    select
        customer_id,
        min(purchase_date) as first_purchase_date
    from {{ ref('int_clv__purchases') }}
    group by customer_id
),

expected as (
    select
        count(distinct first_purchases.customer_id) as customers,
        sum(case when purchases.purchase_date > settings.calibration_end_date then 1 else 0 end) as holdout_purchases
    from first_purchases
    cross join settings
    inner join {{ ref('int_clv__purchases') }} as purchases
        on first_purchases.customer_id = purchases.customer_id
    where first_purchases.first_purchase_date <= settings.calibration_end_date
),

checked as (
    select
        coalesce(sum(customers), 0) as customers,
        coalesce(sum(actual_holdout_purchases), 0) as holdout_purchases
    from {{ ref('fct_clv_holdout_check') }}
)

select
    expected.customers as expected_customers,
    checked.customers as checked_customers,
    expected.holdout_purchases as expected_holdout_purchases,
    checked.holdout_purchases as checked_holdout_purchases
from expected
cross join checked
where
    coalesce(expected.customers, 0) <> checked.customers
    or coalesce(expected.holdout_purchases, 0) <> checked.holdout_purchases
