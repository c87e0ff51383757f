"""The project on Spark (dbt-spark, session method, local pyspark), in one file so that its builds run
one after another on one worker while the other engines' tests run beside them.

- Incremental runs (test_incremental.py's story and checks, engine spark): A is built, then B1 runs
  incrementally, overwriting the partitions (buckets of persons) that hold the touched persons, and
  `fit-clv` refits the customer-value models as a user of Spark does. The full refresh beside B1 is
  the user's one command, `python -m customer_lifecycle build`, with every data test: every mart,
  every incremental model and the quarantine are identical.
- That command alone fits the customer-value models (or reports, as DuckDB does, why one cannot be
  fitted to these data), and every mart equals a DuckDB build of the same files.
- The quarantine of the tiny fixture is identical to DuckDB's, and bad settings stop the build
  before any model.

Under CI (or LIFECYCLE_REQUIRE_SPARK=1) a missing Java, pyspark or dbt-spark is a failure.
"""
from __future__ import annotations

import json
import re

import pytest

from .harness import BUILD_RECORD_DATA, FIXTURES, assert_same_tables, build, cli_again, model_names, require_spark
from .test_incremental import (  # noqa: F401 - fixtures and tests collected here with engine spark
    NO_TESTS,
    runs,
    story,
    test_late_identification_moves_the_visitor_into_the_customer,
    test_late_order_status_change_and_orphan_parent,
    test_replays_are_quarantined_and_change_nothing_else,
)


@pytest.fixture(scope="module")
def engine():
    require_spark()
    return "spark"


@pytest.fixture(scope="module")
def full_refresh(tmp_path_factory):
    """On Spark the full refresh is `python -m customer_lifecycle build` on a fresh warehouse: dbt
    build with every data test, around the customer-value fit (no dbt Python models on Spark). The
    incremental database gets the same fit from `fit-clv` before the two are compared. The builds
    are kept in full_refresh.built for the tests below."""
    built = {}

    def run(step, data_dir, dbt_vars, incremental):
        refit = cli_again(incremental, ["fit-clv"], dbt_vars)
        assert refit.ok, f"fit-clv after {step}:\n" + refit.output[-5000:]
        full = build("spark", tmp_path_factory.mktemp(f"spark-full-{step}"), data_dir=data_dir, cli=True,
                     dbt_vars=dbt_vars)
        assert full.ok, f"full {step}:\n" + full.output[-6000:]
        built[step] = full
        return full

    run.built = built
    return run


@pytest.fixture(scope="module")
def spark_build(runs, full_refresh):
    """The user's one command on B1's raw files (the full refresh of the incremental runs)."""
    return full_refresh.built["B1"]


def test_each_increment_equals_a_full_refresh(runs):
    # The comparison with a full refresh runs inside the fixture, after B1. Here: the step
    # recomputed the touched persons' buckets, not everyone from scratch.
    assert 0 < len(runs["B1"]["touched"]) < runs["B1"]["persons"]


