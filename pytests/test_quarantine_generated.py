"""Bad rows of every kind, injected by the generator into the demo data, are each quarantined
with the reason the generator recorded, and no good row is lost: the staged tables of the dirty
data equal those of the clean demo (the generator adds bad rows without touching good ones)."""
import csv
from collections import Counter

import pytest

from customer_lifecycle import contract
from customer_lifecycle.generator import generate

from .harness import build


@pytest.fixture(scope="module")
def dirty(tmp_path_factory):
    out = tmp_path_factory.mktemp("dirty-data")
    generate("demo", 42, out, "csv", "", 0.01)
    b = build("duckdb", tmp_path_factory.mktemp("dirty-build"), data_dir=out)
    assert b.ok, b.output[-5000:]
    return out, b


def test_every_injected_row_is_quarantined_with_its_recorded_reason(dirty):
    out, b = dirty
    with open(out / "injected_bad_rows.csv", newline="") as fh:
        injected = Counter((r["table"], r["row_key"], r["reason"]) for r in csv.DictReader(fh))
    assert sum(injected.values()) > 100
    # every reason code the contract knows is exercised by the injection
    assert {reason for _, _, reason in injected} == set(contract.REASON_CODES)
    quarantined = Counter(b.query(
        "select source_table, coalesce(row_key, ''), quarantine_reason from {{ stg_shop__quarantined_rows }}"))
    assert quarantined == injected


def test_no_good_row_is_lost(dirty, demo_builds):
    _, dirty_build = dirty
    clean = demo_builds("duckdb")
    assert clean.query("select count(*) from {{ stg_shop__quarantined_rows }}") == [(0,)]
    for table in contract.TABLES:
        sql = f"select * from {{{{ stg_shop__{table} }}}} order by 1, 2"
        assert dirty_build.query(sql) == clean.query(sql), table
