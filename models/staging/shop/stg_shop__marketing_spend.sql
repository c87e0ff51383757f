with

checked as (
    select * from {{ ref('base_shop__marketing_spend') }}
    where row_status = 'staged'
),

final as (
    select
        spend_date,
        lower(channel) as channel,
        impressions,
        clicks,
        cast(spend as {{ type_money() }}) as spend
    from checked
)

select * from final
