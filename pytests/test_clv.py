"""Customer value in the warehouse: the BG/NBD and Gamma-Gamma fits, the portable SQL scoring, the
calibration/holdout check and RFM segments, end to end through dbt.

  * CDNOW through the bring-your-own-data path reproduces the published estimates
    (Fader, Hardie & Lee 2005a, BG/NBD; 2005b, Gamma-Gamma).
  * Generated data with known BG/NBD parameters: the warehouse's summary and fit recover them.
  * The SQL scores agree with the Python reference customer_lifecycle.clv.hyp2f1 within 1e-6.
  * The demo's holdout purchases lie within the spread the calibration model itself implies.
  * DuckDB (fit inside dbt) and PostgreSQL (fit by `python -m customer_lifecycle fit-clv`) agree.
  * A data set too small to fit (the tiny fixture) builds, with the fits marked failed.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import duckdb
import numpy as np
import pandas as pd
import pytest

from customer_lifecycle.clv import cdnow, gamma_gamma, hyp2f1
from customer_lifecycle.clv.errors import CLVFitError
from customer_lifecycle.clv.warehouse import FIT_COLUMNS, fit_models, write_fits_postgres
from customer_lifecycle.dbt_runner import run_dbt
from customer_lifecycle.generator import generate

from .harness import DEMO_SEEDS, DIRTY_DATA_VARS, FIXTURES, PINNED_MAX_VALID_AT, PROJECT_DIR, build

# [FHL05a] Table 1 / section 4 (39-week calibration period of the CDNOW sample), and [FHL05b].
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_BGNBD_LL = -9582.4
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}
SCORE_TOLERANCE = 1e-6
CLV_MARTS_COLUMNS = ("customer_id, frequency, recency_days, age_days, historical_clv, average_order_value, "
                     "repeat_net_revenue, average_repeat_value, p_alive, expected_purchases, "
                     "expected_average_order_value, predicted_clv")


def frame(b, sql: str) -> pd.DataFrame:
    """A query of a build as a DataFrame; `{{ model }}` placeholders become the model's relation."""
    sql = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: b.relation(m.group(1)), sql)
    if b.engine == "duckdb":
        con = duckdb.connect(b.duckdb_file, read_only=True)
        try:
            return con.sql(sql).df()
        finally:
            con.close()
    conn = b.server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            columns = [d[0] for d in cur.description]
            return pd.DataFrame(cur.fetchall(), columns=columns)
    finally:
        conn.close()


def parameters(b) -> pd.DataFrame:
    return frame(b, "select model_name, status, failure_reason, r, alpha, a, b, p, q, gamma, log_likelihood, "
                    "customers, repeat_buyers, fit_groups, time_unit, as_of_date from {{ fct_clv_model_parameters }}"
                 ).set_index("model_name")


def settings(b) -> pd.Series:
    return frame(b, "select horizon, annual_discount_rate, discount_periods, periods_per_year, days_per_unit, "
                    "holdout_days from {{ int_clv__settings }}").iloc[0]


def reference_scores(b) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """fct_customer_clv and the Python reference's values for the same customers and parameters."""
    clv = frame(b, f"select {CLV_MARTS_COLUMNS}, recency, age from {{{{ fct_customer_clv }}}}")
    fits = parameters(b)
    s = settings(b)
    bg, gg = fits.loc["bgnbd"], fits.loc["gamma_gamma"]
    bg_params = {n: float(bg[n]) for n in ("r", "alpha", "a", "b")}
    gg_params = {n: float(gg[n]) for n in ("p", "q", "gamma")}
    x = clv["frequency"].to_numpy(float)
    t_x, T = clv["recency"].to_numpy(float), clv["age"].to_numpy(float)
    # Gamma-Gamma's m: the mean net value of the repeat purchases (unrounded).
    m = np.where(x > 0, clv["repeat_net_revenue"].astype(float) / np.maximum(x, 1.0), np.nan)
    horizon = float(s["horizon"])
    step = horizon / int(s["discount_periods"])
    reference = {
        "p_alive": hyp2f1.bgnbd_probability_alive(*bg_params.values(), x, t_x, T),
        "expected_purchases": hyp2f1.bgnbd_conditional_expected_purchases(*bg_params.values(), horizon, x, t_x, T),
        "expected_average_order_value": gamma_gamma.conditional_expected_average_value(gg_params, x, m),
        "predicted_clv": hyp2f1.predicted_clv(bg_params, gg_params, x, t_x, T, m, horizon,
                                              float(s["annual_discount_rate"]), float(s["periods_per_year"]), step),
    }
    return clv, reference


