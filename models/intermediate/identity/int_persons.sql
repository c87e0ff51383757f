{#- The lifecycle entity (docs block `person`): every customer with at least one dated fact, and
    every anonymous visitor never identified as a customer. -#}
with

facts as (
    select * from {{ ref('int_lifecycle__facts') }}
),

final as (
    select
        person_id,
        max(customer_id) as customer_id,
        max(customer_id) is null as is_anonymous,
        min(fact_date) as first_seen_date
    from facts
    group by person_id
)

select * from final
