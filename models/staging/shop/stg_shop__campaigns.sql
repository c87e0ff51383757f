with

checked as (
    select * from {{ ref('base_shop__campaigns') }}
    where row_status = 'staged'
),

final as (
    select
        campaign_id,
        campaign_name,
        campaign_type,
        lower(channel) as channel
    from checked
)

select * from final
