{#- Customers grouped by (frequency, recency, age) as of as_of_date: the input of the BG/NBD fit
    and of the scoring, whose cost therefore grows with distinct groups, not customers. -#}
with

summary as (
    select * from {{ ref('int_clv__customer_summary') }}
),

final as (
    select
        frequency,
        recency_days,
        age_days,
        recency,
        age,
        cast(count(*) as {{ dbt.type_int() }}) as customers
    from summary
    group by frequency, recency_days, age_days, recency, age
)

select * from final
