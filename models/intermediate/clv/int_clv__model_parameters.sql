{#- The fitted CLV model parameters in force, one row per model (docs block `clv_fit`): the fit of
    this build on DuckDB, the table written by fit-clv on other engines. A fit made on other data or
    settings than this build's is 'stale'; a model with no fit is 'not_fitted'. Only rows with
    status 'fitted' are used for scoring. -#}
with

settings as (
    select * from {{ ref('int_clv__settings') }}
),

bgnbd_groups as (
    select * from {{ ref('int_clv__bgnbd_groups') }}
),

spend_groups as (
    select * from {{ ref('int_clv__spend_groups') }}
),

holdout_groups as (
    select * from {{ ref('int_clv__holdout_groups') }}
),

bgnbd_inputs as (
    select coalesce(sum(customers), 0) as customers
    from bgnbd_groups
    where age_days > 0
),

spend_inputs as (
    select coalesce(sum(customers), 0) as customers
    from spend_groups
),

calibration_inputs as (
    select coalesce(sum(customers), 0) as customers
    from holdout_groups
    where age_days > 0
),

inputs as (
    {#- What each model is fitted on in this build (the BG/NBD leaves out customers of age 0, who
        carry no information), to tell a current fit from a stale one. -#}
    select
        'bgnbd' as model_name,
        1 as model_order,
        settings.as_of_date as data_as_of_date,
        bgnbd_inputs.customers as input_customers
    from settings
    cross join bgnbd_inputs
    union all
    select
        'gamma_gamma' as model_name,
        2 as model_order,
        settings.as_of_date as data_as_of_date,
        spend_inputs.customers as input_customers
    from settings
    cross join spend_inputs
    union all
    select
        'bgnbd_calibration' as model_name,
        3 as model_order,
        settings.calibration_end_date as data_as_of_date,
        calibration_inputs.customers as input_customers
    from settings
    cross join calibration_inputs
),

fits as (
    {{ clv_model_fits() }}
),

matched as (
    select
        inputs.model_name,
        inputs.model_order,
        inputs.data_as_of_date,
        inputs.input_customers,
        settings.time_unit as current_time_unit,
        fits.*,
        fits.fitted_model is not null as has_fit,
        fits.fitted_model is not null
        and (
            fits.as_of_date <> inputs.data_as_of_date
            or fits.time_unit <> settings.time_unit
            or fits.customers <> inputs.input_customers
        ) as is_stale
    from inputs
    cross join settings
    left join fits
        on inputs.model_name = fits.fitted_model
),

final as (
    select
        cast(model_name as {{ dbt.type_string() }}) as model_name,
        cast(model_order as {{ dbt.type_int() }}) as model_order,
        cast(
            case
                when not has_fit then 'not_fitted'
                when is_stale then 'stale'
                else status
            end as {{ dbt.type_string() }}
        ) as status,
        failure_reason,
        cast(
            case
                when not has_fit
                    then
                        'not fitted: on {{ target.type }} the models are fitted outside dbt; run '
                        || 'python -m customer_lifecycle fit-clv (it fits them on this build''s summary '
                        || 'and rebuilds the customer-value models)'
                when is_stale
                    then
                        'stale: fitted on data as of ' || cast(as_of_date as {{ dbt.type_string() }})
                        || ' in ' || time_unit || 's (' || cast(customers as {{ dbt.type_string() }})
                        || ' customers), but this build is as of ' || cast(data_as_of_date as {{ dbt.type_string() }})
                        || ' in ' || current_time_unit || 's (' || cast(input_customers as {{ dbt.type_string() }})
                        || ' customers); run python -m customer_lifecycle fit-clv again'
                else message
            end as {{ dbt.type_string() }}
        ) as message,
        coalesce(is_converged, false) as is_converged,
        r,
        alpha,
        a,
        b,
        p,
        q,
        gamma,
        r_std_error,
        alpha_std_error,
        a_std_error,
        b_std_error,
        p_std_error,
        q_std_error,
        gamma_std_error,
        log_likelihood,
        cast(case when has_fit then customers else input_customers end as {{ dbt.type_bigint() }}) as customers,
        repeat_buyers,
        fit_groups,
        cast(case when has_fit then time_unit else current_time_unit end as {{ dbt.type_string() }}) as time_unit,
        case when has_fit then as_of_date else data_as_of_date end as as_of_date,
        fitted_with
    from matched
)

select * from final
