{#- dim_customers shows the same RFM scores, segment, P(alive) and predicted CLV as the customer-value
    models, and nulls exactly for customers without a valid order. -#}
select dim_customers.customer_id
from {{ ref('dim_customers') }} as dim_customers
left join {{ ref('fct_customer_clv') }} as customer_value
    on dim_customers.customer_id = customer_value.customer_id
left join {{ ref('int_clv__rfm_scores') }} as rfm_scores
    on dim_customers.customer_id = rfm_scores.customer_id
where
    (customer_value.customer_id is null) <> (dim_customers.rfm_segment is null)
    or coalesce(dim_customers.r_score, -1) <> coalesce(rfm_scores.r_score, -1)
    or coalesce(dim_customers.f_score, -1) <> coalesce(rfm_scores.f_score, -1)
    or coalesce(dim_customers.m_score, -1) <> coalesce(rfm_scores.m_score, -1)
    or coalesce(dim_customers.rfm_segment, '') <> coalesce(rfm_scores.segment, '')
    or coalesce(dim_customers.p_alive, -1) <> coalesce(customer_value.p_alive, -1)
    or coalesce(dim_customers.predicted_clv, -1) <> coalesce(customer_value.predicted_clv, -1)
