with

checked as (
    select * from {{ ref('base_shop__customers') }}
    where row_status = 'staged'
),

final as (
    select
        customer_id,
        lower(email) as email,
        signed_up_at,
        country,
        acquisition_channel
    from checked
)

select * from final
