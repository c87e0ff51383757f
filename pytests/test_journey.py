"""The journey and retention marts: sessions and funnels against the generator's ground truth,
orders-only data, independent re-computations of cohorts and churn, and the same rows on DuckDB
and PostgreSQL.

Builds: a generated medium dataset (files, DuckDB, funnel models only); an orders-only dataset
(customers, orders and order_items of a generated demo); the bundled demo on both engines (shared
with the other test modules); and the demo with extra person-scope and any-order funnels on both
engines.
"""
from __future__ import annotations

import json
import math
import shutil
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from customer_lifecycle.generator import generate

from .harness import build
from .lifecycle_reference import stage_history

Z = 4.0  # standard errors allowed in a statistical assertion (see the ground-truth test)
MIN_SESSIONS = 100  # cells with fewer sessions at the previous step are not checked (normal approximation)

NEW_MARTS = {
    # mart -> the columns of its grain
    "fct_funnel_sessions": ["funnel_name", "session_id"],
    "fct_funnel_steps": ["funnel_name", "entry_date", "channel", "device", "step_number"],
    "fct_cart_abandonment": ["cart_date", "channel"],
    "fct_retention_cohorts": ["cohort_month", "months_since_first_order"],
    "fct_retention_cohorts_by_channel": ["acquisition_channel", "cohort_month", "months_since_first_order"],
    "fct_churn_monthly": ["churn_month"],
    "fct_nps_monthly": ["nps_month"],
    "fct_nps_monthly_by_stage": ["nps_month", "stage"],
    "fct_email_campaign_performance": ["campaign_id"],
    "fct_acquisition_channels": ["acquisition_month", "channel"],
    "fct_kpis_monthly": ["kpi_month"],
}
JOURNEY_ONLY_MARTS = ["fct_funnel_sessions", "fct_funnel_steps", "fct_cart_abandonment",
                      "fct_email_campaign_performance", "fct_nps_monthly", "fct_nps_monthly_by_stage"]
ACTIVE_STAGES = {"conversion", "retention", "loyalty", "advocacy", "at_risk"}
EXTRA_FUNNELS = {
    "purchase": {"steps": ["page_view", "product_view", "add_to_cart", "begin_checkout", "purchase"],
                 "scope": "session", "order": "ordered"},
    "browse_to_buy": {"steps": ["product_view", "add_to_cart", "purchase"], "scope": "person", "order": "any"},
    "return_to_buy": {"steps": ["page_view", "add_to_cart", "begin_checkout", "purchase"],
                      "scope": "person", "order": "ordered"},
}


# ------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------
def as_of_date(b) -> date:
    return b.query("select as_of_date from {{ int_as_of_date }}")[0][0]


def month_start(d: date) -> date:
    return d.replace(day=1)


def add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    return date(d.year + y, m + 1, 1)


def months_between(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def month_end(d: date) -> date:
    return add_months(d, 1) - timedelta(days=1)


def sort_key(row):
    return tuple((v is None, str(type(v)), v if v is not None else 0) for v in row)


def rows_match(a: tuple, b: tuple) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if isinstance(x, float) and isinstance(y, float):
            if not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9):
                return False
        elif x != y:
            return False
    return True


def all_rows(b, model: str) -> list[tuple]:
    return sorted(b.query(f"select * from {{{{ {model} }}}}"), key=sort_key)


# ------------------------------------------------------------------------------------------
# (a) Funnel step conversion against the generator's ground truth
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def medium(tmp_path_factory):
    """The medium preset (about 20,000 customers, 260,000 visits), built up to the funnel marts
    and the upsell model."""
    data_dir = tmp_path_factory.mktemp("journey-medium-data")
    truth_path = generate("medium", 11, str(data_dir), None, "", 0.0)
    b = build("duckdb", tmp_path_factory.mktemp("journey-medium"), data_dir=data_dir,
              args=["run", "--select", "+fct_funnel_steps", "+int_orders__upsell"])
    assert b.ok, b.output[-5000:]
    return b, json.loads(open(truth_path, encoding="utf-8").read())


