{#-
    E-mail campaign performance (docs blocks `email_engagement`, `email_attribution`): per
    campaign, the unique recipients sent, delivered, opening, clicking and unsubscribing, the raw
    event counts, the rates, and the valid orders and net revenue attributed to its clicks (last
    click within attribution_window_days). Every campaign of the campaigns table appears, with or
    without e-mail events. Scaling: one group-by of the e-mail events by campaign and recipient,
    then by campaign.
-#}
with

email_events as (
    select * from {{ ref('int_email_events') }}
),

campaigns as (
    select * from {{ ref('stg_shop__campaigns') }}
),

attributed_orders as (
    select * from {{ ref('int_orders__email_attribution') }}
    where is_email_attributed
),

recipients as (
    select
        campaign_id,
        customer_id,
        max(case when event_type = 'bounce' then 1 else 0 end) as has_bounce,
        max(case when event_type in ('delivered', 'open', 'click', 'unsubscribe') then 1 else 0 end) as is_delivered,
        max(case when event_type in ('open', 'click') then 1 else 0 end) as has_opened,
        max(case when event_type = 'click' then 1 else 0 end) as has_clicked,
        max(case when event_type = 'unsubscribe' then 1 else 0 end) as has_unsubscribed,
        sum(case when event_type = 'sent' then 1 else 0 end) as sends,
        sum(case when event_type = 'delivered' then 1 else 0 end) as deliveries,
        sum(case when event_type = 'bounce' then 1 else 0 end) as bounces,
        sum(case when event_type = 'open' then 1 else 0 end) as opens,
        sum(case when event_type = 'click' then 1 else 0 end) as clicks,
        min(occurred_at) as first_event_at,
        max(occurred_at) as last_event_at
    from email_events
    group by campaign_id, customer_id
),

by_campaign as (
    select
        campaign_id,
        count(*) as recipients_sent,
        sum(is_delivered) as recipients_delivered,
        sum(case when has_bounce = 1 and is_delivered = 0 then 1 else 0 end) as recipients_bounced,
        sum(has_opened) as unique_opens,
        sum(has_clicked) as unique_clicks,
        sum(has_unsubscribed) as unsubscribes,
        sum(sends) as sends,
        sum(deliveries) as deliveries,
        sum(bounces) as bounces,
        sum(opens) as opens,
        sum(clicks) as clicks,
        min(first_event_at) as first_event_at,
        max(last_event_at) as last_event_at
    from recipients
    group by campaign_id
),

attribution as (
    select
        attributed_campaign_id as campaign_id,
        count(*) as attributed_orders,
        sum(net_revenue) as attributed_net_revenue
    from attributed_orders
    group by attributed_campaign_id
),

all_campaigns as (
    select campaign_id from campaigns
    union
    select campaign_id from by_campaign
),

final as (
    select
        cast(all_campaigns.campaign_id as {{ dbt.type_string() }}) as campaign_id,
        cast(campaigns.campaign_name as {{ dbt.type_string() }}) as campaign_name,
        cast(campaigns.campaign_type as {{ dbt.type_string() }}) as campaign_type,
        cast(campaigns.channel as {{ dbt.type_string() }}) as channel,
        cast(by_campaign.first_event_at as {{ dbt.type_timestamp() }}) as first_event_at,
        cast(by_campaign.last_event_at as {{ dbt.type_timestamp() }}) as last_event_at,
        cast(coalesce(by_campaign.recipients_sent, 0) as {{ dbt.type_int() }}) as recipients_sent,
        cast(coalesce(by_campaign.recipients_delivered, 0) as {{ dbt.type_int() }}) as recipients_delivered,
        cast(coalesce(by_campaign.recipients_bounced, 0) as {{ dbt.type_int() }}) as recipients_bounced,
        cast(coalesce(by_campaign.unique_opens, 0) as {{ dbt.type_int() }}) as unique_opens,
        cast(coalesce(by_campaign.unique_clicks, 0) as {{ dbt.type_int() }}) as unique_clicks,
        cast(coalesce(by_campaign.unsubscribes, 0) as {{ dbt.type_int() }}) as unsubscribes,
        cast(coalesce(by_campaign.sends, 0) as {{ dbt.type_int() }}) as sends,
        cast(coalesce(by_campaign.deliveries, 0) as {{ dbt.type_int() }}) as deliveries,
        cast(coalesce(by_campaign.bounces, 0) as {{ dbt.type_int() }}) as bounces,
        cast(coalesce(by_campaign.opens, 0) as {{ dbt.type_int() }}) as opens,
        cast(coalesce(by_campaign.clicks, 0) as {{ dbt.type_int() }}) as clicks,
        {{ rate('by_campaign.recipients_delivered', 'by_campaign.recipients_sent') }} as delivery_rate,
        {{ rate('by_campaign.unique_opens', 'by_campaign.recipients_delivered') }} as open_rate,
        {{ rate('by_campaign.unique_clicks', 'by_campaign.recipients_delivered') }} as click_rate,
        {{ rate('by_campaign.unique_clicks', 'by_campaign.unique_opens') }} as click_to_open_rate,
        {{ rate('by_campaign.unsubscribes', 'by_campaign.recipients_delivered') }} as unsubscribe_rate,
        cast(coalesce(attribution.attributed_orders, 0) as {{ dbt.type_int() }}) as attributed_orders,
        cast(coalesce(attribution.attributed_net_revenue, 0) as {{ type_money() }}) as attributed_net_revenue
    from all_campaigns
    left join campaigns
        on all_campaigns.campaign_id = campaigns.campaign_id
    left join by_campaign
        on all_campaigns.campaign_id = by_campaign.campaign_id
    left join attribution
        on all_campaigns.campaign_id = attribution.campaign_id
)

select * from final
