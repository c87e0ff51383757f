{#- Monthly retention cohorts (docs block `retention_cohorts`); the query is macro retention_cohorts. -#}
{{ retention_cohorts() }}
