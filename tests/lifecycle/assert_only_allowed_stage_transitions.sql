{#- Only allowed moves: nobody returns to awareness or consideration after a first valid
    order, and churned is left only by ordering (a valid order on the day the new spell starts). -#}
with

history as (
    select * from {{ ref('fct_lifecycle_stage_history') }}
    where previous_stage is not null
),

order_days as (
    select distinct
        customer_id,
        order_date
    from {{ ref('int_orders') }}
    where is_valid_order
)

select
    history.person_id,
    history.valid_from,
    history.previous_stage,
    history.stage
from history
left join order_days
    on history.customer_id = order_days.customer_id and history.valid_from = order_days.order_date
where
    (
        history.stage in ('awareness', 'consideration')
        and history.previous_stage not in ('awareness', 'consideration')
    )
    or (history.previous_stage = 'churned' and order_days.order_date is null)
    or (history.previous_stage = 'consideration' and history.stage = 'awareness')
