"""Staging and quarantine on the hand-written tiny fixture (pytests/fixtures/tiny), on every engine.

Expected values come from the fixture's README and expected_quarantine.csv, derived by hand from
the raw files and the cleaning rules in DECISIONLOG.md, not from the project's output.
"""
import csv
from collections import Counter

import pytest

from customer_lifecycle import contract

from .harness import FIXTURES

TINY = FIXTURES / "tiny"


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


def test_demo_staged_and_quarantined_counts_are_the_same_on_every_engine(demo_builds, pg_server):
    duck, pg = demo_builds("duckdb"), demo_builds("postgres")
    for table in contract.TABLES:
        sql = f"select count(*) from {{{{ stg_shop__{table} }}}}"
        assert duck.query(sql) == pg.query(sql), table
    sql = ("select source_table, quarantine_reason, count(*) from {{ stg_shop__quarantined_rows }}"
           " group by 1, 2 order by 1, 2")
    assert duck.query(sql) == pg.query(sql)
