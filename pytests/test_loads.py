"""Loads, which row of a key wins, and the ledger (docs block `raw_loads`), on the tiny fixture.

The tiny fixture's orders arrive in two loads. The later load, hand-written below, brings:
  O1  a new version (status delivered -> returned): the later load's row wins;
  O2  an exact copy of its first row (a replay): staged once, the first copy superseded;
  O3  two different rows in the same load: both conflicting_key, so O3 is no longer staged, its
      first row is superseded and its item I3 becomes an orphan;
  O4  a row that fails a row check (unparseable total): quarantined; it supersedes nothing, so
      O4's first row stays staged.
Every other expected value comes from the fixture's README and expected_quarantine.csv.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

import duckdb

from customer_lifecycle.dbt_runner import run_dbt
from customer_lifecycle.loader import CSV_OPTIONS

from .harness import DIRTY_DATA_VARS, FIXTURES, WITHOUT_UNIT_TESTS, Build, build, build_again, pinned_vars

TINY = FIXTURES / "tiny"
ORDER_FIELDS = ["order_id", "customer_id", "ordered_at", "status", "currency", "order_total"]
LATER_ORDERS = [
    ["O1", "C1", "2025-02-01 10:00:00", "returned", "USD", "100.00"],
    ["O2", "C1", "2025-03-01 10:00:00", "Returned", "USD", "50.00"],
    ["O3", "C2", "2025-02-10T23:30:00-02:00", "delivered", "eur", "20.00"],
    ["O3", "C2", "2025-02-10T23:30:00-02:00", "delivered", "eur", "21.00"],
    ["O4", "C3", "2025-02-15 08:00:00", "cancelled", "GBP", "ten"],
]
# The quarantined orders of the first load (expected_quarantine.csv): O5 to O16.
FIRST_LOAD_QUARANTINED = 12


def expected_quarantine() -> Counter:
    with open(TINY / "expected_quarantine.csv", newline="") as fh:
        return Counter((r["source_table"], r["row_key"], r["quarantine_reason"]) for r in csv.DictReader(fh))


def write_orders(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(ORDER_FIELDS)
        writer.writerows(rows)


def two_loads(root: Path) -> tuple[Path, Path]:
    """The tiny fixture with orders/ as two part files. The later load is named to sort first
    (a_later.csv), so that only its modification time makes it the later one."""
    data = root / "data"
    shutil.copytree(TINY, data)
    (data / "orders.csv").unlink()
    (data / "orders").mkdir()
    first, later = data / "orders" / "b_first.csv", data / "orders" / "a_later.csv"
    shutil.copy(TINY / "orders.csv", first)
    write_orders(later, LATER_ORDERS)
    os.utime(first, (1_700_000_000, 1_700_000_000))
    os.utime(later, (1_700_086_400, 1_700_086_400))
    return data, later


def orders_and_quarantine(b) -> tuple[dict, Counter]:
    orders = {r[0]: r[1:] for r in b.query(
        "select order_id, status, order_total_in_currency from {{ stg_shop__orders }}")}
    quarantine = Counter(b.query(
        "select source_table, coalesce(row_key, ''), quarantine_reason from {{ stg_shop__quarantined_rows }}"))
    return orders, quarantine


def assert_the_later_load_won(b) -> None:
    """The staged orders, the quarantine and the ledger of a build of two_loads()."""
    orders, quarantine = orders_and_quarantine(b)
    assert set(orders) == {"O1", "O2", "O4"}
    assert orders["O1"][0] == "returned" and orders["O2"][0] == "returned"
    assert Decimal(orders["O4"][1]) == 10  # the first load's total: the later unparseable row supersedes nothing
    assert quarantine == expected_quarantine() + Counter({
        ("orders", "O3", "conflicting_key"): 2, ("orders", "O4", "unparseable_number"): 1,
        ("order_items", "I3", "orphan_reference"): 1})
    ledger = {Path(r[0].split("|")[0]).name: tuple(int(n) for n in r[1:]) for r in b.query(
        "select load_id, raw_rows, staged_rows, superseded_rows, deleted_rows, quarantined_rows"
        " from {{ stg_shop__loads }} where source_table = 'orders'")}
    # b_first.csv: 16 rows; O1, O2, O3 superseded; O5..O16 quarantined; O4 staged.
    assert ledger == {"b_first.csv": (16, 1, 3, 0, FIRST_LOAD_QUARANTINED), "a_later.csv": (5, 2, 0, 0, 3)}


def test_the_later_load_wins_and_the_ledger_accounts_for_every_row(tmp_path):
    data, later = two_loads(tmp_path)
    b = build("duckdb", tmp_path / "work", data_dir=data, dbt_vars=DIRTY_DATA_VARS)
    # The build ran the reconciliation test (raw = ledger, load by load) with every other test.
    assert b.ok, b.output[-5000:]
    assert_the_later_load_won(b)
    # fct_orders follows the staged version.
    assert b.query("select status from {{ fct_orders }} where order_id = 'O1'") == [("returned",)]

    # The later file deleted: its rows go with it, and the next run stages the first load as the
    # fixture alone (an incremental run, compared with the hand-derived values).
    later.unlink()
    again = build_again(b, data_dir=data, dbt_vars=DIRTY_DATA_VARS)
    assert again.ok, again.output[-5000:]
    orders, quarantine = orders_and_quarantine(again)
    assert set(orders) == {"O1", "O2", "O3", "O4"}
    assert orders["O1"][0] == "delivered"
    assert quarantine == expected_quarantine()
    assert again.query("select status from {{ fct_orders }} where order_id = 'O1'") == [("delivered",)]


def test_warehouse_loads_are_the_load_marker_values(pg_server, tmp_path):
    """PostgreSQL, warehouse tables: `load-files` then `load-files --append` of the later orders.
    Each load has its own _loaded_at (the loader's load marker), and the later one wins."""
    first = tmp_path / "first"
    shutil.copytree(TINY, first)
    later = tmp_path / "later"
    later.mkdir()
    write_orders(later / "orders.csv", LATER_ORDERS)
    selected = ["build", "--select", "+assert_raw_rows_are_staged_or_quarantined"]
    b = build("postgres", tmp_path / "work", data_dir=first, server=pg_server, args=selected, dbt_vars=DIRTY_DATA_VARS)
    assert b.ok, b.output[-5000:]
    again = build_again(b, data_dir=later, append=True, args=selected, dbt_vars=DIRTY_DATA_VARS)
    assert again.ok, again.output[-5000:]
    orders, quarantine = orders_and_quarantine(again)
    assert set(orders) == {"O1", "O2", "O4"}
    assert orders["O1"][0] == "returned" and Decimal(orders["O4"][1]) == 10
    assert quarantine == expected_quarantine() + Counter({
        ("orders", "O3", "conflicting_key"): 2, ("orders", "O4", "unparseable_number"): 1,
        ("order_items", "I3", "orphan_reference"): 1})
    loads = sorted(tuple(int(n) for n in r[1:]) for r in again.query(
        "select load_id, raw_rows, staged_rows, superseded_rows, deleted_rows, quarantined_rows"
        " from {{ stg_shop__loads }} where source_table = 'orders'"))
    assert loads == [(5, 2, 0, 0, 3), (16, 1, 3, 0, FIRST_LOAD_QUARANTINED)]


def test_a_key_marked_deleted_in_its_latest_load_is_deleted(tmp_path):
    """Warehouse tables in DuckDB, each row stamped with its load (_loaded_at) and a soft-delete
    mark (_fivetran_deleted, named by var raw_deleted_column). A second load marks O4 deleted (its
    other values unreadable: a deletion needs only its key) and O99, a key never seen. products has
    no load marker: one load, and the build warns."""
    work_dir = tmp_path / "work"
    work_dir.mkdir()
    database = work_dir / "lifecycle.duckdb"
    con = duckdb.connect(str(database))
    con.execute("create schema raw")
    for path in sorted(TINY.glob("*.csv")):
        if path.stem == "expected_quarantine":
            continue
        stamp = "" if path.stem == "products" else ", timestamp '2025-03-08 00:00:00' as _loaded_at"
        literal = "'" + str(path).replace("'", "''") + "'"
        con.execute(f"create table raw.{path.stem} as select *{stamp}, false as _fivetran_deleted "
                    f"from read_csv({literal}, {CSV_OPTIONS})")
    con.execute("insert into raw.orders by name select * from (values "
                "('O4', 'C3', '', 'placed', 'GBP', 'unreadable', timestamp '2025-03-09 00:00:00', true), "
                "('O99', 'C1', '2025-03-01 10:00:00', 'placed', 'USD', '1.00', timestamp '2025-03-09 00:00:00', true)) "
                "as t(order_id, customer_id, ordered_at, status, currency, order_total, _loaded_at, _fivetran_deleted)")
    con.close()
    env = {"LIFECYCLE_TARGET": "duckdb", "LIFECYCLE_DUCKDB_PATH": str(database), "LIFECYCLE_DATA_DIR": "",
           "LIFECYCLE_RAW_SCHEMA": "raw", "DBT_TARGET_PATH": str(work_dir / "target"),
           "DBT_LOG_PATH": str(work_dir / "logs"), **WITHOUT_UNIT_TESTS}
    dbt_vars = pinned_vars({**DIRTY_DATA_VARS, "raw_deleted_column": "_fivetran_deleted"})
    done = run_dbt(["build", "--select", "+assert_raw_rows_are_staged_or_quarantined", "--vars", json.dumps(dbt_vars)],
                   env=env, work_dir=work_dir, check=False)
    b = Build("duckdb", work_dir, env, done.stdout, done.returncode)
    assert b.ok, b.output[-5000:]
    assert "has no load-marker column _loaded_at" in b.output and "products" in b.output
    orders, quarantine = orders_and_quarantine(b)
    assert set(orders) == {"O1", "O2", "O3"}
    # O4's line I4 has no staged order now: an orphan.
    assert quarantine == expected_quarantine() + Counter({("order_items", "I4", "orphan_reference"): 1})
    ledger = {r[0]: tuple(int(n) for n in r[1:]) for r in b.query(
        "select load_id, raw_rows, staged_rows, superseded_rows, deleted_rows, quarantined_rows"
        " from {{ stg_shop__loads }} where source_table = 'orders'")}
    # 16 rows in the first load: O1-O3 staged, O4 superseded by its deletion, O5-O16 quarantined.
    assert sorted(ledger.values()) == [(2, 0, 0, 2, 0), (16, 3, 1, 0, FIRST_LOAD_QUARANTINED)]
    products = b.query("select load_id, raw_rows from {{ stg_shop__loads }} where source_table = 'products'")
    assert len(products) == 1 and products[0][0].startswith("table ") and int(products[0][1]) == 2
