"""The project on Spark (dbt-spark, session method, local pyspark): the incremental story. Spark's
builds are in two files (this one and test_spark_demo.py), each run on one worker while the other
engines' tests run beside them. Each story build is one of the README's Spark commands, with its
arguments and environment as written (readme.run_readme_in):

- Loads (test_loads.py's two loads of the tiny fixture's orders, from files): the later load wins,
  and the ledger counts every row, as on DuckDB and PostgreSQL.
- The incremental story (test_incremental.py's snapshots and checks, engine spark): A from files
  (`LIFECYCLE_DATA_DIR`), then B1 incrementally from tables in the Spark database raw
  (`LIFECYCLE_RAW_SCHEMA=raw`), overwriting the partitions (buckets of persons) that hold the
  touched persons. B1's marts, quarantine and incremental tables equal the DuckDB full refresh of
  the same snapshot (a shared build of test_incremental.py): incremental equals full, and Spark
  equals DuckDB, in one comparison. A, the load of B1's tables and B1 run in one Spark process
  (spark_process.SparkProcess), so one JVM serves them.

Under CI (or LIFECYCLE_REQUIRE_SPARK=1) a missing Java, pyspark or dbt-spark is a failure.
"""
from __future__ import annotations

import json
import os

import pytest

from .harness import (BUILD_RECORD_DATA, DIRTY_DATA_VARS, Build, assert_same_tables, close_spark_process, model_names,
                      pinned_vars, require_spark, spark_env, spark_process)
from .readme import run_readme_in
from .test_loads import assert_the_later_load_won, two_loads
from .test_incremental import (  # noqa: F401 - fixtures and tests collected here with engine spark
    INCREMENTAL_MODELS,
    full_refresh_on_duckdb,
    observe,
    story,
    test_late_identification_moves_the_visitor_into_the_customer,
    test_late_order_status_change_and_orphan_parent,
    test_replays_are_quarantined_and_change_nothing_else,
)

# dbt's own setting: the demo leaves the data tests out (they run in B1); A leaves out both kinds.
WITHOUT_DATA_TESTS = {"DBT_EXCLUDE_RESOURCE_TYPES": "test"}
WITHOUT_ANY_TESTS = {"DBT_EXCLUDE_RESOURCE_TYPES": "unit_test test"}
SPARK_FILES = "LIFECYCLE_TARGET=spark LIFECYCLE_DATA_DIR=/path/to/files .venv/bin/python -m customer_lifecycle build"
SPARK_TABLES = "LIFECYCLE_TARGET=spark LIFECYCLE_RAW_SCHEMA=raw .venv/bin/python -m customer_lifecycle build"


@pytest.fixture(scope="module")
def engine():
    require_spark()
    return "spark"


def same_as_duckdb(spark, duck, models: list[str]) -> None:
    """Same rows, text and keys exactly, money to the cent; doubles within 1e-9 relative (Spark adds
    up a column in another order than DuckDB); CLV scores, doubles rounded to 10 decimals, within
    1e-9 relative (a last-bit difference of the double can move the tenth decimal). The fit table
    differs only in fitted_with, which names the route ('dbt python model' on DuckDB); the
    quarantine only in quarantined_row_id (each engine's own hash); Spark's incremental tables have
    unit_bucket besides DuckDB's columns."""
    columns = {"fct_clv_model_parameters": [c for c in duck.columns("fct_clv_model_parameters") if c != "fitted_with"],
               "stg_shop__quarantined_rows": ["source_table", "row_key", "quarantine_reason", "raw_values"],
               **{model: duck.columns(model) for model in INCREMENTAL_MODELS}}
    assert_same_tables(spark, duck, models, decimal_rel_tol=lambda v: 1e-9 if _scale(v) > 2 else 0,
                       columns={"fct_build_record": BUILD_RECORD_DATA,
                                **{model: ", ".join(names) for model, names in columns.items()}})


