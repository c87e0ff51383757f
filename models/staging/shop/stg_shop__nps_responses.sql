with

checked as (
    select * from {{ ref('base_shop__nps_responses') }}
    where row_status = 'staged'
),

final as (
    select
        response_id,
        customer_id,
        responded_at,
        cast(score as integer) as score
    from checked
)

select * from final
