"""Fitting the CLV models on the summary groups the warehouse computes.

One function, fit_models, turns the dbt models int_clv__settings, int_clv__bgnbd_groups,
int_clv__spend_groups and int_clv__holdout_groups into the rows of the fit table
(FIT_COLUMNS): one row per model. Two routes call it, so that every engine gets the same fit:

  * DuckDB: the dbt Python model int_clv__model_fits (inside `dbt build`);
  * other engines (PostgreSQL and Spark have no dbt Python models here): `python -m
    customer_lifecycle build` (and `fit-clv`) reads the groups from the warehouse once dbt has
    built them, calls fit_models and writes the rows into the table int_clv__model_fits beside
    the groups (write_fits_postgres, write_fits_spark); the SQL model int_clv__model_parameters
    reads it from there, in the same command.

A fit that fails (too few repeat buyers, no convergence, an estimate at the edge of the search
range, ... : CLVFitError) gives a row with status 'failed', the reason code and the message, and
null parameters; nothing downstream is scored from it. Any other exception is a bug and is raised.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from customer_lifecycle.clv import bgnbd, gamma_gamma
from customer_lifecycle.clv.errors import CLVFitError

MODELS = ("bgnbd", "gamma_gamma", "bgnbd_calibration")
"""bgnbd and gamma_gamma are fitted on data up to as_of_date; bgnbd_calibration is the BG/NBD
fitted on data up to the calibration date of the holdout check."""

PARAMETERS = ("r", "alpha", "a", "b", "p", "q", "gamma")

# Column name -> SQL type of the fit table (the same on every engine).
FIT_COLUMNS: dict[str, str] = {
    "model_name": "varchar",
    "status": "varchar",
    "failure_reason": "varchar",
    "message": "varchar",
    "is_converged": "boolean",
    **{name: "double precision" for name in PARAMETERS},
    **{f"{name}_std_error": "double precision" for name in PARAMETERS},
    "log_likelihood": "double precision",
    "customers": "bigint",
    "repeat_buyers": "bigint",
    "groups": "bigint",
    "time_unit": "varchar",
    "as_of_date": "date",
    "fitted_with": "varchar",
}

_PANDAS_TYPES = {
    "varchar": "string",
    "boolean": "boolean",
    "double precision": "Float64",
    "bigint": "Int64",
    "date": "object",
}


def _row(model_name: str, time_unit: str, as_of_date: Any, fitted_with: str) -> dict[str, Any]:
    row: dict[str, Any] = {name: None for name in FIT_COLUMNS}
    row.update(model_name=model_name, time_unit=time_unit, as_of_date=as_of_date, fitted_with=fitted_with)
    return row


def _whole(value: float) -> int:
    return int(round(float(value)))


def _fit_bgnbd(groups: pd.DataFrame, row: dict[str, Any], min_repeat_buyers: int) -> None:
    """Fill `row` with a BG/NBD fit on groups (frequency, recency, age, customers), age > 0 only."""
    used = groups[groups["age_days"] > 0]
    weights = used["customers"].to_numpy(dtype=float)
    x = used["frequency"].to_numpy(dtype=float)
    row.update(customers=_whole(weights.sum()), repeat_buyers=_whole(weights[x > 0].sum()), groups=len(used))
    try:
        fit = bgnbd.fit(x, used["recency"].to_numpy(dtype=float), used["age"].to_numpy(dtype=float),
                        weights, min_repeat_buyers=min_repeat_buyers)
    except CLVFitError as err:
        row.update(status="failed", failure_reason=err.reason, message=str(err), is_converged=False)
        return
    row.update(status="fitted", message=fit.message, is_converged=bool(fit.converged),
               log_likelihood=fit.log_likelihood)
    for name in bgnbd.PARAMETER_NAMES:
        row[name] = float(getattr(fit, name))
        row[f"{name}_std_error"] = float(fit.standard_errors[name])


def _fit_gamma_gamma(groups: pd.DataFrame, row: dict[str, Any], min_customers: int) -> None:
    """Fill `row` with a Gamma-Gamma fit on groups (frequency, repeat_net_revenue, customers)."""
    weights = groups["customers"].to_numpy(dtype=float)
    x = groups["frequency"].to_numpy(dtype=float)
    revenue = groups["repeat_net_revenue"].to_numpy(dtype=float)
    row.update(customers=_whole(weights.sum()), repeat_buyers=_whole(weights.sum()), groups=len(groups))
    try:
        fit = gamma_gamma.fit(x, revenue / np.maximum(x, 1.0), weights, min_customers=min_customers)
    except CLVFitError as err:
        row.update(status="failed", failure_reason=err.reason, message=str(err), is_converged=False)
        return
    row.update(status="fitted", message=fit.message, is_converged=bool(fit.converged),
               log_likelihood=fit.log_likelihood)
    for name in gamma_gamma.PARAMETER_NAMES:
        row[name] = float(getattr(fit, name))
        row[f"{name}_std_error"] = float(fit.standard_errors[name])


def fit_models(
    settings: pd.DataFrame,
    bgnbd_groups: pd.DataFrame,
    spend_groups: pd.DataFrame,
    holdout_groups: pd.DataFrame,
    *,
    fitted_with: str,
    min_repeat_buyers: int | None = None,
) -> pd.DataFrame:
    """The fit table: one row per model in MODELS, columns FIT_COLUMNS.

    settings:       int_clv__settings (one row: as_of_date, time_unit, calibration_end_date,
                    min_repeat_buyers, ...)
    bgnbd_groups:   int_clv__bgnbd_groups (frequency, recency_days, age_days, recency, age, customers)
    spend_groups:   int_clv__spend_groups (frequency, repeat_net_revenue, customers)
    holdout_groups: int_clv__holdout_groups (same columns as bgnbd_groups, as of the calibration date)
    fitted_with:    which route made the fit ('dbt python model', 'fit-clv')
    min_repeat_buyers: least repeat buyers (customers with a repeat purchase) a fit needs;
                    default: settings.min_repeat_buyers (var clv_min_repeat_buyers), else 20.
    """
    settings = settings.reset_index(drop=True)
    if len(settings) != 1:
        raise ValueError(f"int_clv__settings must have exactly one row, got {len(settings)}")
    time_unit = str(settings.loc[0, "time_unit"])
    as_of_date = pd.Timestamp(settings.loc[0, "as_of_date"]).date()
    calibration_end = pd.Timestamp(settings.loc[0, "calibration_end_date"]).date()
    if min_repeat_buyers is None:
        min_repeat_buyers = int(settings.loc[0, "min_repeat_buyers"]) if "min_repeat_buyers" in settings else 20

    rows = []
    row = _row("bgnbd", time_unit, as_of_date, fitted_with)
    _fit_bgnbd(bgnbd_groups, row, min_repeat_buyers)
    rows.append(row)
    row = _row("gamma_gamma", time_unit, as_of_date, fitted_with)
    _fit_gamma_gamma(spend_groups, row, min_repeat_buyers)
    rows.append(row)
    row = _row("bgnbd_calibration", time_unit, calibration_end, fitted_with)
    _fit_bgnbd(holdout_groups, row, min_repeat_buyers)
    rows.append(row)

    frame = pd.DataFrame(rows, columns=list(FIT_COLUMNS))
    for name, sql_type in FIT_COLUMNS.items():
        frame[name] = frame[name].astype(_PANDAS_TYPES[sql_type])
    return frame


# ----------------------------------------------------------------------------------------------
# The route for engines without dbt Python models (used by `python -m customer_lifecycle fit-clv`)
# ----------------------------------------------------------------------------------------------
FIT_TABLE = "int_clv__model_fits"
"""Name of the fit table; it is written into the schema that holds the summary groups."""

INPUT_MODELS = ("int_clv__settings", "int_clv__bgnbd_groups", "int_clv__spend_groups", "int_clv__holdout_groups")


def read_inputs_postgres(conn, relations: dict[str, str]) -> dict[str, pd.DataFrame]:
    """The input models as DataFrames, read through a DB-API connection. relations: model -> relation name."""
    frames = {}
    with conn.cursor() as cur:
        for model in INPUT_MODELS:
            cur.execute(f"select * from {relations[model]}")
            columns = [d[0] for d in cur.description]
            frames[model] = pd.DataFrame(cur.fetchall(), columns=columns)
    return frames


def _sql_value(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


def write_fits_postgres(conn, schema: str, fits: pd.DataFrame) -> str:
    """Replace the rows of <schema>.int_clv__model_fits with `fits`, in one transaction; returns the
    relation name.

    The table is emptied and refilled rather than dropped, because the view int_clv__model_parameters
    depends on it. Only a table with other columns (written by another version) is dropped, with the
    views that depend on it; rebuilding int_clv__model_parameters+ recreates them.
    """
    relation = f'"{schema}"."{FIT_TABLE}"'
    columns = list(FIT_COLUMNS)
    with conn.cursor() as cur:
        cur.execute(
            "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
            "order by ordinal_position",
            (schema, FIT_TABLE),
        )
        existing = [row[0] for row in cur.fetchall()]
        if existing and existing != columns:
            cur.execute(f"drop table {relation} cascade")
            existing = []
        if not existing:
            cur.execute(f"create table {relation} (" + ", ".join(f"{c} {t}" for c, t in FIT_COLUMNS.items()) + ")")
        cur.execute(f"delete from {relation}")
        placeholders = ", ".join(["%s"] * len(columns))
        for record in fits[columns].itertuples(index=False):
            cur.execute(f"insert into {relation} ({', '.join(columns)}) values ({placeholders})",
                        [_sql_value(v) for v in record])
    conn.commit()
    return relation


_SPARK_TYPES = {"varchar": "string", "boolean": "boolean", "double precision": "double", "bigint": "bigint",
                "date": "date"}


def read_inputs_spark(session, relations: dict[str, str]) -> dict[str, pd.DataFrame]:
    """The input models as DataFrames, read through a SparkSession. relations: model -> relation name."""
    frames = {}
    for model in INPUT_MODELS:
        result = session.sql(f"select * from {relations[model]}")
        frames[model] = pd.DataFrame([tuple(row) for row in result.collect()], columns=result.columns)
    return frames


def write_fits_spark(session, schema: str, fits: pd.DataFrame) -> str:
    """Replace <schema>.int_clv__model_fits with `fits` (a Parquet table); returns the relation name."""
    from pyspark.sql.types import _parse_datatype_string

    relation = f"`{schema}`.`{FIT_TABLE}`"
    ddl = ", ".join(f"{name} {_SPARK_TYPES[sql_type]}" for name, sql_type in FIT_COLUMNS.items())
    records = [[_sql_value(v) for v in record] for record in fits[list(FIT_COLUMNS)].itertuples(index=False)]
    frame = session.createDataFrame(records, schema=_parse_datatype_string(ddl))
    frame.write.mode("overwrite").format("parquet").saveAsTable(relation)
    return relation
