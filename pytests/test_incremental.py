"""Incremental runs equal a full refresh (docs block `incremental_runs`), on DuckDB, PostgreSQL and Spark.

A generated shop (demo preset, 400 customers) is cut into raw snapshots as a warehouse would hold
them on four days:
  A   every row dated up to 2026-02-28, less a few rows that arrive late;
  B1  new days up to 2026-04-15; the late rows for old days (an order, events); replays (exact
      copies of rows already loaded); an order whose status changed from delivered to returned; a
      late identification of a never-identified anonymous visitor; the customer row of a customer
      whose orders and events were orphans in A;
  B2  the remaining days up to 2026-06-30;
  B3  the same data with as_of_date pinned 60 days later: a stretch in which only time rules fire.
The database built on A is updated by `build` (incremental) with B1, B2 and B3 in a row; after each
step every mart, every incremental model and the quarantine equal a full refresh on the same
snapshot. Each expected difference is also checked against the raw rows themselves (Python, below):
the changed customers' order counts and revenue, the stitched visitor, the orphans, the replays,
and the customers whose stage the time rules move.
"""
from __future__ import annotations

import csv
import json
import random
import re
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from customer_lifecycle.generator import generate
from customer_lifecycle.loader import CSV_OPTIONS

from .harness import (BUILD_RECORD_DATA, DIRTY_DATA_VARS, TINY, Build, assert_same_tables, build, build_again, file_lock,
                      model_names, pinned_vars, run_cli)
from .readme import run_readme

CUT_A, CUT_B1, CUT_B2 = date(2026, 2, 28), date(2026, 4, 15), date(2026, 6, 30)
TIME_ONLY_AS_OF = CUT_B2 + timedelta(days=60)
AT_RISK_AFTER, CHURN_AFTER = 90, 180  # the default stage rules (dbt_project.yml)
DATED = {"customers": "signed_up_at", "orders": "ordered_at", "events": "occurred_at",
         "email_events": "occurred_at", "nps_responses": "responded_at", "referrals": "referred_at",
         "marketing_spend": "spend_date", "exchange_rates": "rate_date"}
INCREMENTAL_MODELS = ["int_events__stitched", "int_sessions__events", "int_sessions", "int_funnel__entries",
                      "int_lifecycle__facts", "int_lifecycle__stage_checkpoints"]
# Only fields the tests touch (the raw values are text, as in the files).
EVENT_FIELDS = ["event_id", "anonymous_id", "customer_id", "event_type", "occurred_at", "product_id",
                "order_id", "channel", "device"]


def utc_day(text: str) -> date:
    """The UTC day of a raw timestamp or date; an empty value counts as the earliest day."""
    if not text.strip():
        return date.min
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.date()


def read_tables(directory: Path) -> dict[str, tuple[list[str], list[dict]]]:
    tables = {}
    for path in sorted(directory.glob("*.csv")):
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            tables[path.stem] = (list(reader.fieldnames), list(reader))
    return tables


