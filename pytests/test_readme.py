"""Every command of README.md's shell blocks is run as written by some test (pytests/readme.py
says which); here the ones that no shared build runs: the docs site, the generator and MetricFlow.
The builds (DuckDB, PostgreSQL and Spark on the demo, and on the incremental story's files and
tables) are the suite's shared builds, each asserting that its command succeeded."""
import csv
import json
import os
import subprocess
import sys

from customer_lifecycle import contract

from .harness import PROJECT_DIR
from .readme import RUN_BY, readme_commands, run_readme


def test_every_readme_command_is_run_by_a_test():
    commands = readme_commands()
    assert len(commands) == len(set(commands)), "a README command appears twice in one kind of block"
    assert set(commands) == set(RUN_BY), (
        "README.md's commands and pytests/readme.py RUN_BY differ: place each new command with the test that runs it. "
        f"Only in README: {sorted(set(commands) - set(RUN_BY))}; only in RUN_BY: {sorted(set(RUN_BY) - set(commands))}")


def test_make_docs_writes_the_site_with_the_overview_and_the_raw_sources(demo_builds, tmp_path):
    """`make docs`: dbt docs generate --static over the demo warehouse writes one self-contained page
    with the overview, and a catalog in which every raw table of the contract (the source shop) has
    the contract's columns, read from the warehouse (in seeds mode the seeds, named like the tables)."""
    demo = demo_builds("duckdb")
    done = run_readme("make docs", engine="duckdb", work_dir=tmp_path,
                      env={"LIFECYCLE_DUCKDB_PATH": demo.env["LIFECYCLE_DUCKDB_PATH"]})
    assert done.ok, done.output[-5000:]
    page = (PROJECT_DIR / "docs" / "site" / "index.html").read_text(encoding="utf-8")
    assert "doc.customer_lifecycle.__overview__" in page and "Customer lifecycle analytics" in page
    catalog = json.loads((PROJECT_DIR / "target" / "docs" / "catalog.json").read_text())
    for table, spec in contract.raw_contract().items():
        found = catalog["sources"].get(f"source.customer_lifecycle.shop.{table}")
        assert found, f"source shop.{table} is not in the docs catalog"
        columns = sorted(found["columns"].values(), key=lambda column: column["index"])
        assert [c["name"].lower() for c in columns] == list(spec["columns"]), table


def test_the_generator_commands_write_a_shop_and_a_dirty_one(tmp_path):
    shop, dirty = tmp_path / "shop", tmp_path / "dirty"
    medium = ".venv/bin/python -m customer_lifecycle.generator --preset medium --seed 7 --out /tmp/shop --format parquet"
    bad = ".venv/bin/python -m customer_lifecycle.generator --preset demo --seed 7 --out /tmp/dirty --bad-rate 0.02"
    for key, out, placeholder in ((medium, shop, "/tmp/shop"), (bad, dirty, "/tmp/dirty")):
        done = run_readme(key, engine="duckdb", work_dir=tmp_path / "run", paths={placeholder: out})
        assert done.ok, done.output[-3000:]
    # Every contract table, as Parquet, from the medium preset (20,000 customers: params.py).
    for table in contract.TABLES:
        assert list(shop.glob(f"{table}.parquet")) or list(shop.glob(f"{table}/*.parquet")), table
    assert json.loads((shop / "ground_truth.json").read_text())
    # --bad-rate lists the bad rows it added (table, row_key, reason), each a reason staging knows.
    with open(dirty / "injected_bad_rows.csv", newline="") as handle:
        injected = list(csv.DictReader(handle))
    assert injected and {row["table"] for row in injected} <= set(contract.TABLES)
    assert {row["reason"] for row in injected} <= set(contract.REASON_CODES)


def test_the_metricflow_commands_answer_on_the_demo(demo_builds, tmp_path):
    """From the project directory after a build, as the README says: here a copy of the project's
    root (its files linked) holding the demo build's target/semantic_manifest.json."""
    demo = demo_builds("duckdb")
    root = tmp_path / "project"
    root.mkdir()
    for name in ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests", ".venv"):
        (root / name).symlink_to(PROJECT_DIR / name)
    (root / "target").mkdir()
    (root / "target" / "semantic_manifest.json").write_bytes(
        (demo.work_dir / "target" / "semantic_manifest.json").read_bytes())
    for key in [c for c in readme_commands() if c.startswith(".venv/bin/mf ")]:
        done = run_readme(key, engine="duckdb", work_dir=tmp_path / "run", cwd=root,
                          env={"LIFECYCLE_DUCKDB_PATH": demo.env["LIFECYCLE_DUCKDB_PATH"]})
        assert done.ok and "ERROR" not in done.output, (key, done.output[-3000:])
        assert ("net_revenue" in done.output) if key.endswith("list metrics") else "2026-06" in done.output, \
            (key, done.output[-3000:])


def test_make_test_quick_selects_duckdb_only():
    """`make test-quick` (LIFECYCLE_ENGINES=duckdb) collects no test of PostgreSQL, Spark or the
    browser, and keeps the DuckDB ones; under CI it refuses to run."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_XDIST_WORKER")}
    env["LIFECYCLE_ENGINES"] = "duckdb"
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "pytests"],
                          cwd=PROJECT_DIR, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert done.returncode == 0, done.stdout[-3000:]
    selected = [line for line in done.stdout.splitlines() if "::" in line]
    assert any("test_staging.py::test_quarantine_is_exactly_the_hand_derived_list[duckdb]" in t for t in selected)
    assert not [t for t in selected if "test_spark.py" in t or "test_dashboard.py" in t or "postgres" in t], selected
    refused = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "pytests"], cwd=PROJECT_DIR,
                             env={**env, "CI": "true"}, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert refused.returncode != 0 and "CI runs make test" in refused.stdout, refused.stdout[-2000:]
