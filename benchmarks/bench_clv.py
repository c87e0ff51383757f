"""Benchmark of the customer-value models: fit and scoring at 100k and 1M customers, beside the
`lifetimes` package's BetaGeoFitter on the same summary.

    python benchmarks/bench_clv.py [--sizes 100000 1000000] [--seed 7] [--no-lifetimes]
                                   [--lifetimes-venv DIR] [--keep] [--out report.json]

For each size it
  1. simulates customer summaries from the BG/NBD and Gamma-Gamma stories with the generator's
     daily parameters (r = 0.8, alpha = 110, a = 1.3, b = 4.5; p = 5, q = 3.2, gamma = 30), first
     purchases spread over 545 days, recency and age in whole days as the warehouse counts them
     (same-day repeat purchases, rare at these rates, are not merged here);
  2. groups them as the warehouse does (int_clv__bgnbd_groups, int_clv__spend_groups) and times
     the fits (customer_lifecycle.clv: bgnbd.fit, gamma_gamma.fit on the groups);
  3. times the SQL scoring on DuckDB: the SQL that the macro clv_bgnbd_scores compiles to (taken
     from `dbt compile`), over the groups, without and with discounting (12 steps), best of 3 runs;
     and the Python reference (customer_lifecycle.clv.hyp2f1) on the same groups, whose results the
     SQL must match;
  4. fits lifetimes' BetaGeoFitter on the same summary (the grouped rows with their customer counts
     as weights, and at 100k also one row per customer), checking it finds the same parameters.
     lifetimes is installed only into a throwaway virtual environment (default under /tmp), never
     into the project's.

Prints a table and writes the figures as JSON (--out). Wall-clock seconds; the machine's CPU count
is in the report.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from customer_lifecycle.clv import bgnbd, gamma_gamma, hyp2f1  # noqa: E402

TRUE_BGNBD = {"r": 0.8, "alpha": 110.0, "a": 1.3, "b": 4.5}
TRUE_GG = {"p": 5.0, "q": 3.2, "gamma": 30.0}
SPAN_DAYS = 545
HORIZON_DAYS = 365
REPEATS = 3  # scoring timings: the best of this many runs
LIFETIMES_REQUIREMENTS = ["lifetimes==0.11.3", "numpy<2", "pandas<2", "scipy<1.12", "autograd<1.7"]


def simulate(n: int, seed: int) -> pd.DataFrame:
    """Per customer: frequency, recency_days, age_days, repeat_net_revenue (cents exact)."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = TRUE_BGNBD.values()
    lam = rng.gamma(r, 1.0 / alpha, n)
    p_drop = rng.beta(a, b, n)
    age = rng.integers(0, SPAN_DAYS, n)          # whole days from the first purchase to as_of_date
    start = rng.random(n)                        # time of day of the first purchase
    end = age + 1.0 - start                      # observation ends at the end of as_of_date
    x = np.zeros(n, dtype=np.int64)
    last = np.zeros(n)
    clock = np.zeros(n)
    active = np.arange(n)
    while active.size:
        clock[active] += rng.exponential(1.0 / lam[active])
        active = active[clock[active] <= end[active]]
        x[active] += 1
        last[active] = clock[active]
        active = active[rng.random(active.size) >= p_drop[active]]
    recency = np.floor(start + last).astype(np.int64)   # day of the last purchase - day of the first
    p, q, g = TRUE_GG.values()
    nu = rng.gamma(q, 1.0 / g, n)
    total = np.where(x > 0, rng.gamma(np.maximum(p * x, 1e-9), 1.0 / nu), 0.0)
    revenue = np.round(total, 2)
    return pd.DataFrame({"frequency": x, "recency_days": np.where(x > 0, recency, 0), "age_days": age,
                         "repeat_net_revenue": revenue})


