{#- Each person has exactly one current stage (one open spell in the history). -#}
with

current_spells as (
    select
        person_id,
        count(*) as current_spells
    from {{ ref('fct_lifecycle_stage_history') }}
    where is_current
    group by person_id
)

select
    persons.person_id,
    coalesce(current_spells.current_spells, 0) as current_spells
from {{ ref('int_persons') }} as persons
left join current_spells
    on persons.person_id = current_spells.person_id
where coalesce(current_spells.current_spells, 0) <> 1
