"""Bad settings and bad files fail fast with a message that names them (DuckDB, files mode)."""
import shutil

import pytest

from .harness import FIXTURES, build


@pytest.fixture
def data_dir(tmp_path):
    target = tmp_path / "data"
    shutil.copytree(FIXTURES / "tiny", target)
    return target


def assert_failed_before_models(b, *needles):
    assert not b.ok, b.output[-3000:]
    for needle in needles:
        assert needle in b.output, (needle, b.output[-3000:])


def test_missing_required_table_is_named(tmp_path, data_dir):
    (data_dir / "orders.csv").unlink()
    b = build("duckdb", tmp_path / "w", data_dir=data_dir)
    assert_failed_before_models(b, "Required raw table 'orders' was not found")


def test_missing_required_column_is_named(tmp_path, data_dir):
    lines = (data_dir / "orders.csv").read_text().splitlines()
    cut = [",".join(line.split(",")[:-1]) for line in lines]  # drop order_total
    (data_dir / "orders.csv").write_text("\n".join(cut) + "\n")
    b = build("duckdb", tmp_path / "w", data_dir=data_dir)
    assert_failed_before_models(b, "Raw table 'orders'", "lacks the column(s) order_total")


def test_malformed_file_fails_naming_the_file(tmp_path, data_dir):
    with open(data_dir / "orders.csv", "a") as fh:
        fh.write('O99,C1,"2025-02-01 10:00:00,placed,USD,1.00,EXTRA\n')
    b = build("duckdb", tmp_path / "w", data_dir=data_dir)
    assert not b.ok
    assert str(data_dir / "orders.csv") in b.output, b.output[-3000:]


def test_a_table_given_twice_is_refused(tmp_path, data_dir):
    shutil.copy(data_dir / "products.csv", data_dir / "products.parquet")
    b = build("duckdb", tmp_path / "w", data_dir=data_dir)
    assert_failed_before_models(b, "Raw table 'products' is given more than once")


@pytest.mark.parametrize(
    "dbt_vars, needle",
    [
        ({"max_valid_at": "2025-02-30"}, "max_valid_at must be a timestamp"),
        ({"max_valid_at": "yesterday"}, "max_valid_at must be a timestamp"),
        ({"reporting_currency": "usd"}, "reporting_currency must be a 3-letter"),
        ({"raw_schema": "raw"}, "raw_data_dir and raw_schema are both set"),
        ({"at_risk_after_days": 200, "churn_after_days": 180}, "at_risk_after_days (200) must be less than churn_after_days (180)"),
        ({"churn_after_days": -5}, "churn_after_days must be a positive whole number"),
        ({"loyalty_min_orders": 1}, "loyalty_min_orders must be at least 2"),
        ({"as_of_date": "2025-31-12"}, "as_of_date must be a date"),
        ({"nps_passive_min_score": 9, "nps_promoter_min_score": 9}, "nps_passive_min_score (9) and nps_promoter_min_score (9)"),
        ({"session_timeout_minutes": 0}, "session_timeout_minutes must be a positive whole number"),
        ({"cart_recovery_window_days": "month"}, "cart_recovery_window_days must be a positive whole number"),
        ({"product_tier_order": ["basic", "Basic"]}, "product_tier_order must list at least two distinct product tiers"),
    ],
)
def test_bad_setting_stops_the_build_before_any_model(tmp_path, dbt_vars, needle):
    b = build("duckdb", tmp_path / "w", data_dir=FIXTURES / "tiny", dbt_vars=dbt_vars)
    assert_failed_before_models(b, needle)
    assert "OK created" not in b.output  # nothing half-written
