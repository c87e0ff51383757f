"""The lifecycle stage engine on the demo data, checked against an independent plain-Python
re-implementation of the rules (pytests/lifecycle_reference.py), across engines, and under
other settings."""
from collections import Counter
from datetime import date

import pytest

from .harness import build
from .lifecycle_reference import stage_history


def history_of(b):
    return {
        (person, valid_from): (valid_to, stage)
        for person, valid_from, valid_to, stage in b.query(
            "select person_id, valid_from, valid_to, stage from {{ fct_lifecycle_stage_history }}")
    }


# What these tests read: the stage history and everything it is made of, with the data tests
# of those models alone (cautious: not a test that also reads a model left out).
STAGE_HISTORY = ["build", "--select", "+fct_lifecycle_stage_history", "--indirect-selection", "cautious"]


def current_counts(b):
    return Counter(dict(b.query(
        "select stage, count(*) from {{ fct_lifecycle_stage_history }} where is_current group by stage")))


def test_history_matches_the_python_reference_person_by_person(demo_builds):
    demo = demo_builds("duckdb")
    sql = history_of(demo)
    reference = stage_history(demo.duckdb_file)
    assert len(sql) > 1000  # the demo has thousands of spells: the comparison is not vacuous
    assert len({s for _, s in sql.values()}) == 8, "every stage occurs in the demo data"
    missing = sorted(set(reference) - set(sql))[:5]
    extra = sorted(set(sql) - set(reference))[:5]
    assert not missing and not extra, f"spells only in the reference: {missing}; only in the mart: {extra}"
    differing = [k for k in reference if reference[k] != sql[k]][:5]
    assert not differing, [(k, reference[k], sql[k]) for k in differing]


def test_same_history_row_for_row_on_duckdb_and_postgres(demo_builds, pg_server):
    columns = ("person_id, valid_from, valid_to, stage, previous_stage, is_current, change_cause, "
               "is_reactivation, valid_orders_at_start")
    sql = f"select {columns} from {{{{ fct_lifecycle_stage_history }}}} order by person_id, valid_from"
    duck, pg = demo_builds("duckdb").query(sql), demo_builds("postgres").query(sql)
    assert len(duck) > 1000
    assert duck == pg


@pytest.fixture(scope="module")
def stricter_build(tmp_path_factory):
    """The demo rebuilt with churn after 60 days (at risk after 30) and loyalty from 2 orders."""
    b = build("duckdb", tmp_path_factory.mktemp("stricter"), args=STAGE_HISTORY,
              dbt_vars={"at_risk_after_days": 30, "churn_after_days": 60, "loyalty_min_orders": 2})
    assert b.ok, b.output[-5000:]
    return b


def test_other_settings_move_stage_counts_the_way_the_rules_say(demo_builds, stricter_build):
    default, stricter = current_counts(demo_builds("duckdb")), current_counts(stricter_build)
    # Loyalty from 2 orders: nobody can be in retention (2 to loyalty_min_orders - 1 orders).
    assert default["retention"] > 0 and stricter["retention"] == 0
    # Churn after 60 days: everyone churned at 180 days is churned at 60, and more besides.
    assert stricter["churned"] > default["churned"]
    # Pre-purchase stages do not depend on these thresholds.
    for stage in ("awareness", "consideration"):
        assert stricter[stage] == default[stage]
    # The number of persons does not change.
    assert sum(stricter.values()) == sum(default.values())


def test_other_settings_match_the_python_reference(stricter_build):
    reference = stage_history(stricter_build.duckdb_file, at_risk_after_days=30,
                              churn_after_days=60, loyalty_min_orders=2)
    assert history_of(stricter_build) == reference


def test_an_earlier_as_of_date_ignores_later_facts(tmp_path):
    b = build("duckdb", tmp_path / "w", args=STAGE_HISTORY, dbt_vars={"as_of_date": "2025-09-30"})
    assert b.ok, b.output[-5000:]
    assert b.query("select as_of_date from {{ int_as_of_date }}") == [(date(2025, 9, 30),)]
    assert b.query("select max(valid_from) from {{ fct_lifecycle_stage_history }}")[0][0] <= date(2025, 9, 30)
    reference = stage_history(b.duckdb_file, as_of=date(2025, 9, 30))
    assert history_of(b) == reference
