{#- Interval history (e.g. stage spells): per partition, each interval ends where the next one
    starts (no gap, no overlap), exactly the last one is open (valid_to null) and only it is
    flagged current. Returns the offending rows. -#}
{% test contiguous_intervals(model, partition_by, valid_from, valid_to, is_current) %}

with

ordered as (
    select
        {{ partition_by }} as partition_key,
        {{ valid_from }} as interval_start,
        {{ valid_to }} as interval_end,
        {{ is_current }} as flagged_current,
        lead({{ valid_from }}) over (partition by {{ partition_by }} order by {{ valid_from }}) as next_start
    from {{ model }}
)

select *
from ordered
where
    (next_start is not null and (interval_end is null or interval_end <> next_start))
    or (next_start is null and interval_end is not null)
    or (interval_end is not null and interval_end <= interval_start)
    or (flagged_current <> (interval_end is null))

{% endtest %}