def assert_ran_every(b, resource_type: str) -> None:
    """The build ran and passed every enabled node of resource_type ('test', 'unit_test') of its
    manifest on a model it built (the steps before and after the customer-value fit together); a
    test of severity warn may warn (a degenerate fit on a small snapshot)."""
    manifest = json.loads((b.work_dir / "target" / "manifest.json").read_text())
    every_node = {**manifest["nodes"], **manifest.get("unit_tests", {})}
    results = {}
    for name in ("run_results_before_fit.json", "run_results.json"):
        path = b.work_dir / "target" / name
        if path.exists():
            results |= {r["unique_id"]: r["status"] for r in json.loads(path.read_text())["results"]}
    built = {uid for uid, status in results.items() if uid.startswith("model.") and status == "success"}
    nodes = {uid for uid, node in every_node.items()
             if node["resource_type"] == resource_type and node["config"].get("enabled", True)
             and {n for n in node["depends_on"]["nodes"] if n.startswith("model.")} <= built}
    assert len(built) > 60 and len(nodes) > 20, (len(built), len(nodes))
    allowed = {uid: {"pass", "warn"} if every_node[uid]["config"].get("severity", "").lower() == "warn" else {"pass"}
               for uid in nodes}
    failed = sorted(uid for uid in nodes if results.get(uid) not in allowed[uid])
    assert not failed, [(uid, results.get(uid)) for uid in failed[:10]]


def _scale(value: str) -> int:
    return len(value.split(".")[1]) if "." in value else 0


@pytest.fixture(scope="module")
def story_spark(tmp_path_factory):
    """The story's warehouse and its Spark process (one JVM for this file's builds), closed when
    the file's tests are done."""
    require_spark()
    work_dir = tmp_path_factory.mktemp("spark-story")
    env = spark_env(work_dir)
    yield work_dir, env, spark_process(env)
    close_spark_process(env)


@pytest.fixture(scope="module")
def runs(story, shared_builds, story_spark):
    """A from files, then B1 incrementally from tables, each by the README's Spark command on one
    warehouse, in one Spark process (one JVM: A, the load of B1's tables and B1); B1 compared with
    the DuckDB full refresh of B1 right away."""
    work_dir, env, spark = story_spark
    # A sets up the state that B1 updates, and builds without tests: every data test runs on Spark
    # in B1, the incremental run this story is about, and the unit tests in the demo build.
    a = run_readme_in(spark, SPARK_FILES, work_dir=work_dir, env={**env, **WITHOUT_ANY_TESTS},
                      paths={"/path/to/files": story.dirs["A"]})
    assert a.ok, a.output[-5000:]
    steps = {"A": observe(a, story)}
    # B1's CSV files as Parquet tables in the Spark database raw, as a Spark user's loader would hold them.
    loaded = spark.run("load_csv", str(story.dirs["B1"]), {**os.environ, **env}, work_dir / "load.txt")
    assert loaded == 0, (work_dir / "load.txt").read_text()[-3000:]
    b1 = run_readme_in(spark, SPARK_TABLES, work_dir=work_dir, env=env)
    assert b1.ok, b1.output[-5000:]
    # Every data test of the project runs on Spark here, once per test run (the demo build leaves
    # them out), narrowed to the rows B1 wrote where a model is incremental by person.
    assert_ran_every(b1, "test")
    duck = full_refresh_on_duckdb(shared_builds, story, "B1")
    same_as_duckdb(b1, duck, model_names(duck, "marts") + INCREMENTAL_MODELS + ["stg_shop__quarantined_rows"])
    steps["B1"] = observe(b1, story)
    return steps


def test_each_increment_equals_a_full_refresh(runs):
    # The comparison with DuckDB's full refresh of B1 runs inside the fixture. Here: the step
    # recomputed the touched persons' buckets, not everyone from scratch.
    assert 0 < len(runs["B1"]["touched"]) < runs["B1"]["persons"]


def test_the_later_load_wins_on_spark(story_spark, tmp_path):
    """The rows' loads on Spark come from input_file_name() and the file listing: the same
    decisions and ledger as on DuckDB (test_loads.py), with the reconciliation test in the build.
    Built in the story's Spark process, in a schema of its own (loads)."""
    _, story_env, spark = story_spark
    data, _ = two_loads(tmp_path)
    work_dir = tmp_path / "work"
    work_dir.mkdir()
    env = {**story_env, "LIFECYCLE_SPARK_SCHEMA": "loads", "LIFECYCLE_DATA_DIR": str(data), "LIFECYCLE_RAW_SCHEMA": "",
           "DBT_TARGET_PATH": str(work_dir / "target"), "DBT_LOG_PATH": str(work_dir / "logs"),
           "DBT_EXCLUDE_RESOURCE_TYPES": "unit_test"}
    output = work_dir / "output.txt"
    code = spark.run("dbt", ["build", "--select", "+assert_raw_rows_are_staged_or_quarantined",
                             "--vars", json.dumps(pinned_vars(DIRTY_DATA_VARS))], {**os.environ, **env}, output)
    b = Build("spark", work_dir, env, output.read_text(), code)
    assert b.ok, b.output[-5000:]
    assert_the_later_load_won(b)
