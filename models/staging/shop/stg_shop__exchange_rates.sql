with

checked as (
    select * from {{ ref('base_shop__exchange_rates') }}
    where row_status = 'staged'
),

final as (
    select
        currency,
        rate_date,
        rate_to_reporting,
        rate_date as valid_from,
        lead(rate_date) over (partition by currency order by rate_date) as valid_to
    from checked
)

select * from final
