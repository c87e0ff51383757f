{#- The customer-value settings as one row (docs block `clv_settings`), for the fit and for readers. -#}
{%- set settings = clv_settings() -%}
with

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

final as (
    select
        as_of_date,
        cast('{{ settings.time_unit }}' as {{ dbt.type_string() }}) as time_unit,
        cast({{ settings.days_per_unit }} as {{ dbt.type_int() }}) as days_per_unit,
        cast({{ settings.horizon_days }} as {{ dbt.type_int() }}) as horizon_days,
        {{ clv_in_time_unit(settings.horizon_days) }} as horizon,
        cast({{ settings.discount_rate }} as {{ type_double() }}) as annual_discount_rate,
        cast({{ settings.discount_periods }} as {{ dbt.type_int() }}) as discount_periods,
        {{ clv_in_time_unit(365) }} as periods_per_year,
        cast({{ settings.holdout_days }} as {{ dbt.type_int() }}) as holdout_days,
        {{ add_days(-settings.holdout_days, 'as_of_date') }} as calibration_end_date,
        cast({{ settings.min_repeat_buyers }} as {{ dbt.type_int() }}) as min_repeat_buyers
    from as_of
)

select * from final
