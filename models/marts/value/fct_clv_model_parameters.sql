{#- The fitted customer-value models, one row per model (docs block `clv_fit`). -#}
with

parameters as (
    select * from {{ ref('int_clv__model_parameters') }}
),

final as (
    select
        model_name,
        model_order,
        status,
        failure_reason,
        message,
        is_converged,
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
        customers,
        repeat_buyers,
        fit_groups,
        time_unit,
        as_of_date,
        fitted_with
    from parameters
)

select * from final
