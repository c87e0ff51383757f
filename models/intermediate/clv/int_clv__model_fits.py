"""The BG/NBD and Gamma-Gamma fits, by maximum likelihood on the summary groups (DuckDB).

One row per model (bgnbd, gamma_gamma, bgnbd_calibration), made by
customer_lifecycle.clv.warehouse.fit_models: the same function that `python -m customer_lifecycle
fit-clv` runs for engines without dbt Python models, so every engine gets the same fit. A fit that
cannot be made (too few repeat buyers, no convergence, ...) gives a row with status 'failed', its
reason and null parameters instead of numbers (docs block `clv_fit`).
"""


def model(dbt, session):
    dbt.config(materialized="table")
    from customer_lifecycle.clv.warehouse import fit_models

    settings = dbt.ref("int_clv__settings").df()
    bgnbd_groups = dbt.ref("int_clv__bgnbd_groups").df()
    spend_groups = dbt.ref("int_clv__spend_groups").df()
    holdout_groups = dbt.ref("int_clv__holdout_groups").df()
    return fit_models(settings, bgnbd_groups, spend_groups, holdout_groups, fitted_with="dbt python model")
