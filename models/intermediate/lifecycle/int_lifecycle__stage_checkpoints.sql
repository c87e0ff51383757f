{{ config(**incremental_by_unit('person_id')) }}

{#-
    Each person's stage at every day on which it can change (docs block `lifecycle_stages`):
    the days of their facts, plus the days a time rule can fire without any event: an order's
    day + at_risk_after_days + 1 and + churn_after_days + 1, and a referral's day +
    advocacy_referral_window_days + 1. The stage cannot change between checkpoints, because every
    input of the rule is constant between them. The stage at each checkpoint comes from running
    totals over the person's earlier checkpoints and the one stage rule (macro lifecycle_stage).
    Scaling: never a person x day spine. Rows: at most fact days + 2 x order days + referral days
    per person, so rows and cost grow with events (after a group-by to person-days) and orders, and
    are independent of how many days the data spans; the work is a few sorts over those rows
    (window functions partitioned by person).
    Incremental by person (docs block `incremental_runs`): the persons whose time rule fires between
    two as-of days are touched, so the other persons' checkpoints stay as they are.
-#}
with

facts as (
    select * from {{ ref('int_lifecycle__facts') }}
    {{ touched_filter('person_id') }}
),

time_rule_days as (
    select
        person_id,
        customer_id,
        {{ time_rule_day('at_risk', 'fact_date') }} as fact_date,
        1 as recency_rule_days,
        0 as referral_expiries
    from facts
    where valid_orders > 0
    union all
    select
        person_id,
        customer_id,
        {{ time_rule_day('churned', 'fact_date') }} as fact_date,
        1 as recency_rule_days,
        0 as referral_expiries
    from facts
    where valid_orders > 0
    union all
    select
        person_id,
        customer_id,
        {{ time_rule_day('referral_expiry', 'fact_date') }} as fact_date,
        0 as recency_rule_days,
        1 as referral_expiries
    from facts
    where referrals_made > 0
),

timeline as (
    select
        person_id,
        customer_id,
        fact_date,
        events,
        consideration_signals,
        orders,
        valid_orders,
        promoter_answers,
        other_answers,
        referrals_made,
        0 as recency_rule_days,
        0 as referral_expiries
    from facts
    union all
    select
        person_id,
        customer_id,
        fact_date,
        0 as events,
        0 as consideration_signals,
        0 as orders,
        0 as valid_orders,
        0 as promoter_answers,
        0 as other_answers,
        0 as referrals_made,
        recency_rule_days,
        referral_expiries
    from time_rule_days
    where fact_date <= {{ as_of_date() }}
),

checkpoints as (
    select
        person_id,
        customer_id,
        fact_date as checkpoint_date,
        sum(events) as events,
        sum(consideration_signals) as consideration_signals,
        sum(valid_orders) as valid_orders,
        sum(promoter_answers) + sum(other_answers) as nps_answers,
        sum(referrals_made) as referrals_made,
        sum(recency_rule_days) as recency_rule_days,
        sum(referral_expiries) as referral_expiries,
        max(case when promoter_answers > 0 then fact_date end) as promoter_answer_date,
        max(case when other_answers > 0 then fact_date end) as other_answer_date
    from timeline
    group by person_id, customer_id, fact_date
),

running as (
    select
        *,
        sum(valid_orders) over person_so_far as valid_orders_to_date,
        max(case when valid_orders > 0 then checkpoint_date end) over person_so_far as last_order_date,
        max(promoter_answer_date) over person_so_far as last_promoter_answer_date,
        max(other_answer_date) over person_so_far as last_other_answer_date,
        max(case when referrals_made > 0 then checkpoint_date end) over person_so_far as last_referral_date,
        max(case when consideration_signals > 0 then 1 else 0 end) over person_so_far as has_considered
    from checkpoints
    window person_so_far as (
        partition by person_id order by checkpoint_date rows between unbounded preceding and current row
    )
),

final as (
    select
        person_id,
        customer_id,
        checkpoint_date,
        {{ lifecycle_stage(
            valid_orders='valid_orders_to_date',
            last_order_date='last_order_date',
            on_date='checkpoint_date',
            is_promoter='case when last_promoter_answer_date > coalesce(last_other_answer_date, '
                ~ "cast('1900-01-01' as date)) then 1 else 0 end",
            last_referral_date='last_referral_date',
            has_considered='has_considered',
        ) }} as stage,
        valid_orders_to_date,
        last_order_date,
        valid_orders as valid_orders_on_day,
        nps_answers as nps_answers_on_day,
        referrals_made as referrals_on_day,
        recency_rule_days,
        referral_expiries,
        events as events_on_day,
        consideration_signals as consideration_signals_on_day
    from running
)

select *{{ unit_bucket_column('person_id') }} from final
