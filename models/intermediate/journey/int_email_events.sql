{#-
    E-mail events known as of as_of_date with their campaign's type (docs block
    `email_engagement`). An event of a campaign absent from the campaigns table keeps a null type.
    Scaling: a join of the e-mail events with the (small) campaigns table.
-#}
with

email_events as (
    select * from {{ ref('stg_shop__email_events') }}
    where cast(occurred_at as date) <= {{ as_of_date() }}
),

campaigns as (
    select * from {{ ref('stg_shop__campaigns') }}
),

final as (
    select
        email_events.email_event_id,
        email_events.campaign_id,
        campaigns.campaign_type,
        email_events.customer_id,
        email_events.event_type,
        email_events.occurred_at,
        cast(email_events.occurred_at as date) as event_date
    from email_events
    left join campaigns
        on email_events.campaign_id = campaigns.campaign_id
)

select * from final
