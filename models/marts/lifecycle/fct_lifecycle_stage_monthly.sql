{#- Persons in each stage at each month end (at as_of_date for the last month), with the
    month's inflow (spells starting) and outflow (spells ending). Counts are running sums of
    inflow - outflow, so the cost grows with stage spells, not with persons x months. -#}
with

history as (
    select * from {{ ref('fct_lifecycle_stage_history') }}
),

months as (
    {{ month_spine('history', 'valid_from', 'stage_month') }}
),

stages as (
    {% for stage in lifecycle_stages() -%}
        select '{{ stage }}' as stage{{ ' union all ' if not loop.last }}
    {%- endfor %}
),

inflows as (
    select
        {{ month_start('valid_from') }} as stage_month,
        stage,
        count(*) as inflow
    from history
    group by {{ month_start('valid_from') }}, stage
),

outflows as (
    select
        {{ month_start('valid_to') }} as stage_month,
        stage,
        count(*) as outflow
    from history
    where valid_to is not null
    group by {{ month_start('valid_to') }}, stage
),

flows as (
    select
        months.stage_month,
        stages.stage,
        coalesce(inflows.inflow, 0) as inflow,
        coalesce(outflows.outflow, 0) as outflow
    from months
    cross join stages
    left join inflows
        on months.stage_month = inflows.stage_month and stages.stage = inflows.stage
    left join outflows
        on months.stage_month = outflows.stage_month and stages.stage = outflows.stage
),

final as (
    select
        stage_month,
        cast(stage as {{ dbt.type_string() }}) as stage,
        cast(sum(inflow - outflow) over (
            partition by stage order by stage_month rows between unbounded preceding and current row
        ) as {{ dbt.type_int() }}) as persons_at_month_end,
        cast(inflow as {{ dbt.type_int() }}) as inflow,
        cast(outflow as {{ dbt.type_int() }}) as outflow
    from flows
)

select * from final