def grouped(summary: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    groups = (summary.groupby(["frequency", "recency_days", "age_days"], as_index=False)
              .size().rename(columns={"size": "customers"}))
    groups["recency"] = groups["recency_days"].astype(float)
    groups["age"] = groups["age_days"].astype(float)
    spend = summary[(summary["frequency"] > 0) & (summary["repeat_net_revenue"] > 0)]
    spend = (spend.groupby(["frequency", "repeat_net_revenue"], as_index=False)
             .size().rename(columns={"size": "customers"}))
    return groups, spend


def timed(func, *args, **kwargs):
    t0 = time.perf_counter()
    value = func(*args, **kwargs)
    return value, time.perf_counter() - t0


def compiled_scoring_sql(db_path: Path, periods: int, rate: float) -> str:
    """The SQL of the macro clv_bgnbd_scores over the tables bench_groups and bench_parameters."""
    inline = ("select * from ({{ clv_bgnbd_scores('bench_groups', 'bench_parameters', "
              "['frequency', 'recency_days', 'age_days'], horizon=" f"{HORIZON_DAYS}, periods={periods}, "
              f"discount_rate={rate}, periods_per_year=365) }}}}) as scores")
    env = {**os.environ, "DO_NOT_TRACK": "1", "LIFECYCLE_DUCKDB_PATH": str(db_path), "LIFECYCLE_TARGET": "duckdb",
           "LIFECYCLE_DATA_DIR": "", "LIFECYCLE_RAW_SCHEMA": ""}
    dbt = Path(sys.executable).parent / "dbt"
    with tempfile.TemporaryDirectory(prefix="bench_clv_dbt_") as target:
        result = subprocess.run(
            [str(dbt if dbt.exists() else "dbt"), "compile", "--quiet", "--inline", inline,
             "--profiles-dir", str(PROJECT_DIR), "--project-dir", str(PROJECT_DIR), "--target-path", target],
            cwd=PROJECT_DIR, env={**env, "DBT_LOG_PATH": target}, text=True, capture_output=True)
    if result.returncode != 0:
        raise RuntimeError(f"dbt compile failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout.strip()


def python_reference(groups: pd.DataFrame, fit) -> dict[str, np.ndarray]:
    x, t_x, T = (groups[c].to_numpy(float) for c in ("frequency", "recency", "age"))
    params = (fit.r, fit.alpha, fit.a, fit.b)
    return {
        "p_alive": hyp2f1.bgnbd_probability_alive(*params, x, t_x, T),
        "expected_purchases": hyp2f1.bgnbd_conditional_expected_purchases(*params, float(HORIZON_DAYS), x, t_x, T),
    }


def ensure_lifetimes_venv(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if python.exists() and subprocess.run([str(python), "-c", "import lifetimes"], capture_output=True).returncode == 0:
        return python
    base = shutil.which("python3.11") or sys.executable
    subprocess.run([base, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    *LIFETIMES_REQUIREMENTS], check=True)
    return python


LIFETIMES_SCRIPT = textwrap.dedent("""
    import json, sys, time, warnings
    import numpy as np
    from lifetimes import BetaGeoFitter
    warnings.simplefilter("ignore")
    data = np.load(sys.argv[1])
    out = {}
    for name in sys.argv[2:]:
        f, r, T = data[name + "_frequency"], data[name + "_recency"], data[name + "_T"]
        w = data[name + "_weights"] if name + "_weights" in data else None
        model = BetaGeoFitter(penalizer_coef=0.0)
        t0 = time.perf_counter()
        if w is None:
            model.fit(f, r, T)
        else:
            model.fit(f, r, T, weights=w)
        seconds = time.perf_counter() - t0
        p = model.params_
        out[name] = {"seconds": seconds, "r": float(p["r"]), "alpha": float(p["alpha"]),
                     "a": float(p["a"]), "b": float(p["b"]), "log_likelihood": float(model._negative_log_likelihood_)}
    print(json.dumps(out))
""")


def run_lifetimes(python: Path, work: Path, summary: pd.DataFrame, groups: pd.DataFrame, per_customer: bool) -> dict:
    arrays = {
        "grouped_frequency": groups["frequency"].to_numpy(float), "grouped_recency": groups["recency"].to_numpy(float),
        "grouped_T": groups["age"].to_numpy(float), "grouped_weights": groups["customers"].to_numpy(np.int64),
    }
    names = ["grouped"]
    if per_customer:
        observed = summary[summary["age_days"] > 0]
        arrays.update({"customers_frequency": observed["frequency"].to_numpy(float),
                       "customers_recency": observed["recency_days"].to_numpy(float),
                       "customers_T": observed["age_days"].to_numpy(float)})
        names.append("customers")
    data_path = work / "lifetimes_input.npz"
    np.savez(data_path, **arrays)
    script = work / "lifetimes_fit.py"
    script.write_text(LIFETIMES_SCRIPT)
    result = subprocess.run([str(python), str(script), str(data_path), *names], capture_output=True, text=True)
    if result.returncode != 0:
        return {"error": result.stderr[-2000:]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_size(n: int, seed: int, work: Path, lifetimes_python: Path | None) -> dict:
    report: dict = {"customers": n}
    summary, report["simulate_seconds"] = timed(simulate, n, seed)
    (groups, spend), report["group_seconds"] = timed(grouped, summary)
    fit_input = groups[groups["age_days"] > 0]
    report["bgnbd_groups"] = len(fit_input)
    report["spend_groups"] = len(spend)

    fit, report["bgnbd_fit_seconds"] = timed(
        bgnbd.fit, fit_input["frequency"], fit_input["recency"], fit_input["age"], fit_input["customers"])
    report["bgnbd"] = {k: getattr(fit, k) for k in ("r", "alpha", "a", "b", "log_likelihood")}
    report["bgnbd_std_errors"] = fit.standard_errors
    x = spend["frequency"].to_numpy(float)
    gg, report["gamma_gamma_fit_seconds"] = timed(
        gamma_gamma.fit, x, spend["repeat_net_revenue"].to_numpy(float) / x, spend["customers"])
    report["gamma_gamma"] = {k: getattr(gg, k) for k in ("p", "q", "gamma")}

    # Scoring: the macro's SQL on DuckDB, over every group (age 0 included, as in the warehouse).
    db_path = work / f"bench_{n}.duckdb"
    if db_path.exists():
        db_path.unlink()
    con = duckdb.connect(str(db_path))
    con.register("groups_frame", groups)
    con.execute("create table bench_groups as select * from groups_frame")
    con.execute("create table bench_parameters as select ? as r, ? as alpha, ? as a, ? as b",
                [fit.r, fit.alpha, fit.a, fit.b])
    con.close()
    report["python_scoring_seconds"] = min(timed(python_reference, groups, fit)[1] for _ in range(REPEATS))
    report["scoring_groups"] = len(groups)
    report["scoring_series_points"] = len(groups[["frequency", "age_days"]].drop_duplicates())
    for label, periods, rate in (("sql_scoring", 1, 0.0), ("sql_scoring_discounted_12_steps", 12, 0.1)):
        sql = compiled_scoring_sql(db_path, periods, rate)
        con = duckdb.connect(str(db_path))
        try:
            seconds = []
            for _ in range(REPEATS):
                t0 = time.perf_counter()
                con.execute(f"create or replace table bench_scores as {sql}")
                seconds.append(time.perf_counter() - t0)
            report[f"{label}_seconds"] = min(seconds)
            if periods == 1:
                scores = con.sql("select frequency, recency_days, age_days, p_alive, expected_purchases, "
                                 "series_terms, is_series_converged from bench_scores").df()
                merged = groups.merge(scores, on=["frequency", "recency_days", "age_days"], validate="one_to_one")
                ref = python_reference(merged, fit)
                report["sql_vs_python_max_abs_diff"] = {
                    k: float(np.max(np.abs(merged[k].to_numpy(float) - ref[k]))) for k in ref}
                report["series_terms_max"] = int(scores["series_terms"].max())
                report["series_term_rows"] = int(  # the series is summed once per distinct (x, T)
                    scores.drop_duplicates(["frequency", "age_days"])["series_terms"].sum())
                report["all_series_converged"] = bool(scores["is_series_converged"].all())
        finally:
            con.close()

    if lifetimes_python is not None:
        lt = run_lifetimes(lifetimes_python, work, summary, fit_input, per_customer=n <= 100_000)
        report["lifetimes"] = lt
        for name, result in lt.items():
            if isinstance(result, dict) and "r" in result:
                result["max_relative_difference"] = max(
                    abs(result[k] - report["bgnbd"][k]) / report["bgnbd"][k] for k in ("r", "alpha", "a", "b"))
    return report


def print_report(reports: list[dict]) -> None:
    print()
    print(f"CPUs: {os.cpu_count()}")
    header = f"{'customers':>10} {'groups':>8} {'(x, T)':>7} {'fit s':>7} {'GG fit s':>8} {'SQL score s':>11} " \
             f"{'SQL disc. s':>11} {'py score s':>10} {'lifetimes s':>11} {'max |SQL-py|':>12}"
    print(header)
    for rep in reports:
        lt = rep.get("lifetimes", {}).get("grouped", {})
        diff = max(rep["sql_vs_python_max_abs_diff"].values())
        print(f"{rep['customers']:>10} {rep['bgnbd_groups']:>8} {rep['scoring_series_points']:>7} "
              f"{rep['bgnbd_fit_seconds']:>7.2f} "
              f"{rep['gamma_gamma_fit_seconds']:>8.2f} {rep['sql_scoring_seconds']:>11.2f} "
              f"{rep['sql_scoring_discounted_12_steps_seconds']:>11.2f} {rep['python_scoring_seconds']:>10.2f} "
              f"{lt.get('seconds', float('nan')):>11.2f} {diff:>12.1e}")
    for rep in reports:
        print(f"\n{rep['customers']} customers: BG/NBD " + ", ".join(f"{k}={v:.5g}" for k, v in rep["bgnbd"].items()))
        for name, result in rep.get("lifetimes", {}).items():
            if isinstance(result, dict) and "r" in result:
                print(f"  lifetimes ({name}): " + ", ".join(f"{k}={result[k]:.5g}" for k in ("r", "alpha", "a", "b"))
                      + f"; {result['seconds']:.2f} s; max relative difference {result['max_relative_difference']:.1e}")
            elif name == "error":
                print(f"  lifetimes failed: {result}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-lifetimes", action="store_true", help="skip the lifetimes comparison")
    ap.add_argument("--lifetimes-venv", default="/tmp/bench_clv_lifetimes_venv",
                    help="throwaway virtual environment for lifetimes (created when missing)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (DuckDB files)")
    ap.add_argument("--out", help="write the report as JSON to this file")
    args = ap.parse_args(argv)
    lifetimes_python = None if args.no_lifetimes else ensure_lifetimes_venv(Path(args.lifetimes_venv))
    work = Path(tempfile.mkdtemp(prefix="bench_clv_"))
    try:
        reports = [bench_size(n, args.seed, work, lifetimes_python) for n in args.sizes]
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print_report(reports)
    if args.out:
        Path(args.out).write_text(json.dumps({"cpus": os.cpu_count(), "sizes": reports}, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