def test_funnel_step_conversion_matches_the_generator_probabilities(medium):
    """The generator draws each visit's depth from P(step k | step k-1) per channel and device
    (ground_truth parameters.funnel_step_probabilities). A visit is a session (its events are at
    most 25 minutes long, visits of a person at least 31 minutes apart), so the sessions reaching
    step k among those reaching step k-1 are Binomial(n, p): the observed rate must lie within
    Z = 4 binomial standard errors sqrt(p (1 - p) / n). With 4 steps x 18 channel-device cells the
    chance that any check fails by sampling alone is below 0.5% (P(|N(0,1)| > 4) = 6e-5 each);
    the data are fixed by the seed, so the test is deterministic. The one systematic effect (a
    visit on a shared device splits at the second customer's identification, about 1 visit in
    200 reaching checkout) is far below one standard error."""
    b, truth = medium
    probabilities = truth["parameters"]["funnel_step_probabilities"]
    rows = b.query("""
        select channel, device, step_name, sum(entries_at_previous_step), sum(entries_reaching_step)
        from {{ fct_funnel_steps }}
        where funnel_name = 'purchase' and step_number > 1
        group by channel, device, step_name
    """)
    checked, failures = 0, []
    for channel, device, step, n, reached in rows:
        p = probabilities[channel][device][step]
        if n < MIN_SESSIONS:
            continue
        se = math.sqrt(p * (1 - p) / n)
        z = (reached / n - p) / se
        checked += 1
        if abs(z) > Z:
            failures.append((channel, device, step, n, round(reached / n, 4), p, round(z, 2)))
    assert checked >= 60, f"only {checked} channel x device x step cells were large enough to check"
    assert not failures, failures


def test_upsell_matches_the_generator(medium):
    """The generator moves a customer one tier up on a valid repeat order with probability
    upsell_rate, capped at premium, and fills every order with products of the customer's tier.
    So (1) every valid repeat order has a known basket tier and is eligible (ground truth
    upsell.valid_repeat_orders); (2) the orders counted as upsells (basket tier above the previous
    valid order's) are exactly the upgrades that raised the tier (upsell.tier_raising_upgrades, a
    count kept by the generator, not derived from the data); (3) among eligible orders whose
    previous tier is below premium, upsells are Binomial(n, upsell_rate): within Z standard errors."""
    b, truth = medium
    eligible, upsells, below_top, upsells_below_top = b.query("""
        select
            sum(case when is_upsell_eligible then 1 else 0 end),
            sum(case when is_upsell then 1 else 0 end),
            sum(case when is_upsell_eligible and previous_basket_tier_rank < 3 then 1 else 0 end),
            sum(case when is_upsell and previous_basket_tier_rank < 3 then 1 else 0 end)
        from {{ int_orders__upsell }}
    """)[0]
    assert eligible == truth["realised"]["upsell"]["valid_repeat_orders"]
    assert upsells == truth["realised"]["upsell"]["tier_raising_upgrades"]
    assert upsells_below_top == upsells
    p = truth["parameters"]["upsell_rate"]
    se = math.sqrt(p * (1 - p) / below_top)
    assert below_top > 5000
    assert abs(upsells_below_top / below_top - p) <= Z * se, (upsells_below_top, below_top, p)


def test_sessions_are_the_generated_visits(medium):
    """Sessionization recovers the generator's visits: per channel and device, the sessions
    entering the purchase funnel (a page_view) are exactly the visits, and deeper steps differ
    only by the visits split on a shared device (at most 1%, never more sessions than visits)."""
    b, truth = medium
    realised = truth["realised"]["funnel_sessions"]
    got = defaultdict(lambda: [0] * 5)
    for channel, device, step_number, reached in b.query("""
        select channel, device, step_number, sum(entries_reaching_step)
        from {{ fct_funnel_steps }} where funnel_name = 'purchase'
        group by channel, device, step_number
    """):
        got[(channel, device)][step_number - 1] = int(reached)
    assert set(got) == {(c, d) for c in realised for d in realised[c] if realised[c][d][0] > 0}
    for (channel, device), counts in got.items():
        expected = realised[channel][device]
        assert counts[0] == expected[0], (channel, device, counts, expected)
        for ours, theirs in zip(counts[1:], expected[1:]):
            assert ours <= theirs and theirs - ours <= max(2, 0.01 * theirs), (channel, device, counts, expected)


# ------------------------------------------------------------------------------------------
# (b) Orders-only data
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def generated_demo(tmp_path_factory):
    """A demo dataset made by the generator (CSV files) and its ground truth."""
    data_dir = tmp_path_factory.mktemp("journey-demo-data")
    truth_path = generate("demo", 42, str(data_dir), "csv", "", 0.0)
    return data_dir, json.loads(open(truth_path, encoding="utf-8").read())


@pytest.fixture(scope="module")
def orders_only(tmp_path_factory, generated_demo):
    """customers, orders and order_items of a generated demo, nothing else (no exchange rates:
    orders in other currencies are quarantined, the rest build as usual)."""
    data_dir = tmp_path_factory.mktemp("journey-orders-only-data")
    for table in ("customers", "orders", "order_items"):
        shutil.copy(generated_demo[0] / f"{table}.csv", data_dir / f"{table}.csv")
    b = build("duckdb", tmp_path_factory.mktemp("journey-orders-only"), data_dir=data_dir)
    assert b.ok, b.output[-5000:]
    return b


