{#-
    Every valid order with the e-mail click it is attributed to (docs block `email_attribution`):
    the customer's last e-mail click at or before the order, when the order is at most
    attribution_window_days after it (last touch). Orders with no such click have null campaign.
    Scaling: one sort of each customer's clicks and valid orders (window partitioned by customer),
    then an equi-join of each order to its click.
-#}
with

clicks as (
    select
        customer_id,
        campaign_id,
        email_event_id,
        occurred_at
    from {{ ref('int_email_events') }}
    where event_type = 'click'
),

valid_orders as (
    select
        order_id,
        customer_id,
        ordered_at,
        order_date,
        net_revenue
    from {{ ref('int_orders') }}
    where is_valid_order
),

timeline as (
    select
        customer_id,
        occurred_at as happened_at,
        0 as is_order,
        email_event_id as row_id,
        campaign_id
    from clicks
    union all
    select
        customer_id,
        ordered_at as happened_at,
        1 as is_order,
        order_id as row_id,
        cast(null as {{ dbt.type_string() }}) as campaign_id
    from valid_orders
),

numbered as (
    select
        *,
        sum(1 - is_order) over (
            partition by customer_id order by happened_at, is_order, row_id
            rows between unbounded preceding and current row
        ) as clicks_so_far
    from timeline
),

last_clicks as (
    select
        customer_id,
        clicks_so_far,
        happened_at as clicked_at,
        campaign_id
    from numbered
    where is_order = 0
),

orders_with_click as (
    select
        numbered.row_id as order_id,
        last_clicks.clicked_at,
        last_clicks.campaign_id
    from numbered
    left join last_clicks
        on
            numbered.customer_id = last_clicks.customer_id
            and numbered.clicks_so_far = last_clicks.clicks_so_far
            and numbered.happened_at
            <= {{ add_to_timestamp('day', var('attribution_window_days'), 'last_clicks.clicked_at') }}
    where numbered.is_order = 1
),

final as (
    select
        valid_orders.order_id,
        valid_orders.customer_id,
        valid_orders.ordered_at,
        valid_orders.order_date,
        valid_orders.net_revenue,
        orders_with_click.campaign_id as attributed_campaign_id,
        orders_with_click.clicked_at as attributed_click_at,
        orders_with_click.campaign_id is not null as is_email_attributed
    from valid_orders
    inner join orders_with_click
        on valid_orders.order_id = orders_with_click.order_id
)

select * from final
