"""The project on Spark (dbt-spark, session method, local pyspark): every mart equals DuckDB's on the
same data, the customer-value models are fitted by `build` alone, the quarantine of the tiny
fixture is identical, and bad settings stop the build before any model.

Under CI (or LIFECYCLE_REQUIRE_SPARK=1) a missing Java, pyspark or dbt-spark is a failure.
The incremental runs on Spark are checked in test_incremental.py (engine spark).
"""
from __future__ import annotations

import re
import shutil

import pytest

from .harness import BUILD_RECORD_DATA, DEMO_SEEDS, FIXTURES, assert_same_tables, build, model_names, require_spark


@pytest.fixture(scope="module", autouse=True)
def spark_available():
    require_spark()


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):
    """The demo seeds as a user's raw files (<table>.csv), read in place by Spark."""
    target = tmp_path_factory.mktemp("spark-demo-files")
    for seed in DEMO_SEEDS.glob("raw_*.csv"):
        shutil.copy(seed, target / seed.name.removeprefix("raw_"))
    return target


@pytest.fixture(scope="module")
def spark_demo(tmp_path_factory, demo_files):
    """The demo on Spark by the user's one command, `python -m customer_lifecycle build`."""
    b = build("spark", tmp_path_factory.mktemp("demo-spark"), data_dir=demo_files, cli=True)
    assert b.ok, b.output[-6000:]
    return b


def test_build_alone_fits_the_customer_value_models(spark_demo):
    statuses = spark_demo.query("select model_name, status, fitted_with from {{ fct_clv_model_parameters }}")
    assert sorted(statuses) == [("bgnbd", "fitted", "fit-clv"), ("bgnbd_calibration", "fitted", "fit-clv"),
                                ("gamma_gamma", "fitted", "fit-clv")]
    # A healthy build warns of nothing (the not_fitted warning is a warn-severity test).
    warned = [int(n) for n in re.findall(r"WARN=(\d+)", spark_demo.output)]
    assert warned and not any(warned), re.findall(r"Done\. .*", spark_demo.output)
    predicted = spark_demo.query("select count(*), count(predicted_clv) from {{ fct_customer_clv }}")[0]
    assert predicted[0] > 0 and predicted[1] == predicted[0]


def test_every_mart_equals_duckdb(spark_demo, demo_builds):
    """Same rows, text and keys exactly, money to the cent; doubles within 1e-9 relative (Spark adds
    up a column in another order than DuckDB); CLV scores, doubles rounded to 10 decimals, within
    1e-9 relative (a last-bit difference of the double can move the tenth decimal). The fit table
    differs only in fitted_with, which names the route ('dbt python model' on DuckDB)."""
    duck = demo_builds("duckdb")
    marts = model_names(duck, "marts")
    assert model_names(spark_demo, "marts") == marts and len(marts) >= 20
    fit_columns = [c for c in duck.columns("fct_clv_model_parameters") if c != "fitted_with"]
    assert_same_tables(spark_demo, duck, marts, decimal_rel_tol=lambda v: 1e-9 if _scale(v) > 2 else 0,
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
