{#- A property of the BG/NBD model the scoring must show: for a repeat buyer with the same purchases
    (frequency and recency), P(alive) never rises as the time since the first purchase grows, and
    expected purchases never rise either. -#}
with

scores as (
    select
        frequency,
        recency_days,
        age_days,
        p_alive,
        expected_purchases,
        lag(p_alive) over (partition by frequency, recency_days order by age_days) as younger_p_alive,
        lag(expected_purchases) over (partition by frequency, recency_days order by age_days)
            as younger_expected_purchases
    from {{ ref('int_clv__group_scores') }}
    where frequency > 0 and p_alive is not null
)

select *
from scores
where p_alive > younger_p_alive or expected_purchases > younger_expected_purchases
