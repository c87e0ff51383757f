{#- One row per staged customer: who they are, what they bought, and where they stand in the
    lifecycle as of as_of_date. -#}
with

customers as (
    select * from {{ ref('stg_shop__customers') }}
),

orders as (
    select * from {{ ref('int_orders') }}
),

persons as (
    select * from {{ ref('int_persons') }}
),

history as (
    select * from {{ ref('fct_lifecycle_stage_history') }}
    where is_anonymous = false
),

order_totals as (
    select
        customer_id,
        min(case when is_valid_order then order_date end) as first_valid_order_date,
        max(case when is_valid_order then order_date end) as last_valid_order_date,
        sum(case when is_valid_order then 1 else 0 end) as lifetime_valid_orders,
        sum(net_revenue) as lifetime_net_revenue
    from orders
    group by customer_id
),

current_stages as (
    select
        person_id as customer_id,
        stage as current_stage,
        valid_from as current_stage_since
    from history
    where is_current
),

reactivations as (
    select
        person_id as customer_id,
        sum(case when is_reactivation then 1 else 0 end) as reactivations
    from history
    group by person_id
),

customer_value as (
    select
        customer_id,
        p_alive,
        predicted_clv
    from {{ ref('fct_customer_clv') }}
),

rfm_scores as (
    select
        customer_id,
        r_score,
        f_score,
        m_score,
        segment
    from {{ ref('int_clv__rfm_scores') }}
),

latest_nps as (
    select
        customer_id,
        score as latest_nps_score
    from (
        select
            customer_id,
            score,
            row_number() over (partition by customer_id order by responded_at desc, response_id desc) as answer_rank
        from {{ ref('stg_shop__nps_responses') }}
        where cast(responded_at as date) <= {{ as_of_date() }}
    ) as ranked
    where answer_rank = 1
),

final as (
    select
        customers.customer_id,
        {{ pseudonym('customers.email') }} as email_hash,
        customers.country,
        customers.acquisition_channel,
        customers.signed_up_at,
        persons.first_seen_date,
        order_totals.first_valid_order_date,
        order_totals.last_valid_order_date,
        cast(coalesce(order_totals.lifetime_valid_orders, 0) as {{ dbt.type_int() }}) as lifetime_valid_orders,
        cast(coalesce(order_totals.lifetime_net_revenue, 0) as {{ type_money() }}) as lifetime_net_revenue,
        {{ money_ratio('order_totals.lifetime_net_revenue', 'order_totals.lifetime_valid_orders') }}
            as average_order_value,
        cast(current_stages.current_stage as {{ dbt.type_string() }}) as current_stage,
        current_stages.current_stage_since,
        coalesce(current_stages.current_stage = 'at_risk', false) as is_at_risk,
        coalesce(current_stages.current_stage = 'churned', false) as is_churned,
        cast(latest_nps.latest_nps_score as {{ dbt.type_int() }}) as latest_nps_score,
        cast({{ nps_class('latest_nps.latest_nps_score') }} as {{ dbt.type_string() }}) as latest_nps_class,
        coalesce(reactivations.reactivations, 0) > 0 as is_reactivated,
        cast(coalesce(reactivations.reactivations, 0) as {{ dbt.type_int() }}) as reactivations,
        rfm_scores.r_score,
        rfm_scores.f_score,
        rfm_scores.m_score,
        rfm_scores.segment as rfm_segment,
        customer_value.p_alive,
        customer_value.predicted_clv
    from customers
    left join persons
        on customers.customer_id = persons.person_id
    left join order_totals
        on customers.customer_id = order_totals.customer_id
    left join current_stages
        on customers.customer_id = current_stages.customer_id
    left join reactivations
        on customers.customer_id = reactivations.customer_id
    left join latest_nps
        on customers.customer_id = latest_nps.customer_id
    left join rfm_scores
        on customers.customer_id = rfm_scores.customer_id
    left join customer_value
        on customers.customer_id = customer_value.customer_id
)

select * from final
