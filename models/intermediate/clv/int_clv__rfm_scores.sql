{#- Recency, frequency and monetary scores 1-5 and the named segment of every customer with a valid
    order, as of as_of_date (docs block `rfm`). -#}
with

summary as (
    select
        customer_id,
        days_since_last_purchase,
        purchases,
        historical_clv
    from {{ ref('int_clv__customer_summary') }}
),

segment_map as (
    select * from {{ ref('rfm_segment_map') }}
),

ranked as (
    {#- rank() gives tied customers the same, lowest, position. Recency ranks the longest gap first. -#}
    select
        *,
        rank() over (order by days_since_last_purchase desc) as recency_rank,
        rank() over (order by purchases) as frequency_rank,
        rank() over (order by historical_clv) as monetary_rank,
        count(*) over () as scored_customers
    from summary
),

scored as (
    select
        customer_id,
        days_since_last_purchase,
        purchases,
        historical_clv,
        {{ rfm_quintile('recency_rank', 'scored_customers') }} as r_score,
        {{ rfm_quintile('frequency_rank', 'scored_customers') }} as f_score,
        {{ rfm_quintile('monetary_rank', 'scored_customers') }} as m_score
    from ranked
),

final as (
    select
        scored.customer_id,
        scored.days_since_last_purchase,
        scored.purchases,
        scored.historical_clv,
        scored.r_score,
        scored.f_score,
        scored.m_score,
        cast(
            {{ dbt.concat([
                'cast(scored.r_score as ' ~ dbt.type_string() ~ ')',
                'cast(scored.f_score as ' ~ dbt.type_string() ~ ')',
                'cast(scored.m_score as ' ~ dbt.type_string() ~ ')']) }}
            as {{ dbt.type_string() }}
        ) as rfm_cell,
        cast(segment_map.segment as {{ dbt.type_string() }}) as segment
    from scored
    left join segment_map
        on
            scored.r_score between segment_map.r_score_min and segment_map.r_score_max
            and scored.f_score between segment_map.f_score_min and segment_map.f_score_max
)

select * from final
