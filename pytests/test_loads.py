"""Loads, which row of a key wins, and the ledger (docs block `raw_loads`), on the tiny fixture;
then daily runs on the same files (a file delivered again, a file rewritten, files deleted, a new
part with a later version, a conflicting key and an orphan, the orphan's parent in a later load),
each equal to a full refresh, each deciding again only the keys its loads touch.

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
import re
import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path


import duckdb

from customer_lifecycle.dbt_runner import run_dbt
from customer_lifecycle.loader import CSV_OPTIONS

from .harness import (BUILD_RECORD_DATA, DIRTY_DATA_VARS, TINY, WITHOUT_UNIT_TESTS, Build, assert_same_tables, build,
                      build_again, model_names, pinned_vars)
from .test_staging import expected_quarantine  # the fixture's hand-written quarantine

ORDER_FIELDS = ["order_id", "customer_id", "ordered_at", "status", "currency", "order_total"]
LATER_ORDERS = [
    ["O1", "C1", "2025-02-01 10:00:00", "returned", "USD", "100.00"],
    ["O2", "C1", "2025-03-01 10:00:00", "Returned", "USD", "50.00"],
    ["O3", "C2", "2025-02-10T23:30:00-02:00", "delivered", "eur", "20.00"],
    ["O3", "C2", "2025-02-10T23:30:00-02:00", "delivered", "eur", "21.00"],
    ["O4", "C3", "2025-02-15 08:00:00", "cancelled", "GBP", "ten"],
]
# The builds here run the singular data tests (the reconciliation of the ledger with the raw data
# among them); the generic ones (not null, unique, ...) run in the suite's other builds.
SINGULAR_TESTS_ONLY = ["build", "--exclude", "test_type:generic"]
# The quarantined orders of the first load (expected_quarantine.csv): O5 to O16.
FIRST_LOAD_QUARANTINED = 12


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


def daily_run_equals_a_full_refresh(previous, data: Path, full_dir: Path, staging_only: bool = False):
    """A daily run (incremental, data tests on the rows it wrote) on previous's database, compared
    with a full refresh of the same files, without data tests. staging_only: both build staging
    alone (and the daily run its reconciliation test), and the staged orders, the quarantine and
    the ledger are compared; otherwise every mart too."""
    selected = ["--select", "+stg_shop__quarantined_rows", "+assert_raw_rows_are_staged_or_quarantined"] \
        if staging_only else []
    again = build_again(previous, data_dir=data, dbt_vars=DIRTY_DATA_VARS, args=SINGULAR_TESTS_ONLY + selected)
    assert again.ok, again.output[-5000:]
    full = build("duckdb", full_dir, data_dir=data, dbt_vars=DIRTY_DATA_VARS,
                 args=["build", "--exclude-resource-type", "test"] + selected)
    assert full.ok, full.output[-5000:]
    compared = ["stg_shop__orders"] if staging_only else model_names(full, "marts")
    assert_same_tables(again, full, compared + ["stg_shop__quarantined_rows"],
                       columns={"fct_build_record": BUILD_RECORD_DATA})
    assert_same_tables(again, full, ["stg_shop__loads"],
                       columns={"stg_shop__loads": "source_table, load_id, raw_rows, staged_rows, superseded_rows, "
                                                   "deleted_rows, quarantined_rows"})
    return again


def test_the_later_load_wins_and_the_ledger_accounts_for_every_row(tmp_path):
    data, later = two_loads(tmp_path)
    b = build("duckdb", tmp_path / "work", data_dir=data, dbt_vars=DIRTY_DATA_VARS, args=SINGULAR_TESTS_ONLY)
    # The build ran the reconciliation test (raw = ledger, load by load) with the other singular tests.
    assert b.ok, b.output[-5000:]
    assert_the_later_load_won(b)
    # fct_orders follows the staged version.
    assert b.query("select status from {{ fct_orders }} where order_id = 'O1'") == [("returned",)]

    # Then daily runs on the same database, each equal to a full refresh of the same files
    # (every mart, the quarantine and the ledger) and to the values derived by hand.
    orders_dir = data / "orders"
    first = orders_dir / "b_first.csv"

    # 1. The later file delivered again (a copy under another name, newer), and the first file
    #    rewritten after it, O2 now delivered (a status change). A rewritten file is the newest
    #    load, so its rows win for every key in it: O1 and O2 delivered, O3 staged again (one row
    #    in the newest load; the conflicting pairs of the older loads are superseded), O4 from it
    #    too, and the unreadable O4 of each later copy quarantined.
    again_file = orders_dir / "c_again.csv"
    shutil.copy(later, again_file)
    os.utime(again_file, (1_700_172_800, 1_700_172_800))
    rows = list(csv.reader(first.open(newline="")))
    for row in rows:
        if row[0] == "O2":
            row[3] = "delivered"
    with first.open("w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    os.utime(first, (1_700_259_200, 1_700_259_200))
    again = daily_run_equals_a_full_refresh(b, data, tmp_path / "full-1")
    orders, quarantine = orders_and_quarantine(again)
    assert {k: v[0] for k, v in orders.items()} == {"O1": "delivered", "O2": "delivered", "O3": "delivered",
                                                     "O4": "cancelled"}
    assert quarantine == expected_quarantine() + Counter({("orders", "O4", "unparseable_number"): 2})

    # 2. The two later files deleted: their rows go with them. The orders' base table is made as a
    #    version before `staging_settings` left it: the run stages that table whole.
    with duckdb.connect(again.duckdb_file) as con:
        con.execute(f"alter table {again.relation('base_shop__orders')} drop column staging_settings")
    later.unlink()
    again_file.unlink()
    again = daily_run_equals_a_full_refresh(b, data, tmp_path / "full-2")
    orders, quarantine = orders_and_quarantine(again)
    assert set(orders) == {"O1", "O2", "O3", "O4"} and orders["O1"][0] == "delivered"
    assert quarantine == expected_quarantine()
    assert again.query("select status from {{ fct_orders }} where order_id = 'O2'") == [("delivered",)]

    # 3. A new part file: O1 returned (a later version), O2 in two different rows (a conflicting
    #    key), O21 of a customer no load has delivered yet (an orphan). The run decides O1, O2 and
    #    O21 again and leaves every other row of the table as the last run decided it, the orphans
    #    whose customer is still missing (O8, O12) and the orders in a currency still without a
    #    rate (O9, O11) among them (macros/raw/raw_restaging.sql).
    decided = "select order_id, decided_by_invocation_id from {{ base_shop__orders }} where order_id is not null"
    before = dict(again.query(decided + " and order_id not in ('O1', 'O2')"))
    assert len(before) == 14  # O3, O4 staged; O5-O16 quarantined
    new_part = orders_dir / "d_new.csv"
    write_orders(new_part, [["O1", "C1", "2025-02-01 10:00:00", "returned", "USD", "100.00"],
                            ["O2", "C1", "2025-03-01 10:00:00", "delivered", "USD", "50.00"],
                            ["O2", "C1", "2025-03-01 10:00:00", "delivered", "USD", "55.00"],
                            ["O21", "C99", "2025-03-02 10:00:00", "placed", "USD", "30.00"]])
    os.utime(new_part, (1_700_345_600, 1_700_345_600))
    again = daily_run_equals_a_full_refresh(b, data, tmp_path / "full-3", staging_only=True)
    orders, quarantine = orders_and_quarantine(again)
    assert set(orders) == {"O1", "O3", "O4"} and orders["O1"][0] == "returned"
    assert quarantine == expected_quarantine() + Counter({
        ("orders", "O2", "conflicting_key"): 2, ("orders", "O21", "orphan_reference"): 1,
        ("order_items", "I2", "orphan_reference"): 1})
    after = dict(again.query(decided))
    assert {k: after[k] for k in before} == before
    assert len({after["O1"], after["O2"], after["O21"]}) == 1 and after["O21"] not in before.values()

    # 4. customers.csv becomes a directory of parts, one of them late with C99: O21's parent
    #    arrives in a later load, and O21 is staged.
    (data / "customers").mkdir()
    (data / "customers.csv").rename(data / "customers" / "a_base.csv")
    with (data / "customers" / "b_late.csv").open("w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows([
            ["customer_id", "email", "signed_up_at", "country", "acquisition_channel"],
            ["C99", "zoe@example.com", "2025-03-01 09:00:00", "US", "direct"]])
    again = daily_run_equals_a_full_refresh(b, data, tmp_path / "full-4", staging_only=True)
    orders, quarantine = orders_and_quarantine(again)
    assert set(orders) == {"O1", "O3", "O4", "O21"}
    assert ("orders", "O21", "orphan_reference") not in quarantine


def test_warehouse_loads_are_the_load_marker_values(pg_server, tmp_path):
    """PostgreSQL, warehouse tables: `load-files` then `load-files --append` of the later orders.
    Each load has its own _loaded_at (the loader's load marker), and the later one wins. Then a
    daily run on a third appended load, against a full refresh."""
    first = tmp_path / "first"
    shutil.copytree(TINY, first)
    later = tmp_path / "later"
    later.mkdir()
    write_orders(later / "orders.csv", LATER_ORDERS)
    selected = ["build", "--select", "+assert_raw_rows_are_staged_or_quarantined"]
    # The first load, with nothing built (run: parse only), then the second, then one build.
    b = build("postgres", tmp_path / "work", data_dir=first, server=pg_server, args=["parse"], dbt_vars=DIRTY_DATA_VARS)
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

    # A daily run on a third load (appended with its own _loaded_at): O2 in two different rows (a
    # conflicting key) and O21 of a customer no load has delivered (an orphan). Only O2 and O21
    # are decided again; the result equals a full refresh of the same tables.
    decided = ("select order_id, decided_by_invocation_id from {{ base_shop__orders }}"
               " where order_id not in ('O2', 'O21')")
    before = dict(again.query(decided))
    third = tmp_path / "third"
    third.mkdir()
    write_orders(third / "orders.csv", [["O2", "C1", "2025-03-01 10:00:00", "delivered", "USD", "50.00"],
                                        ["O2", "C1", "2025-03-01 10:00:00", "delivered", "USD", "55.00"],
                                        ["O21", "C99", "2025-03-02 10:00:00", "placed", "USD", "30.00"]])
    daily = build_again(again, data_dir=third, append=True, args=selected, dbt_vars=DIRTY_DATA_VARS)
    assert daily.ok, daily.output[-5000:]
    assert dict(daily.query(decided)) == before
    state = ("select order_id, status, order_total_in_currency from {{ stg_shop__orders }}",
             "select source_table, row_key, quarantine_reason, raw_values from {{ stg_shop__quarantined_rows }}",
             "select source_table, load_id, raw_rows, staged_rows, superseded_rows, deleted_rows, quarantined_rows"
             " from {{ stg_shop__loads }}")
    after_daily = [sorted(daily.query(sql)) for sql in state]
    orders, quarantine = orders_and_quarantine(daily)
    assert set(orders) == {"O1", "O4"}
    assert quarantine == expected_quarantine() + Counter({
        ("orders", "O3", "conflicting_key"): 2, ("orders", "O4", "unparseable_number"): 1,
        ("order_items", "I3", "orphan_reference"): 1, ("orders", "O2", "conflicting_key"): 2,
        ("orders", "O21", "orphan_reference"): 1, ("order_items", "I2", "orphan_reference"): 1})
    full = build_again(daily, args=[*selected, "--full-refresh"], dbt_vars=DIRTY_DATA_VARS)
    assert full.ok, full.output[-5000:]
    assert [sorted(full.query(sql)) for sql in state] == after_daily


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
    # Said once, naming the table.
    assert len(re.findall(r"Raw table \S*products\S* has no load-marker column _loaded_at", b.output)) == 1, b.output[-3000:]
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

    # A daily run after the second load grew (O30 arrived later under the same _loaded_at, as a
    # loader that commits one load in several transactions writes it), and a row without a
    # _loaded_at (O31): both are staged, the second in a load of its own.
    con = duckdb.connect(str(database))
    con.execute("insert into raw.orders by name select * from (values "
                "('O30', 'C1', '2025-03-05 10:00:00', 'placed', 'USD', '5.00', timestamp '2025-03-09 00:00:00', false), "
                "('O31', 'C1', '2025-03-06 10:00:00', 'placed', 'USD', '6.00', null, false)) "
                "as t(order_id, customer_id, ordered_at, status, currency, order_total, _loaded_at, _fivetran_deleted)")
    con.close()
    done = run_dbt(["build", "--select", "+assert_raw_rows_are_staged_or_quarantined", "--vars", json.dumps(dbt_vars)],
                   env=env, work_dir=work_dir, check=False)
    daily = Build("duckdb", work_dir, env, done.stdout, done.returncode)
    assert daily.ok, daily.output[-5000:]
    orders, _ = orders_and_quarantine(daily)
    assert set(orders) == {"O1", "O2", "O3", "O30", "O31"}
    ledger = {r[0]: int(r[1]) for r in daily.query(
        "select load_id, staged_rows from {{ stg_shop__loads }} where source_table = 'orders'")}
    assert ledger["(no _loaded_at)"] == 1 and sorted(ledger.values()) == [1, 1, 3]
