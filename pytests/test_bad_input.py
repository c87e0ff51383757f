"""Bad settings and bad files fail fast with a message that names them (DuckDB, files mode); quoted
settings and paths are values, never SQL (DuckDB and PostgreSQL)."""
import json
import re
import shutil

import pytest
import yaml

from .harness import (DEMO_SEEDS, DIRTY_DATA_VARS, FIXTURES, PROJECT_DIR, build, build_again,
                      pinned_vars)

NO_TESTS = ["build", "--exclude-resource-type", "test", "unit_test"]


@pytest.fixture
def data_dir(tmp_path):
    target = tmp_path / "data"
    shutil.copytree(FIXTURES / "tiny", target)
    return target


def reading(table: str) -> list[str]:
    """Run the one model that reads a raw table: a bad file stops it, named, as it stops a build there
    (the rest of a build is other models)."""
    return ["run", "--select", f"base_shop__{table}"]


def assert_failed_before_models(b, *needles):
    assert not b.ok, b.output[-3000:]
    for needle in needles:
        assert needle in b.output, (needle, b.output[-3000:])


def test_missing_required_table_is_named(tmp_path, data_dir):
    (data_dir / "orders.csv").unlink()
    b = build("duckdb", tmp_path / "w", data_dir=data_dir, dbt_vars=DIRTY_DATA_VARS, args=reading("orders"))
    assert_failed_before_models(b, "Required raw table 'orders' was not found")


def test_missing_required_column_is_named(tmp_path, data_dir):
    lines = (data_dir / "orders.csv").read_text().splitlines()
    cut = [",".join(line.split(",")[:-1]) for line in lines]  # drop order_total
    (data_dir / "orders.csv").write_text("\n".join(cut) + "\n")
    b = build("duckdb", tmp_path / "w", data_dir=data_dir, dbt_vars=DIRTY_DATA_VARS, args=reading("orders"))
    assert_failed_before_models(b, "Raw table 'orders'", "lacks the column(s) order_total")


def test_malformed_file_fails_naming_the_file(tmp_path, data_dir):
    with open(data_dir / "orders.csv", "a") as fh:
        fh.write('O99,C1,"2025-02-01 10:00:00,placed,USD,1.00,EXTRA\n')
    b = build("duckdb", tmp_path / "w", data_dir=data_dir, dbt_vars=DIRTY_DATA_VARS, args=reading("orders"))
    assert not b.ok
    assert str(data_dir / "orders.csv") in b.output, b.output[-3000:]


def test_a_table_given_twice_is_refused(tmp_path, data_dir):
    shutil.copy(data_dir / "products.csv", data_dir / "products.parquet")
    b = build("duckdb", tmp_path / "w", data_dir=data_dir, dbt_vars=DIRTY_DATA_VARS, args=reading("products"))
    assert_failed_before_models(b, "Raw table 'products' is given more than once")


# Bad settings, several in one build where the check names them all at once (validate_project_vars
# collects every problem before it stops; each setting appears once per build). A setting read
# while dbt parses, the raw source conflict, and the funnel and customer-value settings (checked
# by the macros that read them, after the others) each stop at once: each gets a build of its own.
BAD_SETTINGS = [
    ({"max_valid_at": "2025-02-30", "reporting_currency": "usd", "at_risk_after_days": 200, "churn_after_days": 180,
      "loyalty_min_orders": 1, "as_of_date": "2025-31-12", "nps_passive_min_score": 9, "nps_promoter_min_score": 9,
      "session_timeout_minutes": 0, "cart_recovery_window_days": "month", "product_tier_order": ["basic", "Basic"],
      "min_valid_at": "1990-13-01", "max_money_amount": 10 ** 13,
      # A list item that would end its SQL literal and widen the condition if pasted unquoted.
      "consideration_event_types": ["x') or (1 = 1) or event_type in ('y"],
      "order_statuses": ["placed", "placed"], "raw_table_names": {"orders": "orders; drop table customers"}},
     ["max_valid_at must be a timestamp", "reporting_currency must be a 3-letter",
      "at_risk_after_days (200) must be less than churn_after_days (180)", "loyalty_min_orders must be at least 2",
      "as_of_date must be a date", "nps_passive_min_score (9) and nps_promoter_min_score (9)",
      "session_timeout_minutes must be a positive whole number", "cart_recovery_window_days must be a positive whole number",
      "product_tier_order must list at least two distinct product tiers", "min_valid_at must be a timestamp",
      "max_money_amount must be a whole number from 1 to 1000000000000",
      "consideration_event_types must be event types (vars.event_types); not event types: x') or (1 = 1)",
      "order_statuses must be a list of distinct, non-empty text values: values repeat",
      "raw_table_names must map tables of the raw contract"]),
    ({"max_valid_at": "yesterday", "quarantine_warn_percent": 60, "quarantine_error_percent": 50},
     ["max_valid_at must be a timestamp",
      "quarantine_warn_percent (60) and quarantine_error_percent (50) must be whole percentages"]),
    ({"min_valid_at": "2031-01-01", "max_valid_at": "2030-01-01"}, ["min_valid_at (2031-01-01) must be before max_valid_at"]),
    # Read while dbt parses the models: the parse stops, naming it.
    ({"churn_after_days": -5}, ["churn_after_days must be a positive whole number"]),
    ({"churn_after_days": "abc"}, ["churn_after_days must be a positive whole number"]),
    ({"event_types": "page_view"}, ["event_types must be a list of distinct, non-empty text values"]),
    ({"raw_schema": "raw"}, ["raw_data_dir and raw_schema are both set"]),
    ({"funnels": {"purchase": {"steps": ["page_view", "checkout!"]}}}, ["step 'checkout!' is not an event type"]),
    ({"clv_time_unit": "fortnight"}, ["clv_time_unit must be day or week"]),
]


