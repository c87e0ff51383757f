with

checked as (
    select * from {{ ref('base_shop__email_events') }}
    where row_status = 'staged'
),

final as (
    select
        email_event_id,
        campaign_id,
        customer_id,
        event_type,
        occurred_at
    from checked
)

select * from final
