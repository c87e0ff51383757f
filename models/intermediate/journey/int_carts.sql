{#-
    Every cart with its outcome (docs block `cart_abandonment`): a cart is a session with an
    add_to_cart, started at its first add_to_cart. It converts when the same person places a valid
    order within cart_abandonment_window_days of the cart's start; it is abandoned when that window
    has closed (by the end of as_of_date) without one; an abandoned cart is recovered when the
    person's next valid order comes within cart_recovery_window_days of the cart's start; the
    recovery followed an e-mail when the person clicked an e-mail between the cart's start and the
    recovering order.
    Scaling: one sort of each person's carts, valid orders and e-mail clicks (windows partitioned
    by person); no join between carts and orders.
-#}
with

carts as (
    select
        session_id as cart_id,
        person_id,
        customer_id,
        first_add_to_cart_at as cart_started_at,
        channel,
        device
    from {{ ref('int_sessions') }}
    where add_to_carts > 0
),

valid_orders as (
    select
        customer_id,
        order_id,
        ordered_at
    from {{ ref('int_orders') }}
    where is_valid_order
),

clicks as (
    select
        customer_id,
        email_event_id,
        occurred_at,
        campaign_type
    from {{ ref('int_email_events') }}
    where event_type = 'click'
),

timeline as (
    select
        person_id,
        cart_started_at as happened_at,
        0 as row_kind,
        cart_id as row_id,
        cast(null as {{ dbt.type_string() }}) as campaign_type
    from carts
    union all
    select
        customer_id as person_id,
        occurred_at as happened_at,
        1 as row_kind,
        email_event_id as row_id,
        campaign_type
    from clicks
    union all
    select
        customer_id as person_id,
        ordered_at as happened_at,
        2 as row_kind,
        order_id as row_id,
        cast(null as {{ dbt.type_string() }}) as campaign_type
    from valid_orders
),

looked_ahead as (
    select
        person_id,
        row_kind,
        row_id,
        min(case when row_kind = 2 then happened_at end) over person_from_here as next_order_at,
        min(case when row_kind = 1 and campaign_type = 'abandoned_cart' then happened_at end)
            over person_from_here as next_cart_email_click_at,
        min(case when row_kind = 1 and coalesce(campaign_type, '') <> 'abandoned_cart' then happened_at end)
            over person_from_here as next_other_email_click_at
    from timeline
    window person_from_here as (
        partition by person_id order by happened_at, row_kind, row_id
        rows between current row and unbounded following
    )
),

outcomes as (
    select
        carts.*,
        cast(carts.cart_started_at as date) as cart_date,
        {{ add_to_timestamp('day', var('cart_abandonment_window_days'), 'carts.cart_started_at') }}
            as abandonment_window_ends_at,
        {{ add_to_timestamp('day', var('cart_recovery_window_days'), 'carts.cart_started_at') }}
            as recovery_window_ends_at,
        looked_ahead.next_order_at,
        looked_ahead.next_cart_email_click_at,
        looked_ahead.next_other_email_click_at
    from carts
    inner join looked_ahead
        on carts.cart_id = looked_ahead.row_id and looked_ahead.row_kind = 0
),

classified as (
    select
        *,
        coalesce(next_order_at <= abandonment_window_ends_at, false) as is_converted,
        not coalesce(next_order_at <= abandonment_window_ends_at, false)
        and abandonment_window_ends_at < {{ add_to_timestamp('day', 1, as_of_date()) }} as is_abandoned
    from outcomes
),

final as (
    select
        cart_id,
        person_id,
        customer_id,
        cart_started_at,
        cart_date,
        channel,
        device,
        abandonment_window_ends_at,
        is_converted,
        is_abandoned,
        not is_converted and not is_abandoned as is_open,
        case when is_abandoned and next_order_at <= recovery_window_ends_at then next_order_at end as recovered_at,
        coalesce(is_abandoned and next_order_at <= recovery_window_ends_at, false) as is_recovered,
        coalesce(
            is_abandoned
            and next_order_at <= recovery_window_ends_at
            and next_cart_email_click_at <= next_order_at,
            false
        ) as is_recovered_after_abandoned_cart_email,
        coalesce(
            is_abandoned
            and next_order_at <= recovery_window_ends_at
            and not coalesce(next_cart_email_click_at <= next_order_at, false)
            and next_other_email_click_at <= next_order_at,
            false
        ) as is_recovered_after_other_email
    from classified
)

select * from final
