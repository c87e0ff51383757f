{#- Monthly retention cohorts (docs block `retention_cohorts`); the query is macro retention_cohorts.
    Scaling: one group-by of customers x active months; cohorts x months cells. -#}
{{ retention_cohorts() }}