def assert_scores_match_reference(b):
    clv, reference = reference_scores(b)
    assert len(clv) > 100
    for column, want in reference.items():
        got = clv[column].astype(float).to_numpy()
        assert np.all(np.isfinite(got)), column
        worst = float(np.max(np.abs(got - want)))
        assert worst <= SCORE_TOLERANCE, (column, worst)


# ----------------------------------------------------------------------------------------------
# CDNOW through the bring-your-own-data path
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cdnow_build(tmp_path_factory):
    """The CDNOW sample as raw files; as_of_date = the end of the 39-week calibration period, weeks,
    and a 10 % annual discount rate (12 discounting steps) so that the discounted path is scored."""
    raw = tmp_path_factory.mktemp("cdnow-raw")
    cdnow.write_raw_tables(cdnow.load_transactions(), raw)
    b = build("duckdb", tmp_path_factory.mktemp("cdnow-build"), data_dir=raw,
              dbt_vars={"as_of_date": "1997-09-30", "clv_time_unit": "week", "clv_annual_discount_rate": 0.1})
    assert b.ok, b.output[-5000:]
    return b


def test_cdnow_summary_follows_the_published_conventions(cdnow_build):
    # Customer 00004 bought on 1997-01-01, 01-18 and 08-02: x = 2, t_x = 213 days, T = 272 days.
    row = frame(cdnow_build, "select frequency, recency_days, age_days, recency, age, average_repeat_value "
                             "from {{ fct_customer_clv }} where customer_id = '00004'").iloc[0]
    assert (row["frequency"], row["recency_days"], row["age_days"]) == (2, 213, 272)
    assert row["recency"] == pytest.approx(213 / 7, abs=1e-12) and row["age"] == pytest.approx(272 / 7, abs=1e-12)
    assert float(row["average_repeat_value"]) == pytest.approx(22.35)  # (29.73 + 14.96) / 2, half up
    counts = frame(cdnow_build, "select count(*) as customers, sum(case when frequency > 0 then 1 else 0 end) "
                                "as repeat_buyers, sum(frequency) as repeat_purchases from {{ fct_customer_clv }}")
    assert counts.iloc[0].tolist() == [2357, 946, 2457]


def test_cdnow_fit_reproduces_published_estimates(cdnow_build):
    fits = parameters(cdnow_build)
    bg = fits.loc["bgnbd"]
    assert bg["status"] == "fitted" and bg["time_unit"] == "week"
    for name, value in PUBLISHED_BGNBD.items():
        assert bg[name] == pytest.approx(value, abs=0.005), name
    assert bg["log_likelihood"] == pytest.approx(PUBLISHED_BGNBD_LL, abs=0.5)
    assert (bg["customers"], bg["repeat_buyers"]) == (2357, 946)
    assert bg["fit_groups"] < 2357  # the fit works on distinct (x, t_x, T) groups
    gg = fits.loc["gamma_gamma"]
    assert gg["status"] == "fitted" and gg["customers"] == 946
    for name, value in PUBLISHED_GG.items():
        assert gg[name] == pytest.approx(value, abs=0.005), name


def test_sql_scores_match_the_python_reference_in_weeks_with_discounting(cdnow_build):
    assert float(settings(cdnow_build)["discount_periods"]) == 12
    assert_scores_match_reference(cdnow_build)


def test_sql_scores_match_the_python_reference_in_days(demo_builds):
    assert_scores_match_reference(demo_builds("duckdb"))


