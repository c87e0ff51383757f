{#- The RFM segments (docs block `rfm`), one row per segment of the segment map, with the customers
    in it and the ranges of their recency, frequency and monetary value. -#}
with

scores as (
    select * from {{ ref('int_clv__rfm_scores') }}
),

segments as (
    select
        segment,
        min(segment_order) as segment_order
    from {{ ref('rfm_segment_map') }}
    group by segment
),

totals as (
    select
        count(*) as all_customers,
        sum(historical_clv) as all_net_revenue
    from scores
),

per_segment as (
    select
        segment,
        count(*) as customers,
        sum(historical_clv) as net_revenue,
        min(days_since_last_purchase) as recency_days_min,
        max(days_since_last_purchase) as recency_days_max,
        min(purchases) as frequency_min,
        max(purchases) as frequency_max,
        min(historical_clv) as monetary_min,
        max(historical_clv) as monetary_max,
        min(r_score) as r_score_min,
        max(r_score) as r_score_max,
        min(f_score) as f_score_min,
        max(f_score) as f_score_max
    from scores
    group by segment
),

final as (
    select
        cast(segments.segment as {{ dbt.type_string() }}) as segment,
        cast(segments.segment_order as {{ dbt.type_int() }}) as segment_order,
        cast(coalesce(per_segment.customers, 0) as {{ dbt.type_int() }}) as customers,
        case
            when totals.all_customers > 0
                then cast(coalesce(per_segment.customers, 0) as {{ type_double() }}) / totals.all_customers
        end as customer_share,
        cast(coalesce(per_segment.net_revenue, 0) as {{ type_money() }}) as net_revenue,
        case
            when totals.all_net_revenue > 0
                then
                    cast(coalesce(per_segment.net_revenue, 0) as {{ type_double() }})
                    / cast(totals.all_net_revenue as {{ type_double() }})
        end as revenue_share,
        cast(per_segment.recency_days_min as {{ dbt.type_int() }}) as recency_days_min,
        cast(per_segment.recency_days_max as {{ dbt.type_int() }}) as recency_days_max,
        cast(per_segment.frequency_min as {{ dbt.type_int() }}) as frequency_min,
        cast(per_segment.frequency_max as {{ dbt.type_int() }}) as frequency_max,
        cast(per_segment.monetary_min as {{ type_money() }}) as monetary_min,
        cast(per_segment.monetary_max as {{ type_money() }}) as monetary_max,
        cast(per_segment.r_score_min as {{ dbt.type_int() }}) as r_score_min,
        cast(per_segment.r_score_max as {{ dbt.type_int() }}) as r_score_max,
        cast(per_segment.f_score_min as {{ dbt.type_int() }}) as f_score_min,
        cast(per_segment.f_score_max as {{ dbt.type_int() }}) as f_score_max
    from segments
    cross join totals
    left join per_segment
        on segments.segment = per_segment.segment
)

select * from final
