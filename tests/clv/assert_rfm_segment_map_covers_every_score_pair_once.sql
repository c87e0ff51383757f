{#- Every (R, F) score pair matches exactly one rule of the seed rfm_segment_map (a user who edits
    it gets a gap or an overlap reported here), and a segment has one display order. -#}
with

scores as (
    select n + 1 as score from {{ whole_numbers(5) }} as digits
    where n < 5
),

pairs as (
    select
        r_scores.score as r_score,
        f_scores.score as f_score
    from scores as r_scores
    cross join scores as f_scores
),

matches as (
    select
        pairs.r_score,
        pairs.f_score,
        count(segment_map.segment) as matching_rules
    from pairs
    left join {{ ref('rfm_segment_map') }} as segment_map
        on
            pairs.r_score between segment_map.r_score_min and segment_map.r_score_max
            and pairs.f_score between segment_map.f_score_min and segment_map.f_score_max
    group by pairs.r_score, pairs.f_score
),

orders_per_segment as (
    select
        segment,
        count(distinct segment_order) as display_orders
    from {{ ref('rfm_segment_map') }}
    group by segment
)

select
    'score pair ' || cast(r_score as {{ dbt.type_string() }}) || ', '
    || cast(f_score as {{ dbt.type_string() }}) || ' matches '
    || cast(matching_rules as {{ dbt.type_string() }}) || ' rules' as problem
from matches
where matching_rules <> 1
union all
select
    'segment ' || segment || ' has ' || cast(display_orders as {{ dbt.type_string() }})
    || ' display orders' as problem
from orders_per_segment
where display_orders <> 1