# ----------------------------------------------------------------------------------------------
# Recovery of known parameters (generator)
# ----------------------------------------------------------------------------------------------
def test_fit_recovers_the_generator_parameters(tmp_path):
    """About 50,000 customers of the orders-only `clv` preset (pure BG/NBD, per day). The warehouse
    summarises them (days, same-day orders merged) and fits; every estimate must lie within 4
    asymptotic standard errors of the true value, and the standard errors must be below 10 % of the
    value so that the check has power. For a correct fit 4 SE is a generous bound (about 6e-5 per
    parameter); it also absorbs the small bias of counting time in whole UTC days (the age T of a
    customer is the days to as_of_date, half a day short of the true observation time on average),
    which over several seeds shifts r and alpha up by about one SE. The seed is fixed, so the test
    is deterministic."""
    data = tmp_path / "data"
    truth = json.loads(generate("clv", seed=11, out_dir=data, customers=50_000).read_text())
    true = truth["parameters"]["btyd"]
    b = build("duckdb", tmp_path / "build", data_dir=data, args=["run", "--select", "+fct_clv_model_parameters"])
    assert b.ok, b.output[-5000:]
    fit = frame(b, "select model_name, status, r, alpha, a, b, r_std_error, alpha_std_error, a_std_error, "
                   "b_std_error, customers from {{ fct_clv_model_parameters }}").set_index("model_name").loc["bgnbd"]
    assert fit["status"] == "fitted" and fit["customers"] > 45_000
    for name in ("r", "alpha", "a", "b"):
        se = float(fit[f"{name}_std_error"])
        assert se < 0.10 * true[name], (name, se)
        assert abs(float(fit[name]) - true[name]) < 4 * se, (name, float(fit[name]), true[name], se)