def test_orders_only_data_builds_every_mart_with_empty_journey_marts(orders_only):
    b = orders_only
    for mart in JOURNEY_ONLY_MARTS:
        assert b.query(f"select count(*) from {{{{ {mart} }}}}")[0][0] == 0, mart
    for mart in ("fct_retention_cohorts", "fct_retention_cohorts_by_channel", "fct_churn_monthly",
                 "fct_acquisition_channels", "fct_kpis_monthly"):
        assert b.query(f"select count(*) from {{{{ {mart} }}}}")[0][0] > 0, mart
    # no spend data: spend and CAC are unknown (null), not zero; new customers are still counted
    assert b.query("select count(*), count(spend), count(cac), sum(new_customers) from {{ fct_acquisition_channels }}")[0][1:3] == (0, 0)
    sessions, rates = b.query("select sum(sessions), count(session_conversion_rate) from {{ fct_kpis_monthly }}")[0]
    assert sessions == 0 and rates == 0


def expected_cohorts(b) -> dict:
    """fct_retention_cohorts recomputed in Python from the staged orders."""
    as_of = as_of_date(b)
    orders = [(c, d, s, Decimal(t)) for c, d, s, t in b.query(
        "select customer_id, order_date, status, order_total from {{ stg_shop__orders }}") if d <= as_of]
    first = {}
    for customer, day, status, _ in orders:
        if status != "cancelled":
            first[customer] = min(first.get(customer, day), day)
    cohort_size = defaultdict(int)
    for customer, day in first.items():
        cohort_size[month_start(day)] += 1
    active, revenue, valid = defaultdict(set), defaultdict(Decimal), defaultdict(int)
    for customer, day, status, total in orders:
        if customer not in first:
            continue
        key = (month_start(first[customer]), months_between(month_start(first[customer]), month_start(day)))
        if status != "cancelled":
            active[key].add(customer)
            valid[key] += 1
        if status not in ("cancelled", "returned"):
            revenue[key] += total
    cells = {}
    for cohort, size in cohort_size.items():
        cumulative = Decimal("0")
        for m in range(months_between(cohort, month_start(as_of)) + 1):
            cumulative += revenue[(cohort, m)]
            cells[(cohort, m)] = (size, len(active[(cohort, m)]), valid[(cohort, m)], revenue[(cohort, m)],
                                  cumulative, (cumulative / size).quantize(Decimal("0.01"), ROUND_HALF_UP))
    return cells


def check_cohorts(b):
    expected = expected_cohorts(b)
    got = {(c, m): (size, active, valid, Decimal(rev), Decimal(cum), Decimal(per))
           for c, m, size, active, valid, rev, cum, per in b.query("""
               select cohort_month, months_since_first_order, cohort_size, active_customers,
                      valid_orders, net_revenue, cumulative_net_revenue, cumulative_net_revenue_per_customer
               from {{ fct_retention_cohorts }}""")}
    assert len(expected) > 50 and set(got) == set(expected)
    for key, want in expected.items():
        assert got[key] == want, (key, got[key], want)


def expected_churn(spells: dict, as_of: date) -> dict:
    """fct_churn_monthly recomputed from stage spells {(person, valid_from): (valid_to, stage)}."""
    by_person = defaultdict(list)
    for (person, valid_from), (valid_to, stage) in spells.items():
        by_person[person].append((valid_from, valid_to, stage))
    first_month = min(month_start(valid_from) for _, valid_from in spells)
    months = [add_months(first_month, n) for n in range(months_between(first_month, as_of) + 1)]
    flows = {m: {"new": 0, "churned": 0, "reactivated": 0, "active_end": 0} for m in months}
    for person_spells in by_person.values():
        person_spells.sort()
        previous = None
        for valid_from, _, stage in person_spells:
            f = flows[month_start(valid_from)]
            if stage in ACTIVE_STAGES and previous in (None, "awareness", "consideration"):
                f["new"] += 1
            if stage == "churned":
                f["churned"] += 1
            if previous == "churned":
                f["reactivated"] += 1
            previous = stage
        for m in months:
            day = min(month_end(m), as_of)
            for valid_from, valid_to, stage in person_spells:
                if valid_from <= day and (valid_to is None or valid_to > day) and stage in ACTIVE_STAGES:
                    flows[m]["active_end"] += 1
    result, active_start = {}, 0
    for m in months:
        f = flows[m]
        result[m] = (active_start, f["new"], active_start - f["churned"], f["churned"], f["reactivated"], f["active_end"])
        active_start = f["active_end"]
    return result


