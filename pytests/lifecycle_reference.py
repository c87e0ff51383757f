"""A plain-Python re-implementation of the lifecycle rules (../shared/design/marts.md section 2 and
DECISIONLOG.md), written independently of the SQL: it walks every person day by day from first
seen to as_of_date (the brute force the SQL avoids) and collapses the days into spells.

It reads only staged tables (stg_shop__*) of a DuckDB build, and stitches identities itself.
"""
from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

DEFAULTS = dict(at_risk_after_days=90, churn_after_days=180, loyalty_min_orders=4,
                nps_promoter_min_score=9, advocacy_referral_window_days=365,
                consideration_event_types=("product_view", "add_to_cart", "begin_checkout", "signup", "login"))


@dataclass
class PersonFacts:
    seen_days: set
    consideration_days: list
    valid_order_days: list
    nps: list  # (responded_at, response_id, score)
    referral_days: list


def load(db_path: str, schema: str = "main_staging") -> dict:
    con = duckdb.connect(db_path, read_only=True)
    try:
        def rows(sql):
            return con.sql(sql).fetchall()
        return {
            "customers": rows(f"select customer_id, signed_up_at from {schema}.stg_shop__customers"),
            "orders": rows(f"select customer_id, order_date, status from {schema}.stg_shop__orders"),
            "events": rows(f"select event_id, anonymous_id, customer_id, event_type, occurred_at from {schema}.stg_shop__events"),
            "nps": rows(f"select customer_id, responded_at, response_id, score from {schema}.stg_shop__nps_responses"),
            "referrals": rows(f"select referrer_customer_id, referred_at from {schema}.stg_shop__referrals"),
            "email_events": rows(f"select occurred_at from {schema}.stg_shop__email_events"),
        }
    finally:
        con.close()


def default_as_of(data: dict) -> date:
    days = [d for _, d, _ in data["orders"]]
    days += [ts.date() for *_, ts in data["events"]]
    days += [ts.date() for (ts,) in data["email_events"]]
    days += [ts.date() for _, ts, _, _ in data["nps"]]
    days += [ts.date() for _, ts in data["referrals"]]
    days += [ts.date() for _, ts in data["customers"] if ts is not None]
    return max(days)


def stitch(events) -> dict:
    """event_id -> person_id. Latest identification at or before the event; before the first
    identification, the first identified customer; never identified: 'anonymous:<id>'."""
    by_device = defaultdict(list)
    for event_id, anonymous_id, customer_id, _, occurred_at in events:
        by_device[anonymous_id].append((occurred_at, event_id, customer_id))
    owner = {}
    for anonymous_id, device_events in by_device.items():
        device_events.sort()
        first = next((c for _, _, c in device_events if c is not None), None)
        current = None
        for _, event_id, customer_id in device_events:
            if customer_id is not None:
                current = customer_id
            person = current or first
            owner[event_id] = person if person is not None else f"anonymous:{anonymous_id}"
    return owner


def person_facts(data: dict, as_of: date, rules: dict) -> dict[str, PersonFacts]:
    facts = defaultdict(lambda: PersonFacts(set(), [], [], [], []))
    # Only what was known on as_of_date: an identification after it does not stitch anything yet.
    owner = stitch([e for e in data["events"] if e[4].date() <= as_of])
    for event_id, _, _, event_type, occurred_at in data["events"]:
        day = occurred_at.date()
        if day > as_of:
            continue
        f = facts[owner[event_id]]
        f.seen_days.add(day)
        if event_type in rules["consideration_event_types"]:
            f.consideration_days.append(day)
    for customer_id, signed_up_at in data["customers"]:
        if signed_up_at is not None and signed_up_at.date() <= as_of:
            f = facts[customer_id]
            f.seen_days.add(signed_up_at.date())
            f.consideration_days.append(signed_up_at.date())
    for customer_id, day, status in data["orders"]:
        if day > as_of:
            continue
        f = facts[customer_id]
        f.seen_days.add(day)
        f.consideration_days.append(day)
        if status != "cancelled":
            f.valid_order_days.append(day)
    for customer_id, responded_at, response_id, score in data["nps"]:
        if responded_at.date() <= as_of:
            facts[customer_id].seen_days.add(responded_at.date())
            facts[customer_id].nps.append((responded_at, response_id, score))
    for referrer, referred_at in data["referrals"]:
        if referred_at.date() <= as_of:
            facts[referrer].seen_days.add(referred_at.date())
            facts[referrer].referral_days.append(referred_at.date())
    for f in facts.values():
        f.consideration_days.sort()
        f.valid_order_days.sort()
        f.nps.sort()
        f.referral_days.sort()
    return facts


def stage_on(f: PersonFacts, d: date, rules: dict) -> str:
    n = bisect.bisect_right(f.valid_order_days, d)
    if n > 0:
        since_last = (d - f.valid_order_days[n - 1]).days
        if since_last > rules["churn_after_days"]:
            return "churned"
        if since_last > rules["at_risk_after_days"]:
            return "at_risk"
        if n >= rules["loyalty_min_orders"]:
            answers = [a for a in f.nps if a[0].date() <= d]
            promoter = bool(answers) and answers[-1][2] >= rules["nps_promoter_min_score"]
            k = bisect.bisect_right(f.referral_days, d)
            referred = k > 0 and (d - f.referral_days[k - 1]).days <= rules["advocacy_referral_window_days"]
            return "advocacy" if promoter or referred else "loyalty"
        return "retention" if n >= 2 else "conversion"
    if f.consideration_days and f.consideration_days[0] <= d:
        return "consideration"
    return "awareness"


def stage_history(db_path: str, schema: str = "main_staging", as_of: date | None = None, **overrides):
    """{(person_id, valid_from): (valid_to, stage)} computed day by day."""
    rules = {**DEFAULTS, **overrides}
    data = load(db_path, schema)
    as_of = as_of or default_as_of(data)
    spells = {}
    for person_id, f in person_facts(data, as_of, rules).items():
        day = min(f.seen_days)
        current, start = None, None
        while day <= as_of:
            stage = stage_on(f, day, rules)
            if stage != current:
                if current is not None:
                    spells[(person_id, start)] = (day, current)
                current, start = stage, day
            day += timedelta(days=1)
        spells[(person_id, start)] = (None, current)
    return spells
