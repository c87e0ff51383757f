"""The project on Spark (dbt-spark, session method, local pyspark): the bundled demo, the tiny
fixture and bad settings (the incremental story is test_spark.py, run on the other worker).

- The README's Spark command on the demo (`LIFECYCLE_TARGET=spark ... build`, seeds mode): every
  unit test passes, the customer-value models are fitted by that command alone, and every mart
  equals DuckDB's demo (whose data tests pass). The data tests run on Spark once per test run, in
  the incremental story's run B1 (test_spark.py): the same SQL on the same engine, on a run that also
  narrows them to the rows it wrote.
- The quarantine of the tiny fixture is identical to DuckDB's, and bad settings stop the build
  before any model.

The three builds run one after the other in one Spark process (spark_process.SparkProcess), so one
JVM serves them: a new JVM would compile Spark's planner again.

Under CI (or LIFECYCLE_REQUIRE_SPARK=1) a missing Java, pyspark or dbt-spark is a failure.
"""
from __future__ import annotations

import json
import os
import re

import pytest

from .harness import (FIXTURES, WITHOUT_UNIT_TESTS, Build, close_spark_process, model_names, pinned_vars,
                      require_spark, spark_env, spark_process)
from .readme import run_readme_in
from .test_spark import WITHOUT_DATA_TESTS, assert_ran_every, same_as_duckdb

SPARK_DEMO = "LIFECYCLE_TARGET=spark .venv/bin/python -m customer_lifecycle build"


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    """One Spark process (one JVM) for this file's builds, on one warehouse: the demo in the
    project's schema, the tiny fixture in schema tiny. Returns (process, work_dir)."""
    require_spark()
    work_dir = tmp_path_factory.mktemp("spark-demo")
    yield spark_process(spark_env(work_dir)), work_dir
    close_spark_process(spark_env(work_dir))


@pytest.fixture(scope="module")
def spark_demo(spark):
    """The README's Spark command on the bundled demo (seeds mode), with unit tests and without data
    tests (dbt's own setting; they run in test_spark.py's B1)."""
    process, work_dir = spark
    b = run_readme_in(process, SPARK_DEMO, work_dir=work_dir, env={**spark_env(work_dir), **WITHOUT_DATA_TESTS},
                      unit_tests=True)
    assert b.ok, b.output[-6000:]
    return b


def test_the_demo_equals_duckdbs_demo(spark_demo, demo_builds):
    """The seeds arrive as written (empty fields null), nothing is quarantined, and every mart is
    DuckDB's (a demo build whose seeds read an empty field as the text 'None' quarantined every event)."""
    duck = demo_builds("duckdb")
    for table in ("customers", "events", "orders", "email_events"):
        sql = f"select count(*) from {{{{ stg_shop__{table} }}}}"
        assert spark_demo.query(sql) == duck.query(sql), table
    assert spark_demo.query("select count(*) from {{ stg_shop__quarantined_rows }}") == [(0,)]
    marts = model_names(duck, "marts")
    assert model_names(spark_demo, "marts") == marts and len(marts) >= 20
    same_as_duckdb(spark_demo, duck, marts + ["stg_shop__quarantined_rows"])


def test_the_demo_command_alone_fits_the_customer_value_models(spark_demo):
    """`build` alone ran every unit test and the fit (fitted_with names the fit step), with no
    warning: the demo fits all three models, and every customer with a valid order has a prediction."""
    fits = spark_demo.query("select model_name, status, fitted_with from {{ fct_clv_model_parameters }}")
    assert sorted(fits) == [(name, "fitted", "fit-clv") for name in ("bgnbd", "bgnbd_calibration", "gamma_gamma")]
    assert_ran_every(spark_demo, "unit_test")
    assert not [int(n) for n in re.findall(r"(?:WARN|ERROR)=(\d+)", spark_demo.output) if int(n)]
    predicted = spark_demo.query("select count(*), count(predicted_clv) from {{ fct_customer_clv }}")[0]
    assert predicted[0] > 0 and predicted[1] == predicted[0]


@pytest.fixture(scope="module")
def tiny_on_spark(spark) -> dict[str, Build]:
    """{'bad': a build with two bad settings, 'tiny': the tiny fixture's staging}: dbt invocations in
    the file's Spark process, in schema tiny of its warehouse."""
    process, work_dir = spark
    base = {k: v for k, v in os.environ.items() if not k.startswith("LIFECYCLE_")}
    builds = {}
    for name, args, dbt_vars in (
            ("bad", ["build"], {"loyalty_min_orders": 1, "reporting_currency": "usd"}),
            ("tiny", ["run", "--select", "staging"], None)):
        build_dir = work_dir / name
        build_dir.mkdir()
        env = {**spark_env(work_dir), "LIFECYCLE_DATA_DIR": str(FIXTURES / "tiny"), "LIFECYCLE_RAW_SCHEMA": "",
               "LIFECYCLE_SPARK_SCHEMA": "tiny", **WITHOUT_UNIT_TESTS}
        step_env = {**base, **env, "DBT_LOG_PATH": str(build_dir / "logs"), "DO_NOT_TRACK": "1"}
        code = process.run("dbt", [*args, "--target-path", str(build_dir / "target"),
                                   "--vars", json.dumps(pinned_vars(dbt_vars))], step_env, build_dir / "output.txt")
        builds[name] = Build("spark", build_dir, env, (build_dir / "output.txt").read_text(), code)
    return builds


def test_tiny_quarantine_is_identical(tiny_on_spark, tiny_builds):
    b = tiny_on_spark["tiny"]
    assert b.ok, b.output[-6000:]
    # quarantined_row_id is a fingerprint (an engine's own hash); the row itself and its reason are not.
    sql = "select source_table, row_key, quarantine_reason, raw_values from {{ stg_shop__quarantined_rows }}"
    spark_rows, duck_rows = sorted(b.query(sql)), sorted(tiny_builds("duckdb").query(sql))
    assert len(duck_rows) > 10  # the fixture quarantines rows of every kind
    assert spark_rows == duck_rows
    counts = "select count(*) from {{ %s }}"
    for table in ("orders", "events", "customers"):
        assert b.query(counts % f"stg_shop__{table}") == tiny_builds("duckdb").query(counts % f"stg_shop__{table}")


def test_bad_settings_stop_the_build_before_any_model(tiny_on_spark):
    # Two bad settings in one build: the check before any model names both.
    b = tiny_on_spark["bad"]
    assert not b.ok
    for needle in ("loyalty_min_orders must be at least 2", "reporting_currency must be a 3-letter"):
        assert needle in b.output, b.output[-3000:]
    assert "OK created" not in b.output
