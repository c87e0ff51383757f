"""Staging and quarantine on the hand-written tiny fixture (pytests/fixtures/tiny), on every engine.

Expected values come from the fixture's README and expected_quarantine.csv, derived by hand from
the raw files and the cleaning rules in DECISIONLOG.md, not from the project's output.

Also the raw data contract as the dbt source `shop` (models/staging/shop/_shop__sources.yml): its
one definition, read the same by dbt's macros and by Python; lineage from the raw tables to the
marts in every mode; and `dbt source freshness` on warehouse tables, from the loaded-at column the
loader stamps (customer_lifecycle/loader.py writes _loaded_at = the time of the load).
"""
import csv
import json
import re
import shutil
import subprocess
import sys
from collections import Counter

import pytest

from customer_lifecycle import contract
from customer_lifecycle.dbt_runner import run_dbt

from .harness import FIXTURES, PROJECT_DIR, pinned_vars

TINY = FIXTURES / "tiny"
TINY_TABLES = sorted(t for t in contract.TABLES if (TINY / f"{t}.csv").exists())


def expected_quarantine():
    with open(TINY / "expected_quarantine.csv", newline="") as fh:
        return Counter((r["source_table"], r["row_key"], r["quarantine_reason"]) for r in csv.DictReader(fh))


def raw_row_count(table):
    path = TINY / f"{table}.csv"
    if not path.exists():
        return 0
    with open(path, newline="") as fh:
        return sum(1 for _ in csv.DictReader(fh))


def test_quarantine_is_exactly_the_hand_derived_list(engine, tiny_builds):
    b = tiny_builds(engine)
    got = Counter(b.query(
        "select source_table, coalesce(row_key, ''), quarantine_reason from {{ stg_shop__quarantined_rows }}"))
    assert got == expected_quarantine()


def test_every_raw_row_is_staged_or_quarantined(engine, tiny_builds):
    b = tiny_builds(engine)
    quarantined = Counter(t for t, _, _ in expected_quarantine().elements())
    for table in contract.TABLES:
        staged = b.query(f"select count(*) from {{{{ stg_shop__{table} }}}}")[0][0]
        assert staged + quarantined[table] == raw_row_count(table), table


def test_staged_values_are_typed_cleaned_and_converted(engine, tiny_builds):
    b = tiny_builds(engine)
    orders = {r[0]: r for r in b.query(
        "select order_id, cast(ordered_at as varchar), status, currency, order_total, order_total_in_currency"
        " from {{ stg_shop__orders }}")}
    assert set(orders) == {"O1", "O2", "O3", "O4"}
    # O3: 2025-02-10T23:30:00-02:00 is 2025-02-11 01:30 UTC; EUR rate of 2025-02-11 is 1.20.
    assert orders["O3"][1].startswith("2025-02-11 01:30:00")
    assert orders["O3"][3:6] == ("EUR", "24", "20")
    # O4: GBP rate of 2025-02-02 (0) is quarantined, so 2025-02-01's 1.30 applies: 10 GBP = 13 USD.
    assert orders["O4"][4] == "13"
    # Codes are compared and stored in lower case ('Returned' in the file).
    assert orders["O2"][2] == "returned"
    customers = dict(b.query("select customer_id, cast(signed_up_at as varchar) from {{ stg_shop__customers }}"))
    assert customers["C2"].startswith("2025-01-06 10:00:00")  # 12:00 at +02:00
    assert customers["C3"] is None  # a guest without sign-up is staged, not quarantined
    emails = dict(b.query("select customer_id, email from {{ stg_shop__customers }}"))
    assert emails["C2"] == "bob@example.com"
    items = dict(b.query("select order_item_id, line_total from {{ stg_shop__order_items }}"))
    assert items == {"I1": "100", "I2": "50", "I3": "24", "I4": "13"}


def test_absent_optional_tables_become_empty_models(engine, tiny_builds):
    b = tiny_builds(engine)
    for table in ("events", "email_events", "campaigns", "referrals", "marketing_spend"):
        assert not (TINY / f"{table}.csv").exists()
        assert b.query(f"select count(*) from {{{{ stg_shop__{table} }}}}") == [(0,)], table


