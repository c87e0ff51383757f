"""The semantic layer (MetricFlow, `mf query`) on the demo (DuckDB): every metric answers, and its
monthly figures equal the marts', which compute them by their own SQL (MetricFlow writes its own
query from the semantic models over fct_orders and the other marts):
  net revenue and orders by month, to the cent, against fct_kpis_monthly;
  churn rate by month against fct_churn_monthly;
  new customers by month and acquisition channel against fct_acquisition_channels;
  the saved query kpis_monthly against every column of fct_kpis_monthly it names.
"""
from __future__ import annotations

import csv
import json
import math
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from .harness import PROJECT_DIR

MF = Path(sys.executable).parent / "mf"


@pytest.fixture(scope="module")
def mf_project(demo_builds, tmp_path_factory):
    """The project as `mf` sees it from its root: the project's files, and the demo build's
    target/semantic_manifest.json (mf reads it from <root>/target, not from DBT_TARGET_PATH)."""
    demo = demo_builds("duckdb")
    root = tmp_path_factory.mktemp("mf-project")
    for name in ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests"):
        (root / name).symlink_to(PROJECT_DIR / name)
    (root / "target").mkdir()
    shutil.copy(demo.work_dir / "target" / "semantic_manifest.json", root / "target")
    return demo, root


def mf_query(mf_project, *args: str) -> list[dict]:
    demo, root = mf_project
    out = root / "query.csv"
    out.unlink(missing_ok=True)
    env = {**os.environ, **demo.env, "DO_NOT_TRACK": "1"}
    done = subprocess.run([str(MF), "query", *args, "--csv", str(out)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and out.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    with out.open(newline="") as handle:
        return list(csv.DictReader(handle))


def by_month(rows: list[dict], key: str = "metric_time__month") -> dict[str, dict]:
    return {row[key][:10]: row for row in rows}


def test_every_metric_answers(mf_project):
    demo, root = mf_project
    manifest = json.loads((root / "target" / "semantic_manifest.json").read_text())
    metrics = sorted(m["name"] for m in manifest["metrics"])
    # Every KPI the project reports has a metric.
    assert {"net_revenue", "orders", "average_order_value", "new_customers", "repeat_purchase_rate", "upsell_rate",
            "churn_rate", "retention_rate", "session_conversion_rate", "cart_abandonment_rate", "cac",
            "email_open_rate", "email_click_rate", "nps", "predicted_clv"} <= set(metrics)
    rows = mf_query(mf_project, "--metrics", ",".join(metrics), "--group-by", "metric_time__month")
    assert len(rows) >= 12
    for metric in metrics:
        assert any(row[metric] not in ("", None) for row in rows), f"{metric} has no value in any month"


def test_monthly_net_revenue_and_orders_equal_the_kpi_mart_to_the_cent(mf_project):
    demo, _ = mf_project
    got = by_month(mf_query(mf_project, "--metrics", "net_revenue,orders", "--group-by", "metric_time__month"))
    want = demo.query("select kpi_month, net_revenue, valid_orders from {{ fct_kpis_monthly }} where valid_orders > 0")
    assert want and len(got) == len(want)
    for month, revenue, orders in want:
        row = got[str(month)]
        assert Decimal(row["net_revenue"]).quantize(Decimal("0.01")) == Decimal(revenue), month
        assert int(row["orders"]) == orders, month


def test_monthly_churn_rate_equals_the_churn_mart(mf_project):
    demo, _ = mf_project
    got = by_month(mf_query(mf_project, "--metrics", "churn_rate,retention_rate", "--group-by", "metric_time__month"))
    want = demo.query("select churn_month, churn_rate, retention_rate from {{ fct_churn_monthly }} where churn_rate is not null")
    assert want and any(rate > 0 for _, rate, _ in want)
    for month, churn, retention in want:
        row = got[str(month)]
        # The harness rounds doubles to 9 decimals (harness.normalise).
        assert math.isclose(float(row["churn_rate"]), churn, rel_tol=0, abs_tol=1e-9), month
        assert math.isclose(float(row["retention_rate"]), retention, rel_tol=0, abs_tol=1e-9), month


def test_new_customers_by_month_and_channel_equal_the_acquisition_mart(mf_project):
    demo, _ = mf_project
    rows = mf_query(mf_project, "--metrics", "new_customers",
                    "--group-by", "metric_time__month,order__acquisition_channel")
    got = {(row["metric_time__month"][:10], row["order__acquisition_channel"]): int(row["new_customers"])
           for row in rows if int(row["new_customers"] or 0) > 0}
    want = {(str(month), channel): count for month, channel, count in demo.query(
        "select acquisition_month, channel, new_customers from {{ fct_acquisition_channels }} where new_customers > 0")}
    assert len(want) > 20 and got == want


def test_the_saved_query_lines_up_the_kpi_mart(mf_project):
    demo, _ = mf_project
    got = by_month(mf_query(mf_project, "--saved-query", "kpis_monthly"))
    columns = {"new_customers": "new_customers", "marketing_spend": "marketing_spend", "cac": "cac",
               "sessions": "sessions", "converted_sessions": "converted_sessions",
               "session_conversion_rate": "session_conversion_rate", "orders": "valid_orders",
               "net_revenue": "net_revenue", "average_order_value": "average_order_value", "buyers": "buyers",
               "repeat_buyers": "repeat_buyers", "repeat_purchase_rate": "repeat_purchase_rate",
               "upsell_eligible_orders": "upsell_eligible_orders", "upsell_orders": "upsell_orders",
               "upsell_rate": "upsell_rate", "active_customers_at_start": "active_customers_at_start",
               "churned_customers": "churned_customers", "churn_rate": "churn_rate",
               "retention_rate": "retention_rate", "nps_responses": "nps_responses", "nps": "nps"}
    want = demo.query(f"select kpi_month, {', '.join(columns.values())} from {{{{ fct_kpis_monthly }}}}")
    compared = 0
    for month, *values in want:
        row = got.get(str(month))
        if row is None:  # a month with no metric value at all
            assert all(v in (None, 0) for v in values), month
            continue
        for metric, value in zip(columns, values):
            shown = row[metric]
            if value is None or shown == "":
                # The mart writes 0 for a count with no rows; MetricFlow leaves it empty.
                assert (value in (None, 0)) and shown in ("", "0"), (month, metric, value, shown)
                continue
            compared += 1
            if metric in ("average_order_value", "cac"):  # the mart rounds these ratios half up to cents
                assert abs(float(shown) - float(value)) <= 0.005 + 1e-9, (month, metric, value, shown)
            else:
                # Doubles: the harness rounds them to 9 decimals (harness.normalise).
                assert math.isclose(float(shown), float(value), rel_tol=1e-9, abs_tol=1e-9), (month, metric, value, shown)
    assert compared > 200
