with

checked as (
    select * from {{ ref('base_shop__referrals') }}
    where row_status = 'staged'
),

final as (
    select
        referral_id,
        referrer_customer_id,
        referred_customer_id,
        referred_at
    from checked
)

select * from final
