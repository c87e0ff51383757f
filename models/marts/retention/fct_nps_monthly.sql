{#- NPS per month (docs block `nps_monthly`); the query is macro nps_monthly.
    Scaling: one group-by of the answers by month. -#}
{{ nps_monthly() }}
