"""Property-based tests (hypothesis) of what users can hand the project.

- Settings: any value of a setting either passes the checks or stops dbt naming that setting;
  a whole-number setting passes only when it is a positive whole number.
- Paths and raw cells: a data directory with any printable name, and raw files with odd text in
  any cell, either stop the build naming the file, or build staging with every raw row staged or
  quarantined (raw = staged + quarantined on every table), and text written as SQL never runs.

Each example is a real dbt invocation on DuckDB, so the example counts are small; hypothesis
still draws new values on every run and shrinks a failure to a small case.
"""
from __future__ import annotations

import csv
import json
import shutil
import uuid
from collections import Counter
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, example, given, settings, strategies as st

from customer_lifecycle import contract
from customer_lifecycle.dbt_runner import run_dbt

from .harness import FIXTURES, build

TINY = FIXTURES / "tiny"
# Text that would do something if it reached SQL unquoted: end a literal and create a table.
CANARY = "pwned_canary"
PAYLOADS = [f"x'); create table {CANARY} as select 1; --", "o'clock", "back\\slash\\'", '"double" quotes',
            "%_*?[a]", "dür €", "  padded  ", "", "1e309", "-0", "9" * 30, "2025-02-30", "NULL", "null"]
ODD_TEXT = st.one_of(
    st.sampled_from(PAYLOADS),
    # Printable text of any script, quotes and backslashes; no NUL, CR or LF (not cell content
    # in a text file) and no lone surrogates (not encodable).
    st.text(st.characters(codec="utf-8", exclude_characters="\x00\r\n"), max_size=24),
)
VALUES = st.one_of(ODD_TEXT, st.integers(-10 ** 15, 10 ** 15), st.floats(allow_nan=True), st.booleans(),
                   st.none(), st.lists(ODD_TEXT, max_size=3))
WHOLE_NUMBER_SETTINGS = ["churn_after_days", "at_risk_after_days", "session_timeout_minutes",
                         "attribution_window_days", "unit_buckets"]
OTHER_SETTINGS = ["reporting_currency", "max_valid_at", "min_valid_at", "as_of_date", "raw_schema", "reader_role",
                  "clv_time_unit", "event_types", "order_statuses", "consideration_event_types", "product_tier_order",
                  "max_money_amount", "nps_promoter_min_score"]
FEW = settings(max_examples=6, deadline=None, derandomize=False,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def is_positive_whole_number(value) -> bool:
    """The rule README states for day counts: a whole number above zero (written as a number or
    as digits)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value > 0
    return isinstance(value, str) and value.isdigit() and int(value) > 0


@FEW
@given(name=st.sampled_from(WHOLE_NUMBER_SETTINGS + OTHER_SETTINGS), value=VALUES)
@example(name="order_statuses", value=0)  # found by this test: a vocabulary that is not a list failed the parse
@example(name="raw_schema", value=5)  # found in review: a raw_schema not text failed the parse of the source shop
@example(name="product_tier_order", value=None)  # found by this test: a null tier list failed the parse
def test_a_setting_passes_or_stops_dbt_naming_it(tmp_path_factory, name, value):
    work_dir = tmp_path_factory.mktemp("setting")
    env = {"LIFECYCLE_TARGET": "duckdb", "LIFECYCLE_DUCKDB_PATH": str(work_dir / "w.duckdb"),
           "LIFECYCLE_DATA_DIR": str(TINY), "LIFECYCLE_RAW_SCHEMA": ""}
    if name == "raw_schema":  # a raw schema instead of files, as a user would choose it
        env["LIFECYCLE_DATA_DIR"] = ""
    result = run_dbt(["run-operation", "validate_project_vars", "--vars", json.dumps({name: value})],
                     env=env, work_dir=work_dir, check=False)
    if result.returncode != 0:
        assert name in result.stdout, result.stdout[-3000:]
    elif name in WHOLE_NUMBER_SETTINGS:
        assert is_positive_whole_number(value), f"{name}={value!r} passed the checks"
    assert not (work_dir / "w.duckdb").exists() or CANARY not in str(
        duckdb.connect(str(work_dir / "w.duckdb"), read_only=True).sql("select table_name from information_schema.tables").fetchall())


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.reader(handle) if row]  # blank lines are no rows (csv.DictReader)
    return rows[0], rows[1:]


EDITS = st.lists(st.tuples(st.sampled_from(["customers", "orders", "order_items", "nps_responses", "products"]),
                           st.integers(0, 20), st.integers(0, 10), ODD_TEXT), min_size=1, max_size=6)
DIRECTORY_NAMES = st.text(st.characters(codec="utf-8", exclude_characters="/\x00\r\n"), min_size=1, max_size=16).filter(
    lambda name: name not in (".", ".."))


@FEW
@given(directory=DIRECTORY_NAMES, edits=EDITS)
def test_odd_paths_and_cells_are_staged_or_quarantined_never_run(tmp_path_factory, directory, edits):
    root = tmp_path_factory.mktemp("cells")
    data_dir = root / directory
    shutil.copytree(TINY, data_dir)
    (data_dir / "expected_quarantine.csv").unlink()
    (data_dir / "README.md").unlink()
    for table, row, column, value in edits:
        header, rows = read_rows(data_dir / f"{table}.csv")
        cells = rows[row % len(rows)]
        cells[column % len(cells)] = value
        with open(data_dir / f"{table}.csv", "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([header, *rows])
    b = build("duckdb", root / f"w-{uuid.uuid4().hex[:8]}", data_dir=data_dir,
              args=["run", "--select", "staging", "int_as_of_date"])
    if not b.ok:
        # A file that cannot be read as the contract's table stops the build naming it.
        assert any(f"{table}.csv" in b.output or f"'{table}'" in b.output for table, _, _, _ in edits), b.output[-3000:]
        return
    quarantined = Counter(t for (t,) in b.query("select source_table from {{ stg_shop__quarantined_rows }}"))
    for table in contract.TABLES:
        path = data_dir / f"{table}.csv"
        raw = len(read_rows(path)[1]) if path.exists() else 0
        staged = b.query(f"select count(*) from {{{{ stg_shop__{table} }}}}")[0][0]
        assert staged + quarantined[table] == raw, (table, staged, quarantined[table], raw)
    assert not b.query(f"select table_name from information_schema.tables where table_name = '{CANARY}'")