@pytest.mark.parametrize("dbt_vars, needles", BAD_SETTINGS, ids=["many", "more", "bounds", "churn-negative",
                                                                 "churn-text", "event-types", "raw-source", "funnel",
                                                                 "clv"])
def test_bad_settings_stop_the_build_before_any_model_naming_each(tmp_path, dbt_vars, needles):
    b = build("duckdb", tmp_path / "w", data_dir=FIXTURES / "tiny", dbt_vars=dbt_vars)
    assert_failed_before_models(b, *needles)
    assert "OK created" not in b.output  # nothing half-written


def test_a_vocabulary_item_with_quotes_is_a_value_not_sql(engine, tmp_path, demo_builds, request):
    """A vocabulary item written to break out of its SQL literal, and one with an apostrophe: the demo
    builds and its stages are as without them. Pasted unquoted, the first would turn
    `event_type in (...)` into a condition true for every event and move every awareness person to
    consideration; the second would end the literal and break the build."""
    crafted = "x') or (1 = 1) or event_type in ('y"
    defaults = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    crafted_vars = {
        "event_types": defaults["event_types"] + [crafted, "o'clock"],
        "consideration_event_types": defaults["consideration_event_types"] + [crafted, "o'clock"],
    }
    stage_history = ["run", "--select", "+fct_lifecycle_stage_history"]  # all this test reads
    if engine == "postgres":  # the demo's files loaded into a raw schema, as demo_builds does
        b = build(engine, tmp_path / "w", server=request.getfixturevalue("pg_server"), data_dir=DEMO_SEEDS,
                  file_prefix="raw_", dbt_vars=crafted_vars, args=stage_history)
    else:
        b = build(engine, tmp_path / "w", dbt_vars=crafted_vars, args=["seed", "--select", "demo"])
        assert b.ok, b.output[-3000:]
        b = build_again(b, dbt_vars=crafted_vars, args=stage_history)
    assert b.ok, b.output[-3000:]
    plain = demo_builds(engine)  # the same data with the default settings
    sql = "select stage, count(*) from {{ fct_lifecycle_stage_history }} group by 1"
    assert dict(plain.query(sql)).get("awareness", 0) > 0  # persons the crafted item would move
    assert sorted(b.query(sql)) == sorted(plain.query(sql))


def test_a_data_directory_with_quote_space_and_unicode_in_its_path(tmp_path, tiny_builds):
    data_dir = tmp_path / "it's a dür"
    shutil.copytree(FIXTURES / "tiny", data_dir)
    b = build("duckdb", tmp_path / "w", data_dir=data_dir,
              args=[*NO_TESTS, "--select", "+dim_customers", "+stg_shop__quarantined_rows"])  # all this test reads
    assert b.ok, b.output[-3000:]
    plain = tiny_builds("duckdb")
    for sql in ("select customer_id, current_stage from {{ dim_customers }}",
                "select source_table, row_key, quarantine_reason from {{ stg_shop__quarantined_rows }}"):
        rows = plain.query(sql)
        assert rows and sorted(b.query(sql)) == sorted(rows), sql


def test_a_zero_byte_optional_file_is_an_absent_table(tmp_path, data_dir):
    (data_dir / "referrals.csv").write_bytes(b"")  # optional, and absent from the fixture otherwise
    # dim_customers: through the stage rules, which read referrals (advocacy)
    b = build("duckdb", tmp_path / "w", data_dir=data_dir, args=[*NO_TESTS, "--select", "+dim_customers"])
    assert b.ok, b.output[-3000:]
    assert b.query("select count(*) from {{ stg_shop__referrals }}") == [(0,)]


def test_a_file_with_another_delimiter_is_named_with_the_delimiter(tmp_path, data_dir):
    path = data_dir / "orders.csv"
    path.write_text(path.read_text().replace(",", ";"))
    b = build("duckdb", tmp_path / "w", data_dir=data_dir, dbt_vars=DIRTY_DATA_VARS, args=reading("orders"))
    assert_failed_before_models(b, f"file {path}", "seems to be delimited by semicolons")


