{#-
    Carts per day and channel (docs block `cart_abandonment`): started, converted within the
    abandonment window, abandoned, still open, recovered later, and recoveries that followed an
    abandoned-cart e-mail click or another e-mail click. Scaling: one group-by of int_carts.
-#}
with

carts as (
    select * from {{ ref('int_carts') }}
),

aggregated as (
    select
        cart_date,
        channel,
        count(*) as carts_started,
        sum(case when is_converted then 1 else 0 end) as carts_converted,
        sum(case when is_abandoned then 1 else 0 end) as carts_abandoned,
        sum(case when is_open then 1 else 0 end) as carts_open,
        sum(case when is_recovered then 1 else 0 end) as carts_recovered,
        sum(case when is_recovered_after_abandoned_cart_email then 1 else 0 end)
            as recovered_after_abandoned_cart_email,
        sum(case when is_recovered_after_other_email then 1 else 0 end) as recovered_after_other_email
    from carts
    group by cart_date, channel
),

final as (
    select
        cart_date,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(carts_started as {{ dbt.type_int() }}) as carts_started,
        cast(carts_converted as {{ dbt.type_int() }}) as carts_converted,
        cast(carts_abandoned as {{ dbt.type_int() }}) as carts_abandoned,
        cast(carts_open as {{ dbt.type_int() }}) as carts_open,
        cast(carts_recovered as {{ dbt.type_int() }}) as carts_recovered,
        cast(recovered_after_abandoned_cart_email as {{ dbt.type_int() }}) as recovered_after_abandoned_cart_email,
        cast(recovered_after_other_email as {{ dbt.type_int() }}) as recovered_after_other_email,
        {{ rate('carts_abandoned', 'carts_converted + carts_abandoned') }} as abandonment_rate,
        {{ rate('carts_recovered', 'carts_abandoned') }} as recovery_rate,
        {{ rate('recovered_after_abandoned_cart_email', 'carts_recovered') }}
            as abandoned_cart_email_share_of_recoveries
    from aggregated
)

select * from final