# ----------------------------------------------------------------------------------------------
# Calibration / holdout check on the demo
# ----------------------------------------------------------------------------------------------
def simulate_holdout_purchases(params, x, t_x, T, t, reps, seed):
    """Holdout purchases of each customer under the fitted BG/NBD, `reps` times: alive at T with
    P(alive); if alive, lambda ~ Gamma(r + x, rate alpha + T) and p ~ Beta(a, b + x) (the posterior
    given alive), then Poisson purchases in (T, T + t], dropping out after each with probability p."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = (params[n] for n in ("r", "alpha", "a", "b"))
    shape = (reps, x.size)
    alive = rng.random(shape) < hyp2f1.bgnbd_probability_alive(r, alpha, a, b, x, t_x, T)
    lam = rng.gamma(r + x, 1.0 / (alpha + T), shape)
    p = rng.beta(a, b + x, shape)
    counts = np.zeros(shape)
    clock = np.zeros(shape)
    active = alive
    while active.any():
        clock[active] += rng.exponential(1.0 / lam[active])
        active = active & (clock <= t)
        counts[active] += 1
        active = active & (rng.random(shape) >= p)
    return counts


def test_demo_holdout_purchases_within_the_models_spread(demo_builds):
    """fct_clv_holdout_check: the BG/NBD fitted on the demo up to the calibration end date predicts
    the purchases of the 182-day holdout period. Bound, for every calibration-frequency bucket and
    for the total: |actual - expected| <= 4 sigma + 1, sigma being the standard deviation of the
    bucket's holdout purchases under the fitted model (simulated from the customers' posteriors,
    1,000 replicates; + 1 for the smallest buckets, where counts are discrete). Under the model a
    bucket's total is a sum of independent customers' counts, close to normal, so a correct model
    fails this with probability about 1e-4 per bucket; parameter uncertainty and the demo's
    e-mail-driven orders (not part of the BG/NBD story) are what the margin must also absorb.
    The simulation's means must also agree with the SQL's expectations (eq. 10), within 4 standard
    errors of the simulated mean: an independent check of the scoring on these customers."""
    b = demo_builds("duckdb")
    fits = parameters(b)
    assert fits.loc["bgnbd_calibration", "status"] == "fitted"
    params = {n: float(fits.loc["bgnbd_calibration", n]) for n in ("r", "alpha", "a", "b")}
    s = settings(b)
    holdout = float(s["holdout_days"]) / float(s["days_per_unit"])
    customers = frame(b, "select frequency, recency, age, holdout_purchases from {{ int_clv__holdout_summary }}")
    check = frame(b, "select bucket_order, customers, actual_holdout_purchases, expected_holdout_purchases "
                     "from {{ fct_clv_holdout_check }}").set_index("bucket_order")
    x = customers["frequency"].to_numpy(float)
    counts = simulate_holdout_purchases(params, x, customers["recency"].to_numpy(float),
                                        customers["age"].to_numpy(float), holdout, reps=1000, seed=5)
    bucket = np.minimum(x, 7).astype(int)
    reps = counts.shape[0]
    groups = {k: bucket == k for k in sorted(set(bucket))}
    groups["total"] = np.ones_like(bucket, dtype=bool)
    for key, members in groups.items():
        totals = counts[:, members].sum(axis=1)
        sigma = totals.std(ddof=1)
        rows = check if key == "total" else check.loc[[key]]
        expected = float(rows["expected_holdout_purchases"].astype(float).sum())
        actual = int(rows["actual_holdout_purchases"].sum())
        assert int(rows["customers"].sum()) == int(members.sum())
        assert abs(totals.mean() - expected) <= 4 * sigma / np.sqrt(reps) + 1e-9, (key, totals.mean(), expected)
        assert abs(actual - expected) <= 4 * sigma + 1, (key, actual, expected, sigma)


# ----------------------------------------------------------------------------------------------
# DuckDB and PostgreSQL
# ----------------------------------------------------------------------------------------------
def run_fit_clv(pg_build, *extra):
    env = {**os.environ, **pg_build.env, "DO_NOT_TRACK": "1",
           "DBT_TARGET_PATH": str(pg_build.work_dir / "target"), "DBT_LOG_PATH": str(pg_build.work_dir / "logs")}
    return subprocess.run([sys.executable, "-m", "customer_lifecycle", "fit-clv",
                           "--vars", json.dumps({"max_valid_at": PINNED_MAX_VALID_AT}), *extra],
                          cwd=PROJECT_DIR, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def rebuild_clv(b, select="int_clv__model_parameters+", command="build", **dbt_vars):
    result = run_dbt([command, "--select", select, "--vars", json.dumps({"max_valid_at": PINNED_MAX_VALID_AT,
                                                                         **dbt_vars})],
                     env=b.env, work_dir=b.work_dir, check=False)
    assert result.returncode == 0, result.stdout[-5000:]


@pytest.fixture(scope="module")
def pg_fitted(demo_builds, pg_server):
    """The demo on PostgreSQL by the README's commands, `python -m customer_lifecycle build` last
    (conftest.py demo_builds): dbt up to the summary groups, the fit (no dbt Python models on
    PostgreSQL), then the models using it."""
    return demo_builds("postgres")


def test_postgres_build_alone_fits_without_warnings(pg_fitted):
    fits = parameters(pg_fitted)
    assert set(fits["status"]) == {"fitted"}
    assert pg_fitted.query("select distinct fitted_with from {{ fct_clv_model_parameters }}") == [("fit-clv",)]
    warned = [int(n) for n in re.findall(r"WARN=(\d+)", pg_fitted.output)]
    assert warned and not any(warned), re.findall(r"Done\. .*", pg_fitted.output)


def test_fit_clv_refits_in_place(pg_fitted):
    """`fit-clv` again on the same data: the same fit (the fit is a function of the groups alone)."""
    before = parameters(pg_fitted)
    result = run_fit_clv(pg_fitted)
    assert result.returncode == 0, result.stdout[-5000:]
    after = parameters(pg_fitted)
    assert set(after["status"]) == {"fitted"}
    names = ["r", "alpha", "a", "b", "p", "q", "gamma"]
    # Each model has its own parameters; the others are null (NaN) in both, which equals() matches.
    assert after[names].astype(float).equals(before[names].astype(float)), (before[names], after[names])


def test_postgres_fit_clv_finds_the_duckdb_parameters(demo_builds, pg_fitted):
    duck, pg = parameters(demo_builds("duckdb")), parameters(pg_fitted)
    assert list(duck.index) == list(pg.index) == ["bgnbd", "gamma_gamma", "bgnbd_calibration"]
    assert set(pg["status"]) == {"fitted"}
    for model in duck.index:
        for name in ("r", "alpha", "a", "b", "p", "q", "gamma", "log_likelihood"):
            d, p = duck.loc[model, name], pg.loc[model, name]
            if d is None or (isinstance(d, float) and np.isnan(d)):
                assert p is None or np.isnan(p), (model, name)
            else:
                assert p == pytest.approx(d, rel=1e-9), (model, name)
        for name in ("customers", "repeat_buyers", "fit_groups", "time_unit"):
            assert duck.loc[model, name] == pg.loc[model, name], (model, name)
        assert str(duck.loc[model, "as_of_date"])[:10] == str(pg.loc[model, "as_of_date"])[:10]


def test_same_customer_value_on_duckdb_and_postgres(demo_builds, pg_fitted):
    """The DuckDB fit written into PostgreSQL's fit table (the same parameters on both), the
    PostgreSQL models rebuilt: scores within 1e-6, the rest exactly equal."""
    duck, pg = demo_builds("duckdb"), pg_fitted
    con = duckdb.connect(duck.duckdb_file, read_only=True)
    try:
        fits = con.sql(f"select * from {duck.relation('int_clv__model_fits')}").df()
    finally:
        con.close()
    conn = pg.server.connect()
    try:
        schema = pg.relation("int_clv__bgnbd_groups").split(".")[-2].strip('"')
        write_fits_postgres(conn, schema, fits[list(FIT_COLUMNS)])
    finally:
        conn.close()
    rebuild_clv(pg)

    scores = {"p_alive", "expected_purchases", "expected_average_order_value", "predicted_clv"}
    sql = f"select {CLV_MARTS_COLUMNS} from {{{{ fct_customer_clv }}}} order by customer_id"
    d_rows, p_rows = duck.query(sql), pg.query(sql)
    assert len(d_rows) == len(p_rows) > 1000
    names = [c.strip() for c in CLV_MARTS_COLUMNS.split(",")]
    for d_row, p_row in zip(d_rows, p_rows):
        for name, d, p in zip(names, d_row, p_row):
            if name in scores:
                assert abs(float(d) - float(p)) <= SCORE_TOLERANCE, (d_row[0], name, d, p)
            else:
                assert d == p, (d_row[0], name, d, p)
    sql = "select * from {{ fct_rfm_segments }} order by segment"
    assert duck.query(sql) == pg.query(sql)
    sql = ("select calibration_frequency, customers, actual_holdout_purchases, expected_holdout_purchases "
           "from {{ fct_clv_holdout_check }} order by bucket_order")
    for d_row, p_row in zip(duck.query(sql), pg.query(sql), strict=True):
        assert d_row[:3] == p_row[:3]
        assert abs(float(d_row[3]) - float(p_row[3])) <= SCORE_TOLERANCE
    sql = ("select customer_id, r_score, f_score, m_score, rfm_segment, p_alive, predicted_clv "
           "from {{ dim_customers }} order by customer_id")
    for d_row, p_row in zip(duck.query(sql), pg.query(sql), strict=True):
        assert d_row[:5] == p_row[:5]
        for d, p in zip(d_row[5:], p_row[5:]):
            assert (d is None and p is None) or abs(float(d) - float(p)) <= SCORE_TOLERANCE


def test_postgres_marks_a_fit_of_other_settings_stale(pg_fitted):
    """Rebuilt in weeks, the PostgreSQL fit (made in days) is stale: it is reported, not used."""
    try:
        rebuild_clv(pg_fitted, select="int_clv__settings+", command="run", clv_time_unit="week")
        fits = parameters(pg_fitted)
        assert set(fits["status"]) == {"stale"}, fits["status"]
        assert "run python -m customer_lifecycle fit-clv again" in pg_fitted.query(
            "select message from {{ fct_clv_model_parameters }} where model_name = 'bgnbd'")[0][0]
        assert pg_fitted.query("select count(*) from {{ fct_customer_clv }} where p_alive is not null") == [(0,)]
    finally:
        rebuild_clv(pg_fitted, select="int_clv__settings+", command="run")
    assert set(parameters(pg_fitted)["status"]) == {"fitted"}


# ----------------------------------------------------------------------------------------------
# Too little data
# ----------------------------------------------------------------------------------------------
def test_tiny_fixture_builds_with_failed_fits_and_no_scores(tiny_builds):
    b = tiny_builds("duckdb")
    fits = parameters(b)
    assert set(fits["status"]) == {"failed"}
    assert set(fits["failure_reason"]) == {"too_few_customers"}
    assert fits[["r", "alpha", "a", "b", "p", "q", "gamma"]].isna().all().all()
    clv = frame(b, "select customer_id, historical_clv, p_alive, predicted_clv from {{ fct_customer_clv }}")
    assert len(clv) == 2 and clv["p_alive"].isna().all() and clv["predicted_clv"].isna().all()
    assert "WARN" in b.output and "expression_is_true_fct_clv_model_parameters_status_fitted_" in b.output


def test_bad_customer_value_setting_stops_the_build(tmp_path):
    b = build("duckdb", tmp_path / "w", data_dir=FIXTURES / "tiny",
              dbt_vars={"clv_time_unit": "month", **DIRTY_DATA_VARS})
    assert not b.ok
    assert "clv_time_unit must be day or week, got 'month'" in b.output, b.output[-3000:]


def test_fit_models_reports_failures_as_rows():
    settings_row = pd.DataFrame([{"as_of_date": "2025-06-30", "time_unit": "day",
                                  "calibration_end_date": "2024-12-30", "min_repeat_buyers": 20}])
    empty = pd.DataFrame({"frequency": [], "recency_days": [], "age_days": [], "recency": [], "age": [],
                          "customers": []})
    spend = pd.DataFrame({"frequency": [1, 2], "repeat_net_revenue": [10.0, 30.0], "customers": [3, 4]})
    fits = fit_models(settings_row, empty, spend, empty, fitted_with="test")
    assert list(fits.columns) == list(FIT_COLUMNS)
    assert fits["model_name"].tolist() == ["bgnbd", "gamma_gamma", "bgnbd_calibration"]
    assert fits["status"].tolist() == ["failed"] * 3
    assert fits["failure_reason"].tolist() == ["too_few_customers"] * 3
    assert fits.loc[1, "customers"] == 7 and fits[["r", "p"]].isna().all().all()


def test_fit_clv_on_duckdb_has_nothing_to_do():
    env = {**os.environ, "LIFECYCLE_TARGET": "duckdb"}
    result = subprocess.run([sys.executable, "-m", "customer_lifecycle", "fit-clv"], cwd=PROJECT_DIR, env=env,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert result.returncode == 0 and "nothing to do" in result.stdout


def test_one_extreme_valid_customer_nulls_no_prediction(tmp_path, demo_builds):
    """The demo plus one order just below the money ceiling (max_money_amount, 10^10) for a repeat
    buyer: the order is staged (it is valid), the fits still succeed, and every customer keeps a
    predicted CLV. (Above the ceiling the order would be quarantined: the tiny fixture's O13.)"""
    import csv
    import shutil

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    for seed in DEMO_SEEDS.glob("raw_*.csv"):
        shutil.copy(seed, data_dir / seed.name.removeprefix("raw_"))
    with open(data_dir / "orders.csv", newline="") as fh:
        orders = list(csv.DictReader(fh))
    counts: dict[str, int] = {}
    for order in orders:
        if order["status"] == "delivered" and order["currency"] == "USD":
            counts[order["customer_id"]] = counts.get(order["customer_id"], 0) + 1
    whale = min(c for c, n in counts.items() if n >= 2)
    second = [o for o in orders if o["customer_id"] == whale][1]
    with open(data_dir / "orders.csv", "a", newline="") as fh:
        fh.write(f"O99999999,{whale},{second['ordered_at'][:10]} 23:59:00,delivered,USD,9999999999.00\n")
    b = build("duckdb", tmp_path / "w", data_dir=data_dir, args=["build", "--exclude-resource-type", "test", "unit_test"])
    assert b.ok, b.output[-3000:]
    assert b.query("select count(*) from {{ stg_shop__orders }} where order_id = 'O99999999'") == [(1,)]
    fits = parameters(b)
    assert (fits["status"] == "fitted").all(), fits[["status", "failure_reason"]]
    clv = frame(b, "select customer_id, predicted_clv from {{ fct_customer_clv }}").set_index("customer_id")
    assert clv["predicted_clv"].notna().all()
    assert clv["predicted_clv"].idxmax() == whale
    # Everyone else's prediction stays finite and of the demo's order of magnitude.
    plain = frame(demo_builds("duckdb"), "select customer_id, predicted_clv from {{ fct_customer_clv }}")
    others = clv.drop(index=whale)["predicted_clv"].astype(float)
    assert others.median() < 10 * plain["predicted_clv"].astype(float).median()


def test_gamma_gamma_fits_with_one_customer_at_the_largest_ceiling():
    """Why the money ceiling is at most 10^12 (max_money_amount): 2,000 repeat buyers with mean
    values drawn from a gamma distribution (mean 60) plus one customer whose mean is 10^12 still
    give a converged fit with a finite population mean spend (q > 1); at 10^13 gamma runs to the
    edge of its search range and the fit fails, which would leave every prediction null."""
    rng = np.random.default_rng(1)
    x = rng.integers(1, 8, 2000).astype(float)
    m = rng.gamma(6.0, 10.0, 2000)
    fit = gamma_gamma.fit(np.append(x, 2.0), np.append(m, 1e12))
    assert fit.converged and fit.q > 1
    with pytest.raises(CLVFitError, match="edge of the search range"):
        gamma_gamma.fit(np.append(x, 2.0), np.append(m, 1e13))
