{#- How well the BG/NBD model predicts: fitted on data up to the calibration end date, its expected
    purchases in the holdout period that follows, against the purchases actually made, by the
    customers' calibration-period frequency (docs block `clv_holdout`). -#}
{%- set settings = clv_settings() -%}
with

group_scores as (
    select * from {{ ref('int_clv__holdout_group_scores') }}
),

settings as (
    select calibration_end_date from {{ ref('int_clv__settings') }}
),

bucketed as (
    select
        least(frequency, 7) as bucket_frequency,
        customers,
        holdout_purchases,
        {#- Summed as decimals (10 places, exact), so the total does not depend on the order the engine
            adds the groups in: the same data gives the same bits every build. -#}
        cast(expected_holdout_purchases as decimal(20, 10)) * cast(customers as decimal(10, 0)) as expected_purchases
    from group_scores
),

per_bucket as (
    select
        bucket_frequency,
        sum(customers) as customers,
        sum(holdout_purchases) as actual_purchases,
        {#- No expectation for the bucket unless every group in it was scored. -#}
        case when count(expected_purchases) = count(*) then sum(expected_purchases) end as expected_purchases
    from bucketed
    group by bucket_frequency
),

final as (
    select
        cast(
            case
                when per_bucket.bucket_frequency = 7 then '7+'
                else cast(per_bucket.bucket_frequency as {{ dbt.type_string() }})
            end as {{ dbt.type_string() }}
        ) as calibration_frequency,
        cast(per_bucket.bucket_frequency as {{ dbt.type_int() }}) as bucket_order,
        settings.calibration_end_date,
        cast({{ settings.holdout_days }} as {{ dbt.type_int() }}) as holdout_days,
        cast(per_bucket.customers as {{ dbt.type_int() }}) as customers,
        cast(per_bucket.actual_purchases as {{ dbt.type_int() }}) as actual_holdout_purchases,
        cast(per_bucket.expected_purchases as {{ clv_score_type() }}) as expected_holdout_purchases,
        {#- Both sides cast before the subtraction: Spark would widen sum(decimal(31, 10)) minus a bigint
            past 38 digits and round the difference to 9 decimals. -#}
        cast(
            cast(per_bucket.expected_purchases as {{ clv_score_type() }})
            - cast(per_bucket.actual_purchases as decimal(18, 0))
            as {{ clv_score_type() }}
        ) as expected_minus_actual,
        cast(per_bucket.actual_purchases as {{ type_double() }}) / per_bucket.customers
            as actual_purchases_per_customer,
        cast(per_bucket.expected_purchases as {{ type_double() }}) / per_bucket.customers
            as expected_purchases_per_customer
    from per_bucket
    cross join settings
)

select * from final
