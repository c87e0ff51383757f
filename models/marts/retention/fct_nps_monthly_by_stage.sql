{#- NPS per month and lifecycle stage at the time of the answer (docs block `nps_monthly`); the
    query is macro nps_monthly. -#}
{{ nps_monthly(by_stage=true) }}