def test_the_summary_hint_works_outside_the_venv_and_a_held_file_is_one_line(tmp_path):
    """After a build the summary prints a command that opens the file; run it with a PATH that has
    no venv. Then hold the file open for writing, as a notebook would, and build again: one line
    names the file and the process holding it."""
    import os
    import subprocess

    import duckdb

    from .harness import run_cli
    db_path = tmp_path / "held.duckdb"
    # The summary is what this test reads: the build leaves out the data tests too.
    env = {"LIFECYCLE_TARGET": "duckdb", "LIFECYCLE_DUCKDB_PATH": str(db_path), "LIFECYCLE_DATA_DIR": str(FIXTURES / "tiny"),
           "LIFECYCLE_RAW_SCHEMA": "", "DBT_EXCLUDE_RESOURCE_TYPES": "unit_test test"}
    first = run_cli(["build", "--vars", json.dumps(pinned_vars(DIRTY_DATA_VARS))], env, tmp_path)
    assert first.returncode == 0, first.stdout[-3000:]
    hint = next(line for line in first.stdout.splitlines() if "open it with:" in line).split("open it with:", 1)[1]
    shown = subprocess.run(hint, shell=True, text=True, capture_output=True, cwd=tmp_path,
                           env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert shown.returncode == 0 and "rows" in shown.stdout, shown.stderr  # DuckDB's table listing
    # The summary is short; the full table list is one printed command away, and that command works.
    summary = first.stdout[first.stdout.index("Results are in the DuckDB file"):]
    assert "main_marts.dim_customers" not in summary  # dbt's own log above it names every model
    listing = next(line for line in first.stdout.splitlines() if "every table with its row count:" in line)
    listed = subprocess.run(listing.split(":", 1)[1], shell=True, text=True, capture_output=True, cwd=tmp_path,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert listed.returncode == 0 and "main_marts.dim_customers" in listed.stdout, listed.stdout + listed.stderr
    # The headline KPIs shown are the latest month's row of fct_kpis_monthly.
    con = duckdb.connect(str(db_path), read_only=True)
    month, revenue = con.sql("select kpi_month, net_revenue from main_marts.fct_kpis_monthly "
                             "order by kpi_month desc limit 1").fetchall()[0]
    con.close()
    assert f"Headline KPIs of {month:%Y-%m}" in first.stdout
    assert re.search(rf"net_revenue\s+{re.escape(str(revenue))}\n", first.stdout), first.stdout[-2000:]
    holder = duckdb.connect(str(db_path))
    try:
        second = run_cli(["build"], env, tmp_path)
    finally:
        holder.close()
    assert second.returncode == 1
    assert second.stdout.strip().splitlines() == [
        f"The warehouse file {db_path} is in use by another process (PID {os.getpid()}): close it "
        "(a BI tool, notebook or second build) and build again."]


def test_the_same_data_builds_byte_identical_marts(tmp_path, demo_builds):
    """A second build of the demo: every mart's rows are identical to the first, floats to the bit."""
    import duckdb

    first = demo_builds("duckdb")
    second = build("duckdb", tmp_path / "again", args=NO_TESTS)
    assert second.ok, second.output[-3000:]
    from .harness import BUILD_RECORD_DATA, model_names
    marts = model_names(first, "marts")
    assert len(marts) >= 20
    for model in marts:
        rows = []
        select = BUILD_RECORD_DATA if model == "fct_build_record" else "*"
        for b in (first, second):
            con = duckdb.connect(b.duckdb_file, read_only=True)
            try:
                rows.append(con.sql(f"select {select} from {b.relation(model)} order by all").fetchall())
            finally:
                con.close()
        assert rows[0] == rows[1], model


def test_the_text_none_or_null_is_a_value_not_a_missing_one(tmp_path, data_dir):
    """Only an empty field is missing. 'None' (what a seed loader wrote for an empty field on Spark)
    and 'null' are values: an order of customer 'None' is an orphan, a country 'null' is text."""
    orders = data_dir / "orders.csv"
    orders.write_text(orders.read_text() + "O77,None,2025-02-20 10:00:00,delivered,USD,5.00\n")
    customers = data_dir / "customers.csv"
    customers.write_text(customers.read_text().replace("C1,ann@example.com,2025-01-05 10:00:00,US,",
                                                       "C1,ann@example.com,2025-01-05 10:00:00,null,"))
    b = build("duckdb", tmp_path / "w", data_dir=data_dir, args=["run", "--select", "staging"])
    assert b.ok, b.output[-3000:]
    assert b.query("select quarantine_reason from {{ stg_shop__quarantined_rows }} "
                   "where source_table = 'orders' and row_key = 'O77'") == [("orphan_reference",)]
    assert b.query("select country from {{ stg_shop__customers }} where customer_id = 'C1'") == [("null",)]
