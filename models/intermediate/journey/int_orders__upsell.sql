{#-
    Every valid order with its basket tier and the tier of the customer's previous valid order
    (docs block `upsell_rate`). The basket tier is the highest tier among its lines, ranked by var
    product_tier_order (default basic < standard < premium); a line whose product or tier is
    unknown does not rank. Scaling: one group-by of the order lines by order and one window over
    each customer's valid orders.
-#}
with

valid_orders as (
    select * from {{ ref('int_orders') }}
    where is_valid_order
),

order_items as (
    select * from {{ ref('stg_shop__order_items') }}
),

products as (
    select * from {{ ref('stg_shop__products') }}
),

basket_tiers as (
    select
        order_items.order_id,
        max({{ product_tier_rank('products.tier') }}) as basket_tier_rank
    from order_items
    inner join products
        on order_items.product_id = products.product_id
    group by order_items.order_id
),

sequenced as (
    select
        valid_orders.order_id,
        valid_orders.customer_id,
        valid_orders.ordered_at,
        valid_orders.order_date,
        valid_orders.valid_order_number,
        basket_tiers.basket_tier_rank,
        lag(basket_tiers.basket_tier_rank) over (
            partition by valid_orders.customer_id order by valid_orders.valid_order_number
        ) as previous_basket_tier_rank
    from valid_orders
    left join basket_tiers
        on valid_orders.order_id = basket_tiers.order_id
),

final as (
    select
        *,
        valid_order_number >= 2
        and basket_tier_rank is not null
        and previous_basket_tier_rank is not null as is_upsell_eligible,
        coalesce(
            valid_order_number >= 2 and basket_tier_rank > previous_basket_tier_rank, false
        ) as is_upsell
    from sequenced
)

select * from final
