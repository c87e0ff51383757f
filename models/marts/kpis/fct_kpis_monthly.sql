{#-
    The headline KPIs, one row per month (docs block `kpis`), from the first month of the stage
    history to the month of as_of_date (the last month is partial: up to as_of_date). Each KPI is
    defined once, in the mart or intermediate model it comes from; this model only lines them up.
    Scaling: group-bys of orders, sessions and e-mail events by month; months x 1
    rows.
-#}
{%- set kpi_funnel = kpi_funnel_name() %}
with

months as (
    select * from {{ ref('fct_churn_monthly') }}
),

orders as (
    select * from {{ ref('int_orders') }}
),

upsell as (
    select * from {{ ref('int_orders__upsell') }}
),

sessions as (
    select * from {{ ref('fct_sessions') }}
),

nps as (
    select * from {{ ref('fct_nps_monthly') }}
),

email_events as (
    select * from {{ ref('int_email_events') }}
),

spend as (
    select * from {{ ref('stg_shop__marketing_spend') }}
    where spend_date <= {{ as_of_date() }}
),

order_months as (
    select
        {{ month_start('order_date') }} as kpi_month,
        sum(case when is_valid_order then 1 else 0 end) as valid_orders,
        sum(net_revenue) as net_revenue,
        sum(case when valid_order_number = 1 then 1 else 0 end) as new_customers,
        count(distinct case when is_valid_order then customer_id end) as buyers,
        count(distinct case when valid_order_number >= 2 then customer_id end) as repeat_buyers
    from orders
    group by {{ month_start('order_date') }}
),

upsell_months as (
    select
        {{ month_start('order_date') }} as kpi_month,
        sum(case when is_upsell_eligible then 1 else 0 end) as upsell_eligible_orders,
        sum(case when is_upsell then 1 else 0 end) as upsell_orders
    from upsell
    group by {{ month_start('order_date') }}
),

session_months as (
    select
        {{ month_start('session_date') }} as kpi_month,
        count(*) as sessions,
        sum(case when is_converted then 1 else 0 end) as converted_sessions
    from sessions
    group by {{ month_start('session_date') }}
),

email_months as (
    select
        kpi_month,
        sum(is_delivered) as delivered_recipients,
        sum(has_opened) as opening_recipients,
        sum(has_clicked) as clicking_recipients
    from (
        select
            campaign_id,
            customer_id,
            {{ month_start('event_date') }} as kpi_month,
            max(case when event_type in ('delivered', 'open', 'click', 'unsubscribe') then 1 else 0 end)
                as is_delivered,
            max(case when event_type in ('open', 'click') then 1 else 0 end) as has_opened,
            max(case when event_type = 'click' then 1 else 0 end) as has_clicked
        from email_events
        group by campaign_id, customer_id, {{ month_start('event_date') }}
    ) as recipient_months
    group by kpi_month
),

spend_months as (
    select
        {{ month_start('spend_date') }} as kpi_month,
        sum(spend) as spend
    from spend
    group by {{ month_start('spend_date') }}
),

has_spend_data as (
    select count(*) > 0 as has_spend
    from spend
),

final as (
    select
        months.churn_month as kpi_month,
        cast(coalesce(order_months.new_customers, 0) as {{ dbt.type_int() }}) as new_customers,
        cast(
            case when has_spend_data.has_spend then coalesce(spend_months.spend, 0) end as {{ type_money() }}
        ) as marketing_spend,
        case
            when has_spend_data.has_spend
                then {{ money_ratio('coalesce(spend_months.spend, 0)', 'order_months.new_customers') }}
        end as cac,
        cast(coalesce(session_months.sessions, 0) as {{ dbt.type_int() }}) as sessions,
        cast(
            case when {{ 'true' if kpi_funnel else 'false' }} then coalesce(session_months.converted_sessions, 0) end
            as {{ dbt.type_int() }}
        ) as converted_sessions,
        case
            when {{ 'true' if kpi_funnel else 'false' }}
                then {{ rate('coalesce(session_months.converted_sessions, 0)', 'session_months.sessions') }}
        end as session_conversion_rate,
        cast(coalesce(order_months.valid_orders, 0) as {{ dbt.type_int() }}) as valid_orders,
        cast(coalesce(order_months.net_revenue, 0) as {{ type_money() }}) as net_revenue,
        {{ money_ratio('order_months.net_revenue', 'order_months.valid_orders') }} as average_order_value,
        cast(coalesce(order_months.buyers, 0) as {{ dbt.type_int() }}) as buyers,
        cast(coalesce(order_months.repeat_buyers, 0) as {{ dbt.type_int() }}) as repeat_buyers,
        {{ rate('order_months.repeat_buyers', 'order_months.buyers') }} as repeat_purchase_rate,
        cast(coalesce(upsell_months.upsell_eligible_orders, 0) as {{ dbt.type_int() }}) as upsell_eligible_orders,
        cast(coalesce(upsell_months.upsell_orders, 0) as {{ dbt.type_int() }}) as upsell_orders,
        {{ rate('upsell_months.upsell_orders', 'upsell_months.upsell_eligible_orders') }} as upsell_rate,
        months.active_at_start as active_customers_at_start,
        months.churned_customers,
        months.churn_rate,
        months.retention_rate,
        cast(coalesce(nps.responses, 0) as {{ dbt.type_int() }}) as nps_responses,
        nps.nps,
        cast(coalesce(email_months.delivered_recipients, 0) as {{ dbt.type_int() }}) as email_delivered_recipients,
        {{ rate('email_months.opening_recipients', 'email_months.delivered_recipients') }} as email_open_rate,
        {{ rate('email_months.clicking_recipients', 'email_months.delivered_recipients') }} as email_click_rate
    from months
    cross join has_spend_data
    left join order_months
        on months.churn_month = order_months.kpi_month
    left join upsell_months
        on months.churn_month = upsell_months.kpi_month
    left join session_months
        on months.churn_month = session_months.kpi_month
    left join email_months
        on months.churn_month = email_months.kpi_month
    left join spend_months
        on months.churn_month = spend_months.kpi_month
    left join nps
        on months.churn_month = nps.nps_month
)

select * from final