def test_build_alone_fits_the_customer_value_models(spark_build):
    """`build` alone ran the fit (fitted_with names the fit step) and every data test. On B1's raw
    files (400 customers) the BG/NBD's b runs to the edge of its range: the data show
    almost no drop-out, a limiting case the model cannot represent; DuckDB's dbt Python model
    reaches the same verdict (test_every_mart_equals_duckdb compares the fit table). The calibration
    BG/NBD and Gamma-Gamma fit. So the one warning is the not-fitted one, and no CLV is predicted."""
    fits = {name: (status, message, fitted_with) for name, status, message, fitted_with in spark_build.query(
        "select model_name, status, message, fitted_with from {{ fct_clv_model_parameters }}")}
    assert {name: fit[2] for name, fit in fits.items()} == dict.fromkeys(["bgnbd", "bgnbd_calibration", "gamma_gamma"],
                                                                        "fit-clv")
    assert fits["bgnbd_calibration"][0] == fits["gamma_gamma"][0] == "fitted"
    assert fits["bgnbd"][0] == "failed" and fits["bgnbd"][1].startswith("[parameter_at_bound] BG/NBD: estimate of")
    warnings = re.findall(r" of \d+ WARN \d+ (\w+)", spark_build.output)
    assert len(warnings) == 1 and warnings[0].startswith("expression_is_true_fct_clv_model_parameters_status_fitted"), warnings
    # Every data test ran (a build without tests would report none of them).
    manifest = json.loads((spark_build.work_dir / "target" / "manifest.json").read_text())
    data_tests = sum(node["resource_type"] == "test" for node in manifest["nodes"].values())
    passed = sum(int(n) for n in re.findall(r"PASS=(\d+)", spark_build.output))
    assert data_tests > 100 and passed >= data_tests - 1, re.findall(r"Done\. .*", spark_build.output)
    predicted = spark_build.query("select count(*), count(predicted_clv) from {{ fct_customer_clv }}")[0]
    assert predicted[0] > 0 and predicted[1] == 0


@pytest.fixture(scope="module")
def duckdb_build(story, tmp_path_factory):
    b = build("duckdb", tmp_path_factory.mktemp("spark-twin-duckdb"), data_dir=story.dirs["B1"], args=NO_TESTS)
    assert b.ok, b.output[-5000:]
    return b


def test_every_mart_equals_duckdb(spark_build, duckdb_build):
    """Same rows, text and keys exactly, money to the cent; doubles within 1e-9 relative (Spark adds
    up a column in another order than DuckDB); CLV scores, doubles rounded to 10 decimals, within
    1e-9 relative (a last-bit difference of the double can move the tenth decimal). The fit table
    differs only in fitted_with, which names the route ('dbt python model' on DuckDB)."""
    duck = duckdb_build
    marts = model_names(duck, "marts")
    assert model_names(spark_build, "marts") == marts and len(marts) >= 20
    fit_columns = [c for c in duck.columns("fct_clv_model_parameters") if c != "fitted_with"]
    assert_same_tables(spark_build, duck, marts, decimal_rel_tol=lambda v: 1e-9 if _scale(v) > 2 else 0,
                       columns={"fct_clv_model_parameters": ", ".join(fit_columns), "fct_build_record": BUILD_RECORD_DATA})


def _scale(value: str) -> int:
    return len(value.split(".")[1]) if "." in value else 0


def test_tiny_quarantine_is_identical(tmp_path, tiny_builds):
    b = build("spark", tmp_path / "tiny-spark", data_dir=FIXTURES / "tiny", args=["run", "--select", "staging"])
    assert b.ok, b.output[-6000:]
    # quarantined_row_id is a fingerprint (an engine's own hash); the row itself and its reason are not.
    sql = "select source_table, row_key, quarantine_reason, raw_values from {{ stg_shop__quarantined_rows }}"
    spark_rows, duck_rows = sorted(b.query(sql)), sorted(tiny_builds("duckdb").query(sql))
    assert len(duck_rows) > 10  # the fixture quarantines rows of every kind
    assert spark_rows == duck_rows
    counts = "select count(*) from {{ %s }}"
    for table in ("orders", "events", "customers"):
        assert b.query(counts % f"stg_shop__{table}") == tiny_builds("duckdb").query(counts % f"stg_shop__{table}")


def test_bad_settings_stop_the_build_before_any_model(tmp_path):
    # Two bad settings in one build (a Spark session costs half a minute to start): the check
    # before any model names both.
    b = build("spark", tmp_path / "bad-spark", data_dir=FIXTURES / "tiny",
              dbt_vars={"loyalty_min_orders": 1, "reporting_currency": "usd"})
    assert not b.ok
    for needle in ("loyalty_min_orders must be at least 2", "reporting_currency must be a 3-letter"):
        assert needle in b.output, b.output[-3000:]
    assert "OK created" not in b.output
