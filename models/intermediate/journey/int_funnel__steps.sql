{#- The declared funnels, one row per funnel step (docs block `funnels`), read from var funnels.
    Scaling: one row per declared step, from the var. -#}
with

declared_steps as (
    {{ funnel_step_rows(journey_funnels()) }}
),

final as (
    select
        cast(funnel_name as {{ dbt.type_string() }}) as funnel_name,
        cast(funnel_scope as {{ dbt.type_string() }}) as funnel_scope,
        cast(funnel_order as {{ dbt.type_string() }}) as funnel_order,
        cast(funnel_steps as {{ dbt.type_int() }}) as funnel_steps,
        cast(funnel_position as {{ dbt.type_int() }}) as funnel_position,
        cast(step_number as {{ dbt.type_int() }}) as step_number,
        cast(step_name as {{ dbt.type_string() }}) as step_name
    from declared_steps
)

select * from final
