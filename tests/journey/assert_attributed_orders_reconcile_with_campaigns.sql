{#- Every e-mail-attributed valid order is counted in exactly one campaign, with its revenue. -#}
with

attributed as (
    select
        count(*) as attributed_orders,
        coalesce(sum(net_revenue), 0) as attributed_net_revenue
    from {{ ref('int_orders__email_attribution') }}
    where is_email_attributed
),

campaigns as (
    select
        coalesce(sum(attributed_orders), 0) as attributed_orders,
        coalesce(sum(attributed_net_revenue), 0) as attributed_net_revenue
    from {{ ref('fct_email_campaign_performance') }}
)

select
    attributed.attributed_orders,
    campaigns.attributed_orders as campaign_attributed_orders
from attributed
cross join campaigns
where
    attributed.attributed_orders <> campaigns.attributed_orders
    or attributed.attributed_net_revenue <> campaigns.attributed_net_revenue
