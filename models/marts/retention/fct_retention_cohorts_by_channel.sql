{#- fct_retention_cohorts split by the customers' acquisition channel (docs block
    `retention_cohorts`): one cohort per first-order month and acquisition channel. Summed over the
    channels, every count and amount equals fct_retention_cohorts (a data test checks it).
    Scaling: as fct_retention_cohorts, times the channels. -#}
{{ retention_cohorts(by='acquisition_channel') }}
