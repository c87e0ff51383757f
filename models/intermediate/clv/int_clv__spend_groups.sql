{#- Repeat buyers grouped by (frequency, repeat net revenue): the input of the Gamma-Gamma fit.
    Only customers whose repeat purchases have a positive net value enter (docs block `clv_summary`). -#}
with

summary as (
    select * from {{ ref('int_clv__customer_summary') }}
    where frequency > 0 and repeat_net_revenue > 0
),

final as (
    select
        frequency,
        repeat_net_revenue,
        cast(count(*) as {{ dbt.type_int() }}) as customers
    from summary
    group by frequency, repeat_net_revenue
)

select * from final
