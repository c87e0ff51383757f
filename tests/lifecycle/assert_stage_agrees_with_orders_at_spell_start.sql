{#- The stage agrees with the person's valid orders at the start of each spell, counted here
    straight from int_orders (not from the stage engine's running totals):
    pre-purchase stages have no valid order; conversion exactly 1; retention 2 or more;
    loyalty and advocacy at least loyalty_min_orders; at_risk and churned have no valid order
    within their window, and active stages do. -#}
with

history as (
    select * from {{ ref('fct_lifecycle_stage_history') }}
    where not is_anonymous
),

valid_orders as (
    select
        customer_id,
        order_date
    from {{ ref('int_orders') }}
    where is_valid_order
),

facts_at_start as (
    select
        history.person_id,
        history.valid_from,
        history.stage,
        count(valid_orders.order_date) as valid_orders,
        max(valid_orders.order_date) as last_order_date
    from history
    left join valid_orders
        on
            history.customer_id = valid_orders.customer_id
            and history.valid_from >= valid_orders.order_date
    group by history.person_id, history.valid_from, history.stage
),

checked as (
    select
        *,
        {{ days_between('last_order_date', 'valid_from') }}
            as days_since_last_order
    from facts_at_start
)

select *
from checked
where
    (stage in ('awareness', 'consideration') and valid_orders <> 0)
    or (stage = 'conversion' and valid_orders <> 1)
    or (stage = 'retention' and valid_orders < 2)
    or (stage in ('loyalty', 'advocacy') and valid_orders < {{ var('loyalty_min_orders') }})
    or (stage = 'at_risk' and not (
        days_since_last_order > {{ var('at_risk_after_days') }}
        and days_since_last_order <= {{ var('churn_after_days') }}
    ))
    or (stage = 'churned' and not days_since_last_order > {{ var('churn_after_days') }})
    or (
        stage in ('conversion', 'retention', 'loyalty', 'advocacy')
        and days_since_last_order > {{ var('at_risk_after_days') }}
    )
