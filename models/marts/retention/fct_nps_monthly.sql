{#- NPS per month (docs block `nps_monthly`); the query is macro nps_monthly. -#}
{{ nps_monthly() }}