def write_tables(tables: dict, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, (header, rows) in tables.items():
        with (directory / f"{name}.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return directory


class Story:
    """The generated shop, the subjects of each change, and the snapshots."""

    def __init__(self, full: dict):
        self.full = full
        orders = full["orders"][1]
        rng = random.Random(5)
        by_customer: dict[str, list[dict]] = {}
        for order in orders:
            by_customer.setdefault(order["customer_id"], []).append(order)
        usd_only = sorted(c for c, rows in by_customer.items()
                          if all(r["currency"] == "USD" for r in rows) and len(rows) >= 2
                          and utc_day(rows[0]["ordered_at"]) < CUT_A - timedelta(days=120))
        self.late_customer, self.status_customer, self.ident_customer, self.orphan_customer = usd_only[:4]
        self.late_order = by_customer[self.late_customer][1]["order_id"]
        self.status_order = next(r["order_id"] for r in by_customer[self.status_customer]
                                 if r["status"] == "delivered" and utc_day(r["ordered_at"]) <= CUT_A)
        events = full["events"][1]
        identified = {e["anonymous_id"] for e in events if e["customer_id"]}
        early = [e for e in events if utc_day(e["occurred_at"]) < CUT_A - timedelta(days=60)]
        anonymous = sorted({e["anonymous_id"] for e in early} - identified)
        self.visitor = anonymous[0]
        first = min((e for e in events if e["anonymous_id"] == self.visitor), key=lambda e: e["occurred_at"])
        when = datetime.fromisoformat(first["occurred_at"])
        if when.tzinfo is not None:
            when = when.astimezone(timezone.utc).replace(tzinfo=None)
        self.identification = {**{f: "" for f in EVENT_FIELDS}, "event_id": "E9000000001",
                               "anonymous_id": self.visitor, "customer_id": self.ident_customer,
                               "event_type": "login",
                               "occurred_at": (when + timedelta(seconds=60)).strftime("%Y-%m-%d %H:%M:%S")}
        self.late_events = {e["event_id"] for e in rng.sample(early, 15)}
        self.replayed_orders = [r for r in orders if utc_day(r["ordered_at"]) <= CUT_A
                                and r["customer_id"] not in self.subjects()][:4]
        self.replayed_events = [e for e in early if e["event_id"] not in self.late_events
                                and e["anonymous_id"] != self.visitor][:8]

    def subjects(self) -> set[str]:
        return {self.late_customer, self.status_customer, self.ident_customer, self.orphan_customer}

    def snapshot(self, last_day: date, after_a: bool) -> dict:
        """The raw tables as a warehouse holds them when its data runs up to last_day."""
        out = {}
        for name, (header, rows) in self.full.items():
            column = DATED.get(name)
            kept = [dict(r) for r in rows if column is None or utc_day(r[column]) <= last_day]
            if name == "orders":
                kept = [r for r in kept if after_a or r["order_id"] != self.late_order]
                if after_a:
                    for r in kept:
                        if r["order_id"] == self.status_order:
                            r["status"] = "returned"
                    kept += [dict(r) for r in self.replayed_orders]
            if name == "events":
                kept = [e for e in kept if after_a or e["event_id"] not in self.late_events]
                if after_a:
                    kept += [dict(self.identification)] + [dict(e) for e in self.replayed_events]
            if name == "customers" and not after_a:
                kept = [r for r in kept if r["customer_id"] != self.orphan_customer]
            out[name] = (header, kept)
        order_ids = {r["order_id"] for r in out["orders"][1]}
        header, items = out["order_items"]
        out["order_items"] = (header, [r for r in items if r["order_id"] in order_ids])
        return out

    def orders_as_of(self, snapshot: dict, customer: str, as_of: date) -> list[dict]:
        seen, result = set(), []
        for r in snapshot["orders"][1]:
            if r["customer_id"] == customer and utc_day(r["ordered_at"]) <= as_of and r["order_id"] not in seen:
                seen.add(r["order_id"])
                result.append(r)
        return result


@pytest.fixture(scope="module")
def story(request):
    """The story's raw snapshots, written once per run in the run's shared folder (the full
    refreshes of B1 and B2 on DuckDB are shared builds: test_spark.py compares with B1 too)."""
    root = request.config.lifecycle_shared_dir / "incremental-story"
    with file_lock(root.with_suffix(".lock")):
        if not (root / "done").exists():
            generated = root / "generated"
            generate("demo", seed=11, out_dir=generated, fmt="csv", customers=400)
            (generated / "ground_truth.json").unlink()
            made = Story(read_tables(generated))
            for name, (last_day, after_a) in {"A": (CUT_A, False), "B1": (CUT_B1, True), "B2": (CUT_B2, True)}.items():
                write_tables(made.snapshot(last_day, after_a), root / name)
            (root / "done").touch()
    story = Story(read_tables(root / "generated"))
    story.dirs = {name: root / name for name in ("A", "B1", "B2")}
    story.snapshots = {name: read_tables(path) for name, path in story.dirs.items()}
    return story


def full_refresh_on_duckdb(shared_builds, story, step: str) -> Build:
    """The full refresh of a snapshot on DuckDB, once per run, made by the README's commands for
    your own data: B1 from files (LIFECYCLE_DATA_DIR), B2 from tables in schema raw
    (LIFECYCLE_RAW_SCHEMA), loaded into the DuckDB file first as a loader would."""
    def make(work_dir: Path) -> Build:
        database = work_dir / "lifecycle.duckdb"
        if step == "B1":
            return run_readme("LIFECYCLE_DATA_DIR=/path/to/files .venv/bin/python -m customer_lifecycle build",
                              engine="duckdb", work_dir=work_dir, env={"LIFECYCLE_DUCKDB_PATH": str(database)},
                              paths={"/path/to/files": story.dirs["B1"]})
        work_dir.mkdir(parents=True)
        con = duckdb.connect(str(database))
        con.execute("create schema raw")
        for path in sorted(story.dirs["B2"].glob("*.csv")):
            literal = "'" + str(path).replace("'", "''") + "'"
            con.execute(f"create table raw.{path.stem} as select * from read_csv({literal}, {CSV_OPTIONS})")
        con.close()
        built = run_readme("LIFECYCLE_RAW_SCHEMA=raw .venv/bin/python -m customer_lifecycle build", engine="duckdb",
                           work_dir=work_dir, env={"LIFECYCLE_DUCKDB_PATH": str(database)})
        # The build read the raw tables from the file they were loaded into, and publishing its
        # marts as a new file carried them over, every row.
        with duckdb.connect(str(database), read_only=True) as con:
            for path in sorted(story.dirs["B2"].glob("*.csv")):
                rows = con.execute(f'select count(*) from raw."{path.stem}"').fetchone()[0]
                assert rows == len(story.snapshots["B2"][path.stem][1]), path.stem
        return built

    full = shared_builds.get(f"incremental-full-{step}-duckdb", make)
    assert full.ok, f"full {step}:\n" + full.output[-5000:]
    return full


def compared_models(b) -> list[str]:
    return model_names(b, "marts") + INCREMENTAL_MODELS + ["stg_shop__quarantined_rows"]


def observe(b, story) -> dict:
    """What the checks below read of one step (the next step overwrites the same database)."""
    visitor = f"anonymous:{story.visitor}"
    return {
        "customers": {row[0]: dict(zip(["orders", "revenue", "stage", "first_seen"], row[1:])) for row in b.query(
            "select customer_id, lifetime_valid_orders, lifetime_net_revenue, current_stage, first_seen_date "
            "from {{ dim_customers }}")},
        "quarantine": b.query("select source_table, row_key, quarantine_reason from {{ stg_shop__quarantined_rows }}"),
        "visitor_spells": b.query(f"select count(*) from {{{{ fct_lifecycle_stage_history }}}} where person_id = '{visitor}'")[0][0],
        "visitor_sessions": b.query(f"select count(*) from {{{{ int_sessions }}}} where person_id = '{visitor}'")[0][0],
        "visitor_events_of_customer": b.query(
            f"select count(*) from {{{{ int_events__stitched }}}} where anonymous_id = '{story.visitor}' "
            f"and person_id = '{story.ident_customer}'")[0][0],
        "touched": {row[0] for row in b.query(
            "select unit_id from {{ int_changes__touched_units }} where unit_type = 'person'")},
        "persons": b.query("select count(*) from {{ int_persons }}")[0][0],
    }


def expected_recency_stage(orders: list[dict], on: date) -> str | None:
    """at_risk / churned from the raw orders alone (stage rules: churned first, then at_risk)."""
    valid = [utc_day(r["ordered_at"]) for r in orders if r["status"] != "cancelled" and utc_day(r["ordered_at"]) <= on]
    if not valid:
        return None
    idle = (on - max(valid)).days
    return "churned" if idle > CHURN_AFTER else "at_risk" if idle > AT_RISK_AFTER else None


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def engine(request):
    """DuckDB and PostgreSQL delete and append a touched person's rows (Spark, which overwrites the
    partitions that hold them: test_spark.py, the same tests)."""
    return request.param


NO_TESTS = ["build", "--exclude-resource-type", "test", "unit_test"]
B1, B2 = ("B1", "B1", {}), ("B2", "B2", {})
B3 = ("B3", "B2", {"as_of_date": TIME_ONLY_AS_OF.isoformat()})
# Spark (test_spark.py, its own runs) steps from A to B1 only: a Spark build costs minutes. The
# time-only stretch (B2 -> B3) runs on DuckDB and PostgreSQL, whose SQL for "touched" is the same macros.
STEPS = {"duckdb": [B1, B2, B3], "postgres": [B1, B2, B3]}


@pytest.fixture(scope="module")
def full_refresh(engine, story, shared_builds, tmp_path_factory, request):
    """The full refresh beside an incremental step. On DuckDB B1 and B2 are the README's own
    commands on the step's files or tables (shared builds, with every data test); otherwise
    `dbt build` of the step's snapshot on a fresh database, data tests left out (the point here is
    the tables; the other tests build with them). Called with (step, data_dir, dbt_vars,
    incremental); returns the full build."""
    server = request.getfixturevalue("pg_server") if engine == "postgres" else None

    def run(step, data_dir, dbt_vars, incremental):
        if engine == "duckdb" and step in ("B1", "B2"):
            return full_refresh_on_duckdb(shared_builds, story, step)
        full = build(engine, tmp_path_factory.mktemp(f"inc-{engine}-full-{step}"), data_dir=data_dir,
                     server=server, args=NO_TESTS, dbt_vars=dbt_vars)
        assert full.ok, f"full {step}:\n" + full.output[-5000:]
        return full

    return run


@pytest.fixture(scope="module")
def runs(engine, story, full_refresh, tmp_path_factory, request):
    """The incremental sequence A, B1, B2, B3 on one database (STEPS), each step compared with a
    full refresh on the same snapshot. The data tests run on DuckDB's incremental steps, where they
    check the rows each run wrote; A, the first full build, only sets up their state and leaves them
    out (the shared full refreshes run every data test on whole tables). On PostgreSQL the steps,
    like their full refreshes, leave them out: the comparison with the full refresh is what these
    runs check, and the PostgreSQL builds of the tiny fixture and the demo run every data test."""
    server = request.getfixturevalue("pg_server") if engine == "postgres" else None
    runs_args = None if engine == "duckdb" else NO_TESTS
    incremental = build(engine, tmp_path_factory.mktemp(f"inc-{engine}"), data_dir=story.dirs["A"], server=server,
                        args=NO_TESTS)
    assert incremental.ok, incremental.output[-5000:]
    steps = {"A": observe(incremental, story)}
    for step, data, dbt_vars in STEPS[engine]:
        incremental = build_again(incremental, data_dir=story.dirs[data], dbt_vars=dbt_vars, args=runs_args)
        assert incremental.ok, f"{step}:\n" + incremental.output[-5000:]
        full = full_refresh(step, story.dirs[data], dbt_vars, incremental)
        # Each step's comparison happens now: the next step overwrites the same database. A
        # quarantined row's id hashes its load, which is another name in the full refresh when
        # that reads tables (B2 on DuckDB, every PostgreSQL step: load markers of another time).
        assert_same_tables(incremental, full, compared_models(full), columns={
            "fct_build_record": BUILD_RECORD_DATA,
            "stg_shop__quarantined_rows": "source_table, row_key, quarantine_reason, raw_values"})
        steps[step] = observe(incremental, story)
    return steps


def test_each_increment_equals_a_full_refresh(runs, story):
    # The comparison itself runs inside the fixture, step by step (each step overwrites the
    # database). Here: every step was a run on the touched persons, not a recompute of everyone.
    for step in ("B1", "B2", "B3"):
        assert 0 < len(runs[step]["touched"]) < runs[step]["persons"], step
    # With no new rows, the persons touched are exactly those for whom a time rule fires between
    # the two as-of days: an order's day + 91 or + 181 (at_risk, churned), a referral's day + 366.
    snap = story.snapshots["B2"]
    fires = set()
    for r in snap["orders"][1]:
        if r["status"] != "cancelled":
            day = utc_day(r["ordered_at"])
            if any(CUT_B2 < day + timedelta(days=n + 1) <= TIME_ONLY_AS_OF for n in (AT_RISK_AFTER, CHURN_AFTER)):
                fires.add(r["customer_id"])
    for r in snap["referrals"][1]:
        if CUT_B2 < utc_day(r["referred_at"]) + timedelta(days=366) <= TIME_ONLY_AS_OF:
            fires.add(r["referrer_customer_id"])
    assert runs["B3"]["touched"] == fires


def test_late_order_status_change_and_orphan_parent(runs, story):
    a, b1 = runs["A"], runs["B1"]
    snap_a, snap_b1 = story.snapshots["A"], story.snapshots["B1"]
    # The late order: one more valid order for its customer than in A, as the raw rows say.
    for seen, snap, as_of in [(a, snap_a, CUT_A), (b1, snap_b1, CUT_B1)]:
        orders = story.orders_as_of(snap, story.late_customer, as_of)
        assert seen["customers"][story.late_customer]["orders"] == sum(r["status"] != "cancelled" for r in orders)
    assert b1["customers"][story.late_customer]["orders"] > a["customers"][story.late_customer]["orders"]
    # The status change: delivered -> returned keeps the order valid and takes its total out of net revenue.
    orders = story.orders_as_of(snap_b1, story.status_customer, CUT_B1)
    revenue = sum(Decimal(r["order_total"]) for r in orders if r["status"] not in ("cancelled", "returned"))
    assert Decimal(b1["customers"][story.status_customer]["revenue"]) == revenue
    returned = next(r for r in orders if r["order_id"] == story.status_order)
    assert returned["status"] == "returned" and Decimal(returned["order_total"]) > 0
    # The orphan: in A its orders are quarantined as orphans and the customer is unknown; in B1 they pass.
    orphan_orders = sorted(r["order_id"] for r in story.orders_as_of(snap_a, story.orphan_customer, date.max))
    quarantined = sorted(key for table, key, reason in a["quarantine"]
                         if table == "orders" and reason == "orphan_reference")
    assert quarantined == orphan_orders and orphan_orders
    assert story.orphan_customer not in a["customers"]
    assert not [row for row in b1["quarantine"] if row[2] == "orphan_reference"]
    orders = story.orders_as_of(snap_b1, story.orphan_customer, CUT_B1)
    assert b1["customers"][story.orphan_customer]["orders"] == sum(r["status"] != "cancelled" for r in orders)


def test_late_identification_moves_the_visitor_into_the_customer(runs, story):
    a, b1 = runs["A"], runs["B1"]
    assert a["visitor_spells"] > 0 and a["visitor_sessions"] > 0
    assert b1["visitor_spells"] == 0 and b1["visitor_sessions"] == 0
    # Before its first identification an anonymous_id's events belong to the first customer it is
    # identified as: all of the visitor's events are the customer's, and the customer was first seen
    # no later than the visitor's first event.
    visitor_events = [e for e in story.snapshots["B1"]["events"][1] if e["anonymous_id"] == story.visitor]
    assert b1["visitor_events_of_customer"] == len(visitor_events)
    first_visit = min(utc_day(e["occurred_at"]) for e in visitor_events)
    assert b1["customers"][story.ident_customer]["first_seen"] <= first_visit


def test_replays_are_quarantined_and_change_nothing_else(runs, story):
    duplicates: dict[str, int] = {}
    for table, _, reason in runs["B1"]["quarantine"]:
        if reason == "duplicate_row":
            duplicates[table] = duplicates.get(table, 0) + 1
    assert duplicates == {"orders": len(story.replayed_orders), "events": len(story.replayed_events)}


def test_time_alone_moves_the_stages_the_rules_say(runs, story):
    before = {c: v["stage"] for c, v in runs["B2"]["customers"].items()}
    after = {c: v["stage"] for c, v in runs["B3"]["customers"].items()}
    snap = story.snapshots["B2"]
    by_customer: dict[str, list[dict]] = {}
    for r in snap["orders"][1]:
        by_customer.setdefault(r["customer_id"], []).append(r)
    moved = {c for c in after if after[c] != before.get(c)}
    expected = {}
    for customer, orders in by_customer.items():
        was, now = expected_recency_stage(orders, CUT_B2), expected_recency_stage(orders, TIME_ONLY_AS_OF)
        if was != now:
            expected[customer] = now
    assert expected, "the stretch should move some customers"
    assert set(expected) <= moved
    assert all(after[c] == stage for c, stage in expected.items())
    # Anything else that moved can only be an advocacy referral window that closed.
    referrers = {r["referrer_customer_id"] for r in snap["referrals"][1]}
    assert moved - set(expected) <= referrers


def test_every_setting_is_placed_for_incremental_runs():
    """Every var of dbt_project.yml is either in the settings hash (a change recomputes everyone)
    or listed as outside it (only fully rebuilt models read it, or the digests see its effect)."""
    import re

    import yaml

    from .harness import PROJECT_DIR

    declared = set(yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["vars"])
    text = (PROJECT_DIR / "macros" / "incremental" / "incremental_settings.sql").read_text()
    lists = re.findall(r"macro (\w+)\(\) -%\}\s*\{\{ return\(\[(.*?)\]\) \}\}", text, re.S)
    placed = {name: set(re.findall(r"'(\w+)'", body)) for name, body in lists}
    hashed, outside = placed["incremental_settings"], placed["settings_outside_incremental_hash"]
    assert not hashed & outside
    assert hashed | outside == declared


def test_an_incremental_run_tests_the_rows_it_wrote(tmp_path):
    """In a run that updates the touched persons only, the data tests of a model incremental by
    person check the rows the run wrote (macro get_where_subquery); test_whole_tables checks the
    whole table. The witness: a null stage planted in int_lifecycle__stage_checkpoints for one
    person, then the same data built again, so that nobody is touched and the planted row stays.
    The run's own not_null test passes over it; the whole-table test finds it. (Its own build: it
    edits a table.)"""
    first = build("duckdb", tmp_path / "w", data_dir=TINY, dbt_vars=DIRTY_DATA_VARS, args=NO_TESTS)
    assert first.ok, first.output[-5000:]
    model = "int_lifecycle__stage_checkpoints"
    relation = first.relation(model)
    with duckdb.connect(first.duckdb_file) as con:
        person = con.execute(f"select min(person_id) from {relation}").fetchone()[0]
        assert person is not None  # the tiny fixture's customers with orders have checkpoints
        con.execute(f"update {relation} set stage = null where person_id = ?", [person])
    test = f"not_null_{model}_stage"
    again = build_again(first, dbt_vars=DIRTY_DATA_VARS, args=["build", "--select", f"+{model}"])
    assert again.ok and f"PASS {test}" in again.output, again.output[-5000:]
    assert again.query("select count(*) from {{ int_changes__touched_units }}") == [(0,)]
    assert again.query(f"select count(*) > 0 from {relation} where stage is null") == [(True,)]
    whole = build_again(first, dbt_vars={**DIRTY_DATA_VARS, "test_whole_tables": True},
                        args=["test", "--select", model])
    assert not whole.ok and re.search(rf"FAIL \d+ {test}", whole.output), whole.output[-5000:]


def test_a_daily_run_leaves_out_the_unit_tests(tmp_path):
    """`build` on a warehouse that has a build already is a daily run: dbt's unit tests (which
    check the SQL on given rows, not the data) stay out; a first build runs them (and so does
    --full-refresh, which makes a fresh file). The data tests are left out here by the
    environment, and the daily run keeps that too."""
    env = {"LIFECYCLE_TARGET": "duckdb", "LIFECYCLE_DUCKDB_PATH": str(tmp_path / "lifecycle.duckdb"),
           "LIFECYCLE_DATA_DIR": str(TINY), "LIFECYCLE_RAW_SCHEMA": "", "DBT_EXCLUDE_RESOURCE_TYPES": "test"}

    def ran(args: list[str]) -> Counter:
        done = run_cli([*args, "--vars", json.dumps(pinned_vars(DIRTY_DATA_VARS))], env, tmp_path)
        assert done.returncode == 0, done.stdout[-5000:]
        results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
        return Counter(result["unique_id"].split(".")[0] for result in results)

    first = ran(["build"])
    assert first["unit_test"] > 0 and first["model"] > 0 and first["test"] == 0
    daily = ran(["build"])
    assert daily["unit_test"] == 0 and daily["model"] == first["model"] and daily["test"] == 0