def test_same_staged_and_quarantined_rows_on_every_engine(tiny_builds, pg_server):
    duck, pg = tiny_builds("duckdb"), tiny_builds("postgres")
    for table in contract.TABLES:
        model = f"stg_shop__{table}"
        columns = ", ".join(f"cast({c} as varchar)" for c in contract.columns(table) if c != "rate_to_reporting")
        sql = f"select {columns} from {{{{ {model} }}}} order by 1, 2"
        assert duck.query(sql) == pg.query(sql), table
    sql = "select source_table, row_key, quarantine_reason, raw_values from {{ stg_shop__quarantined_rows }} order by 1, 2, 3, 4"
    assert duck.query(sql) == pg.query(sql)


def test_a_quarantine_that_swallows_a_table_warns_then_fails_naming_it(tiny_builds, tmp_path):
    """The quarantine levels at their defaults (warn above 5 %, fail above 50 % of a table's rows),
    run as data tests on a copy of the tiny build (built with the levels raised, as dirty data
    must be). Which table warns and which fails follows from the hand-derived quarantine list and
    the raw files' row counts, not from the build."""
    b = tiny_builds("duckdb")
    copy = tmp_path / "tiny-copy.duckdb"
    shutil.copyfile(b.duckdb_file, copy)
    result = run_dbt(["test", "--select", "test_name:quarantine_share", "--vars", json.dumps(pinned_vars(None))],
                     env={**b.env, "LIFECYCLE_DUCKDB_PATH": str(copy)}, work_dir=tmp_path, check=False)
    quarantined = Counter(t for t, _, _ in expected_quarantine().elements())
    reasons = Counter((t, reason) for t, _, reason in expected_quarantine().elements())
    expected = {}
    for table in TINY_TABLES:
        share = 100 * quarantined[table] / raw_row_count(table)
        expected[table] = "FAIL" if share > 50 else "WARN" if share > 5 else "PASS"
    assert {"FAIL", "WARN", "PASS"} <= set(expected.values()), expected  # the fixture covers every level
    # dbt names each test quarantine_share_base_shop__<table>_<table>.
    got = {name[:len(name) // 2]: status for status, name in
           re.findall(r" (PASS|WARN|FAIL)(?: \d+)? quarantine_share_base_shop__(\w+) ", result.stdout)}
    assert {t: got.get(t) for t in TINY_TABLES} == expected, result.stdout[-4000:]
    assert result.returncode != 0  # a failing level fails the build
    # Each table above the warning level is named with every reason and its share.
    for (table, reason), count in reasons.items():
        if expected[table] != "PASS":
            share = f"{100 * count / raw_row_count(table):.1f} %"
            line = f"Quarantine: {table} {reason} {count} of {raw_row_count(table)} raw rows ({share})"
            assert line in result.stdout, (line, result.stdout[-4000:])


def test_demo_staged_and_quarantined_counts_are_the_same_on_every_engine(demo_builds, pg_server):
    duck, pg = demo_builds("duckdb"), demo_builds("postgres")
    for table in contract.TABLES:
        sql = f"select count(*) from {{{{ stg_shop__{table} }}}}"
        assert duck.query(sql) == pg.query(sql), table
    sql = ("select source_table, quarantine_reason, count(*) from {{ stg_shop__quarantined_rows }}"
           " group by 1, 2 order by 1, 2")
    assert duck.query(sql) == pg.query(sql)


def test_the_files_derived_from_the_contract_are_current():
    """A raw column is added in the source only: `contract --check` fails while a derived file lags."""
    result = subprocess.run([sys.executable, "-m", "customer_lifecycle", "contract", "--check"], cwd=PROJECT_DIR,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert result.returncode == 0, result.stdout


def test_dbt_and_python_read_the_same_contract(demo_builds):
    """The macro raw_contract() (from dbt's graph) and contract.raw_contract() (from the YAML file)
    are two readers of one file: they must agree on every table, column, type and check."""
    b = demo_builds("duckdb")
    result = run_dbt(["compile", "--inline", "{{ tojson(raw_contract()) }}", "--vars", json.dumps(pinned_vars(None))],
                     env=b.env, work_dir=b.work_dir)
    printed = result.stdout[result.stdout.index("{"):result.stdout.rindex("}") + 1]
    from_dbt = json.loads(printed)
    assert list(from_dbt) == list(contract.TABLES)
    assert from_dbt == json.loads(json.dumps(contract.raw_contract()))
    # Spot checks stated by the README's data contract, not by either reader.
    assert from_dbt["orders"]["key"] == ["order_id"] and from_dbt["orders"]["required"] is True
    assert from_dbt["orders"]["references"] == {"customer_id": "customers"}
    assert from_dbt["customers"]["pii"] == ["email"]
    assert from_dbt["nps_responses"]["ranges"] == {"score": [0, 10]}


def _ancestors(manifest: dict, node: str) -> set[str]:
    seen, todo = set(), [node]
    while todo:
        for parent in manifest["parent_map"].get(todo.pop(), []):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def _manifest(b) -> dict:
    return json.loads((b.work_dir / "target" / "manifest.json").read_text())


def test_lineage_runs_from_the_raw_sources_to_the_marts_in_every_mode(demo_builds, tiny_builds):
    builds = {"seeds": demo_builds("duckdb"), "files": tiny_builds("duckdb"), "warehouse": tiny_builds("postgres")}
    for mode, b in builds.items():
        manifest = _manifest(b)
        for table in contract.TABLES:
            parents = manifest["parent_map"][f"model.customer_lifecycle.base_shop__{table}"]
            assert f"source.customer_lifecycle.shop.{table}" in parents, (mode, table, parents)
            if mode == "seeds":  # the seed is loaded before the model reads it
                assert f"seed.customer_lifecycle.raw_{table}" in parents, (mode, table, parents)
        for mart, table in (("fct_kpis_monthly", "orders"), ("fct_lifecycle_stage_history", "events"),
                            ("fct_email_campaign_performance", "email_events")):
            assert f"source.customer_lifecycle.shop.{table}" in _ancestors(manifest, f"model.customer_lifecycle.{mart}"), \
                (mode, mart, table)
    # In warehouse mode the source is where the build read the raw tables.
    source = _manifest(builds["warehouse"])["sources"]["source.customer_lifecycle.shop.orders"]
    assert (source["schema"], source["identifier"]) == (builds["warehouse"].env["LIFECYCLE_RAW_SCHEMA"], "orders")


def _freshness(b, tables):
    selection = [f"source:shop.{t}" for t in tables]
    return run_dbt(["source", "freshness", "--select", *selection, "--vars", json.dumps(pinned_vars(None))],
                   env=b.env, work_dir=b.work_dir, check=False)


def test_source_freshness_reads_the_loaded_at_column_of_warehouse_tables(tiny_builds):
    b = tiny_builds("postgres")
    fresh = _freshness(b, TINY_TABLES)
    assert fresh.returncode == 0, fresh.stdout
    # One verdict per table delivered, each from its own loaded-at stamp (the load just now).
    assert sorted(re.findall(r"PASS freshness of shop\.(\w+)", fresh.stdout)) == TINY_TABLES, fresh.stdout
    conn = b.server.connect()
    schema = b.env["LIFECYCLE_RAW_SCHEMA"]
    try:
        with conn.cursor() as cur:  # orders last loaded 30 hours ago (warn: > 24 h), customers 4 days ago (error: > 72 h)
            cur.execute(f"update {schema}.orders set _loaded_at = now() - interval '30 hours'")
            cur.execute(f"update {schema}.customers set _loaded_at = now() - interval '4 days'")
        conn.commit()
        stale = _freshness(b, TINY_TABLES)
        assert stale.returncode != 0, stale.stdout
        assert re.search(r"WARN freshness of shop\.orders", stale.stdout), stale.stdout
        assert re.search(r"ERROR STALE freshness of shop\.customers", stale.stdout), stale.stdout
        assert sorted(re.findall(r"PASS freshness of shop\.(\w+)", stale.stdout)) == \
            [t for t in TINY_TABLES if t not in ("orders", "customers")], stale.stdout
    finally:
        with conn.cursor() as cur:
            cur.execute(f"update {schema}.orders set _loaded_at = now()")
            cur.execute(f"update {schema}.customers set _loaded_at = now()")
        conn.commit()
        conn.close()


def test_source_freshness_has_nothing_to_check_outside_warehouse_mode(tiny_builds):
    """Files (and seeds) are read whole by each build: no freshness is configured there."""
    result = _freshness(tiny_builds("duckdb"), TINY_TABLES)
    assert result.returncode == 0, result.stdout
    assert "freshness of shop." not in result.stdout, result.stdout
