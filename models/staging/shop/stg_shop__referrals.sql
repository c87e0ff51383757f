with

checked as (
    select * from {{ ref('base_shop__referrals') }}
    where quarantine_reason is null
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
