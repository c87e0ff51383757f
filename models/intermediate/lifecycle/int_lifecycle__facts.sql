{{ config(**incremental_by_unit('person_id')) }}

{#-
    Every dated fact that can move a person's lifecycle stage, one row per person and day:
    events (awareness or consideration), sign-ups, orders, NPS answers and referrals made,
    as of as_of_date. Cost grows with events and orders (one group-by), not persons x days.
    Incremental by person (docs block `incremental_runs`).
-#}
{#- The import CTEs read only the touched persons' rows on an incremental run. -#}
with

events as (
    select * from {{ ref('int_events__stitched') }}
    {{ touched_filter('person_id') }}
),

customers as (
    select * from {{ ref('stg_shop__customers') }}
    {{ touched_filter('customer_id') }}
),

orders as (
    select * from {{ ref('int_orders') }}
    {{ touched_filter('customer_id') }}
),

nps_responses as (
    select * from {{ ref('stg_shop__nps_responses') }}
    {{ touched_filter('customer_id') }}
),

referrals as (
    select * from {{ ref('stg_shop__referrals') }}
    {{ touched_filter('referrer_customer_id') }}
),

event_facts as (
    select
        person_id,
        customer_id,
        event_date as fact_date,
        count(*) as events,
        sum(
            case when event_type in ({{ sql_string_list(var('consideration_event_types')) }}) then 1 else 0 end
        ) as consideration_signals,
        0 as orders,
        0 as valid_orders,
        0 as promoter_answers,
        0 as other_answers,
        0 as referrals_made
    from events
    group by person_id, customer_id, event_date
),

signup_facts as (
    select
        customer_id as person_id,
        customer_id,
        cast(signed_up_at as date) as fact_date,
        0 as events,
        1 as consideration_signals,
        0 as orders,
        0 as valid_orders,
        0 as promoter_answers,
        0 as other_answers,
        0 as referrals_made
    from customers
    where cast(signed_up_at as date) <= {{ as_of_date() }}
),

order_facts as (
    select
        customer_id as person_id,
        customer_id,
        order_date as fact_date,
        0 as events,
        count(*) as consideration_signals,
        count(*) as orders,
        sum(case when is_valid_order then 1 else 0 end) as valid_orders,
        0 as promoter_answers,
        0 as other_answers,
        0 as referrals_made
    from orders
    group by customer_id, order_date
),

nps_answers as (
    select
        customer_id,
        cast(responded_at as date) as fact_date,
        score,
        row_number() over (
            partition by customer_id, cast(responded_at as date)
            order by responded_at desc, response_id desc
        ) as answer_rank
    from nps_responses
    where cast(responded_at as date) <= {{ as_of_date() }}
),

nps_facts as (
    select
        customer_id as person_id,
        customer_id,
        fact_date,
        0 as events,
        0 as consideration_signals,
        0 as orders,
        0 as valid_orders,
        case when {{ nps_class('score') }} = 'promoter' then 1 else 0 end as promoter_answers,
        case when {{ nps_class('score') }} = 'promoter' then 0 else 1 end as other_answers,
        0 as referrals_made
    from nps_answers
    where answer_rank = 1
),

referral_facts as (
    select
        referrer_customer_id as person_id,
        referrer_customer_id as customer_id,
        cast(referred_at as date) as fact_date,
        0 as events,
        0 as consideration_signals,
        0 as orders,
        0 as valid_orders,
        0 as promoter_answers,
        0 as other_answers,
        count(*) as referrals_made
    from referrals
    where cast(referred_at as date) <= {{ as_of_date() }}
    group by referrer_customer_id, cast(referred_at as date)
),

unioned as (
    select * from event_facts
    union all
    select * from signup_facts
    union all
    select * from order_facts
    union all
    select * from nps_facts
    union all
    select * from referral_facts
),

final as (
    select
        person_id,
        customer_id,
        fact_date,
        sum(events) as events,
        sum(consideration_signals) as consideration_signals,
        sum(orders) as orders,
        sum(valid_orders) as valid_orders,
        sum(promoter_answers) as promoter_answers,
        sum(other_answers) as other_answers,
        sum(referrals_made) as referrals_made
    from unioned
    group by person_id, customer_id, fact_date
)

select *{{ unit_bucket_column('person_id') }} from final