def check_churn(b):
    as_of = as_of_date(b)
    expected = expected_churn(stage_history(b.duckdb_file), as_of)
    got = {row[0]: tuple(row[1:]) for row in b.query("""
        select churn_month, active_at_start, new_customers, retained_customers, churned_customers,
               reactivated_customers, active_at_end
        from {{ fct_churn_monthly }}""")}
    assert got == expected
    assert sum(v[3] for v in got.values()) > 0, "the data has churn: the comparison is not vacuous"


def test_orders_only_cohorts_match_a_python_recomputation(orders_only):
    check_cohorts(orders_only)


def test_orders_only_churn_matches_the_python_lifecycle_reference(orders_only):
    check_churn(orders_only)


# ------------------------------------------------------------------------------------------
# The demo data: independent re-computations, and the same rows on both engines
# ------------------------------------------------------------------------------------------
def test_demo_cohorts_match_a_python_recomputation(demo_builds):
    check_cohorts(demo_builds("duckdb"))


def test_demo_churn_matches_the_python_lifecycle_reference(demo_builds):
    check_churn(demo_builds("duckdb"))


def test_demo_journey_marts_are_not_empty(demo_builds):
    b = demo_builds("duckdb")
    for mart in NEW_MARTS:
        assert b.query(f"select count(*) from {{{{ {mart} }}}}")[0][0] > 0, mart
    converted, sessions = b.query("select sum(converted_sessions), sum(sessions) from {{ fct_kpis_monthly }}")[0]
    assert 0 < converted < sessions


@pytest.mark.parametrize("mart", sorted(NEW_MARTS))
def test_same_rows_on_duckdb_and_postgres(demo_builds, pg_server, mart):
    duck, pg = all_rows(demo_builds("duckdb"), mart), all_rows(demo_builds("postgres"), mart)
    assert len(duck) == len(pg) > 0
    mismatched = [(d, p) for d, p in zip(duck, pg) if not rows_match(d, p)]
    assert not mismatched, mismatched[:3]


@pytest.fixture(scope="module")
def extra_funnel_builds(tmp_path_factory, request, generated_demo):
    """The generated demo with person-scope and any-order funnels declared, built up to the funnel
    marts (files on DuckDB; on PostgreSQL the files loaded into a raw schema)."""
    cache = {}

    def get(engine_name):
        if engine_name not in cache:
            server = request.getfixturevalue("pg_server") if engine_name == "postgres" else None
            b = build(engine_name, tmp_path_factory.mktemp(f"journey-funnels-{engine_name}"), server=server,
                      data_dir=generated_demo[0], args=["run", "--select", "+fct_funnel_steps"],
                      dbt_vars={"funnels": EXTRA_FUNNELS})
            assert b.ok, b.output[-5000:]
            cache[engine_name] = b
        return cache[engine_name]

    return get


def test_declared_funnels_all_come_out_of_one_code_path(extra_funnel_builds, generated_demo):
    b = extra_funnel_builds("duckdb")
    summary = {name: (scope, order, entries, converted, attempts) for name, scope, order, entries, converted, attempts
               in b.query("""
                   select funnel_name, funnel_scope, funnel_order, count(*), sum(case when is_converted then 1 else 0 end),
                          max(attempt_number)
                   from {{ fct_funnel_sessions }} group by funnel_name, funnel_scope, funnel_order""")}
    assert set(summary) == set(EXTRA_FUNNELS)
    for name, spec in EXTRA_FUNNELS.items():
        scope, order, entries, converted, attempts = summary[name]
        assert (scope, order) == (spec["scope"], spec["order"])
        assert 0 < converted < entries
        assert (attempts is None) == (scope == "session")
        if scope == "person":
            assert attempts > 1, "some persons make several attempts"
    # declaring other funnels leaves the purchase funnel as it was: one entry per generated visit
    visits = sum(cell[0] for by_device in generated_demo[1]["realised"]["funnel_sessions"].values()
                 for cell in by_device.values())
    assert summary["purchase"][2] == visits


@pytest.mark.parametrize("mart", ["fct_funnel_sessions", "fct_funnel_steps"])
def test_person_and_any_order_funnels_same_rows_on_duckdb_and_postgres(extra_funnel_builds, pg_server, mart):
    duck, pg = all_rows(extra_funnel_builds("duckdb"), mart), all_rows(extra_funnel_builds("postgres"), mart)
    assert len(duck) == len(pg) > 0
    mismatched = [(d, p) for d, p in zip(duck, pg) if not rows_match(d, p)]
    assert not mismatched, mismatched[:3]


def test_a_bad_funnel_declaration_stops_the_build_naming_it(tmp_path):
    b = build("duckdb", tmp_path / "bad-funnel", args=["parse"],
              dbt_vars={"funnels": {"checkout": {"steps": ["add_to_cart", "pay"], "scope": "visit"}}})
    assert not b.ok
    assert "funnel 'checkout'" in b.output and "'pay'" in b.output and "scope" in b.output
