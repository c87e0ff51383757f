{#- NPS per month and lifecycle stage at the time of the answer (docs block `nps_monthly`); the
    query is macro nps_monthly. Scaling: a join of each answer with its customer's stage spells
    (few per customer). -#}
{{ nps_monthly(by_stage=true) }}
