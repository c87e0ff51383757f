"""Tests of the synthetic data generator (customer_lifecycle.generator).

Datasets are generated once per session into a temporary directory:
  demo     the demo preset, seed 42, CSV (same as the bundled seeds, without the raw_ prefix)
  small    demo with customers=300 (determinism checks), seeds 42, 42 and 43
  dirty    demo, seed 42, bad_rate 0.01
  pure     demo with email_effects=False (every valid repeat order is a BG/NBD purchase)
  medium   the medium preset (Parquet), for statistical checks with tight bounds
  clv      the orders-only preset with 20,000 customers (BG/NBD check without visits)
  chunked  the large preset scaled down (events etc. written as directories of parts)

Statistical checks state where each tolerance comes from; all use 4 standard errors.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from customer_lifecycle import contract
from customer_lifecycle.generator import generate
from customer_lifecycle.generator import ground_truth as gt_module
from customer_lifecycle.generator.theory import bgnbd_expected_repeat

REPO = Path(__file__).resolve().parent.parent
FUNNEL = ["page_view", "product_view", "add_to_cart", "begin_checkout", "purchase"]
SESSION_GAP = pd.Timedelta(minutes=30)
Z = 4.0   # standard errors allowed in every statistical assertion


# ------------------------------------------------------------------------------------------
# Fixtures and readers
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def base(tmp_path_factory):
    return tmp_path_factory.mktemp("generator")


def _gen(base: Path, name: str, *args, **kwargs) -> Path:
    out = base / name
    if not (out / "ground_truth.json").exists():
        generate(*args, out_dir=out, **kwargs)
    return out


@pytest.fixture(scope="session")
def demo(base):
    return _gen(base, "demo", "demo", 42, fmt="csv")


@pytest.fixture(scope="session")
def dirty(base):
    return _gen(base, "dirty", "demo", 42, fmt="csv", bad_rate=0.01)


@pytest.fixture(scope="session")
def pure(base):
    return _gen(base, "pure", "demo", 42, fmt="csv", email_effects=False)


@pytest.fixture(scope="session")
def medium(base):
    return _gen(base, "medium", "medium", 42)


@pytest.fixture(scope="session")
def clv(base):
    return _gen(base, "clv", "clv", 42, customers=20000)


def gt(d: Path) -> dict:
    return json.loads((d / "ground_truth.json").read_text())


def files_of(d: Path, table: str) -> list[Path]:
    name = gt(d)["files"][table]
    p = d / name
    return sorted(p.glob("part-*")) if p.is_dir() else [p]


def read(d: Path, table: str, columns: list[str] | None = None) -> pd.DataFrame:
    frames = []
    for f in files_of(d, table):
        if f.suffix == ".csv":
            frames.append(pd.read_csv(f, dtype=str, keep_default_na=False, na_values=[""], usecols=columns))
        else:
            frames.append(pq.read_table(f, columns=columns).to_pandas())
    df = pd.concat(frames, ignore_index=True)
    return df.astype(object).where(df.notna(), None)


def utc(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, utc=True, format="ISO8601")


def tree_hash(d: Path) -> dict[str, str]:
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file()}


def binom_ok(k: int, n: int, p: float) -> tuple[bool, str]:
    se = math.sqrt(p * (1 - p) / n)
    return abs(k / n - p) <= Z * se, f"{k}/{n}={k / n:.4f} vs {p:.4f} (binomial, 4 SE = {Z * se:.4f})"


# ------------------------------------------------------------------------------------------
# Determinism
# ------------------------------------------------------------------------------------------
def test_same_seed_same_bytes_different_seed_differs(base):
    a = _gen(base, "small_a", "demo", 42, fmt="csv", customers=300)
    b = _gen(base, "small_b", "demo", 42, fmt="csv", customers=300)
    c = _gen(base, "small_c", "demo", 43, fmt="csv", customers=300)
    ha, hb, hc = tree_hash(a), tree_hash(b), tree_hash(c)
    assert ha == hb
    assert set(ha) == set(hc)
    differing = [f for f in ha if ha[f] != hc[f]]
    # campaigns (a fixed list) may coincide; tables drawn from the seed must differ
    for table in ("customers", "orders", "order_items", "products", "events", "email_events", "exchange_rates",
                  "marketing_spend"):
        assert f"{table}.csv" in differing


def test_bundled_demo_seeds_are_current(demo):
    """seeds/demo holds exactly raw_<table>.csv and ground_truth.json of preset demo, seed 42
    (besides dbt's seed properties, *.yml)."""
    seeds = REPO / "seeds" / "demo"
    expected = {f"raw_{t}.csv" for t in contract.TABLES} | {"ground_truth.json"}
    assert {p.name for p in seeds.iterdir() if p.suffix != ".yml"} == expected
    for t in contract.TABLES:
        assert (seeds / f"raw_{t}.csv").read_bytes() == (demo / f"{t}.csv").read_bytes(), t
    bundled, fresh = gt(seeds), gt(demo)
    assert bundled["prefix"] == "raw_" and bundled["seed"] == 42 and bundled["preset"] == "demo"
    bundled["prefix"] = fresh["prefix"]
    bundled["files"] = fresh["files"]
    assert bundled == fresh


def test_demo_size(demo):
    """About 2,000 customers, 30k-80k events, under 15 MB of CSV."""
    r = gt(demo)["realised"]
    assert 1800 <= r["customers"] <= 2200
    assert 30_000 <= r["events"] <= 80_000
    size = sum(p.stat().st_size for p in demo.glob("*.csv"))
    assert size < 15 * 2**20, size


# ------------------------------------------------------------------------------------------
# Contract
# ------------------------------------------------------------------------------------------
def test_every_table_has_exactly_the_contract_columns(demo, medium, clv):
    for d in (demo, medium, clv):
        g = gt(d)
        for table in g["tables_written"]:
            for f in files_of(d, table):
                if f.suffix == ".csv":
                    header = f.read_text().split("\n", 1)[0].split(",")
                    assert header == contract.columns(table), (f, header)
                else:
                    schema = pq.read_schema(f)
                    assert schema.names == contract.columns(table), f
                    assert all(str(t) == "string" for t in schema.types), f
    assert set(gt(demo)["tables_written"]) == set(contract.TABLES)
    assert set(gt(clv)["tables_written"]) == {"customers", "orders", "order_items", "products", "exchange_rates"}


def test_rows_match_ground_truth_counts(demo, medium):
    for d in (demo, medium):
        g = gt(d)
        for table, n in g["realised"]["rows"].items():
            assert len(read(d, table)) == n, table


@pytest.fixture(scope="session")
def demo_tables(demo):
    return {t: read(demo, t) for t in contract.TABLES}


def test_keys_unique_and_not_null(demo_tables):
    for table, df in demo_tables.items():
        spec = contract.raw_contract()[table]
        key = spec["key"]
        assert df[key].notna().all().all(), table
        assert not df.duplicated(key).any(), table
        for col in spec.get("not_null", []):
            assert df[col].notna().all(), (table, col)


def test_references_resolve(demo_tables):
    for table, df in demo_tables.items():
        for col, parent in contract.raw_contract()[table].get("references", {}).items():
            pk = contract.raw_contract()[parent]["key"][0]
            vals = df[col].dropna()
            missing = set(vals) - set(demo_tables[parent][pk])
            assert not missing, (table, col, list(missing)[:5])


def test_vocabularies_and_value_formats(demo_tables):
    ts_re = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2}|T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2}))$")
    for table, df in demo_tables.items():
        spec = contract.raw_contract()[table]
        for col, var in spec.get("codes", {}).items():
            assert set(df[col]) <= set(contract.vocabulary(var)), (table, col)
        for col, typ in spec["columns"].items():
            vals = df[col].dropna()
            pattern = {"timestamp": ts_re, "date": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
                       "money": re.compile(r"^\d+\.\d{2}$"), "integer": re.compile(r"^\d+$"),
                       "number": re.compile(r"^\d+\.\d{6}$")}.get(typ)
            if pattern is not None:
                bad = vals[~vals.str.match(pattern)]
                assert bad.empty, (table, col, bad.head().tolist())
        for col, (lo, hi) in spec.get("ranges", {}).items():
            v = pd.to_numeric(df[col])
            assert (lo is None or (v >= lo).all()) and (hi is None or (v <= hi).all()), (table, col)
    ev = demo_tables["events"]
    assert set(ev["channel"]) == {"organic_search", "paid_search", "social", "email", "direct", "referral"}
    assert set(ev["device"]) == {"desktop", "mobile", "tablet"}
    assert set(demo_tables["products"]["tier"]) == {"basic", "standard", "premium"}
    assert set(demo_tables["orders"]["currency"]) == {"USD", "EUR", "GBP"}
    assert set(demo_tables["exchange_rates"]["currency"]) == {"EUR", "GBP"}


def test_timestamps_are_in_range_and_about_10_percent_carry_an_offset(demo, demo_tables):
    g = gt(demo)
    start = pd.Timestamp(g["date_range"]["start"], tz="UTC")
    end = pd.Timestamp(g["date_range"]["end_exclusive_utc"], tz="UTC")
    for table, df in demo_tables.items():
        for col, typ in contract.raw_contract()[table]["columns"].items():
            if typ == "timestamp":
                t = utc(df[col].dropna())
                assert t.min() >= start and t.max() < end, (table, col)
    share = g["parameters"]["timestamp_local_offset_share"]
    z_share = g["parameters"]["timestamp_z_share"]
    for table, col in (("events", "occurred_at"), ("orders", "ordered_at")):
        s = demo_tables[table][col]
        ok, msg = binom_ok(int(s.str.match(r".*[+-]\d{2}:\d{2}$").sum()), len(s), share)
        assert ok, (table, "offset", msg)
        ok, msg = binom_ok(int(s.str.endswith("Z").sum()), len(s), z_share)
        assert ok, (table, "Z", msg)


def test_order_total_is_the_exact_sum_of_its_items(demo_tables, medium):
    for orders, items in ((demo_tables["orders"], demo_tables["order_items"]),
                          (read(medium, "orders"), read(medium, "order_items"))):
        cents = (pd.to_numeric(items["unit_price"]) * 100).round().astype(np.int64) * items["quantity"].astype(np.int64)
        line_sum = cents.groupby(items["order_id"]).sum()
        total = (pd.to_numeric(orders.set_index("order_id")["order_total"]) * 100).round().astype(np.int64)
        assert set(line_sum.index) == set(total.index)      # every order has at least one line
        assert (line_sum.reindex(total.index) == total).all()


# ------------------------------------------------------------------------------------------
# Journeys: sessions, identification
# ------------------------------------------------------------------------------------------
def sessionise(ev: pd.DataFrame) -> pd.DataFrame:
    ev = ev.assign(ts=utc(ev["occurred_at"]))
    ev = ev.sort_values(["anonymous_id", "ts", "event_id"], kind="stable").reset_index(drop=True)
    new = (ev["anonymous_id"] != ev["anonymous_id"].shift()) | (ev["ts"] - ev["ts"].shift() > SESSION_GAP)
    return ev.assign(session=new.cumsum())


@pytest.fixture(scope="session")
def demo_sessions(demo_tables):
    return sessionise(demo_tables["events"])


def test_sessions_are_the_simulated_visits(demo, demo_sessions):
    ev, g = demo_sessions, gt(demo)
    assert ev["session"].nunique() == g["realised"]["visits"]
    per = ev.groupby("session").agg(channels=("channel", "nunique"), devices=("device", "nunique"),
                                    first=("ts", "min"), last=("ts", "max"))
    assert (per["channels"] == 1).all() and (per["devices"] == 1).all()
    assert (per["last"] - per["first"] <= pd.Timedelta(minutes=25)).all()


def test_funnel_steps_are_never_skipped(demo_sessions):
    ev = demo_sessions[demo_sessions["event_type"].isin(FUNNEL)]
    first = ev.groupby(["session", "event_type"])["ts"].min().unstack()
    for a, b in zip(FUNNEL, FUNNEL[1:]):
        reached = first[b].notna()
        assert first.loc[reached, a].notna().all(), f"{b} without {a}"
        assert (first.loc[reached, a] <= first.loc[reached, b]).all(), f"{b} before {a}"
    assert first["page_view"].notna().all()


def test_identification_semantics(demo, demo_sessions):
    """customer_id is null until an identifying event (signup, login, purchase) on the anonymous id
    and set from that event on; it only changes at an identifying event (shared devices)."""
    ev = demo_sessions
    ident = ev["event_type"].isin(["signup", "login", "purchase"])
    assert ev.loc[ident, "customer_id"].notna().all()
    g = ev.groupby("anonymous_id", sort=False)
    prev = g["customer_id"].shift()
    first_row = g.cumcount() == 0
    became_known = ev["customer_id"].notna() & (prev.isna() | first_row)
    assert ident[became_known].all(), "customer_id appears without an identifying event"
    lost = ev["customer_id"].isna() & prev.notna() & ~first_row
    assert not lost.any(), "customer_id disappears once set"
    changed = ev["customer_id"].notna() & prev.notna() & (ev["customer_id"] != prev) & ~first_row
    assert ident[changed].all()
    shared = gt(demo)["realised"]["shared_anonymous_ids"]
    rate = gt(demo)["parameters"]["shared_anonymous_id_rate"]
    assert len(shared) == round(rate * gt(demo)["realised"]["customers"])
    for s in shared:
        ids = ev.loc[ev["anonymous_id"] == s["anonymous_id"]]
        seq = ids["customer_id"].dropna().drop_duplicates().tolist()
        assert seq == [s["first_customer_id"], s["second_customer_id"]]
        switch = ids.loc[ids["customer_id"] == s["second_customer_id"], "ts"].min()
        assert switch == pd.Timestamp(s["second_identified_at"], tz="UTC")
    # anonymous ids whose customer changes are exactly the recorded shared ones
    multi = ev.dropna(subset=["customer_id"]).groupby("anonymous_id")["customer_id"].nunique()
    assert set(multi[multi > 1].index) == {s["anonymous_id"] for s in shared}


def test_customers_orders_and_events_agree(demo, demo_tables, demo_sessions):
    ev, cu, od = demo_sessions, demo_tables["customers"], demo_tables["orders"]
    # everyone with an identifying event is a customer and vice versa
    assert set(ev["customer_id"].dropna()) == set(cu["customer_id"])
    # signed_up_at is the customer's signup event; guests (no signup) have none
    su = ev[ev["event_type"] == "signup"].groupby("customer_id")["ts"].min()
    cu_su = utc(cu.set_index("customer_id")["signed_up_at"].dropna())
    assert set(su.index) == set(cu_su.index)
    assert (cu_su.sort_index() == su.sort_index()).all()
    # every order is one purchase event, at the same instant, by the same customer
    pur = ev[ev["event_type"] == "purchase"].set_index("order_id")
    o = od.set_index("order_id")
    assert set(pur.index) == set(o.index)
    assert (pur.loc[o.index, "customer_id"] == o["customer_id"]).all()
    assert (pur.loc[o.index, "ts"] == utc(o["ordered_at"])).all()
    # acquisition_channel is the channel of the customer's first visit (customers on shared devices aside)
    shared = {s["second_customer_id"] for s in gt(demo)["realised"]["shared_anonymous_ids"]}
    anon_of = ev.dropna(subset=["customer_id"]).groupby("anonymous_id")["customer_id"].first()
    first = ev.assign(owner=ev["anonymous_id"].map(anon_of)).dropna(subset=["owner"])
    first = first.sort_values("ts").groupby("owner")["channel"].first()
    acq = cu.set_index("customer_id")["acquisition_channel"]
    keep = [c for c in acq.index if c not in shared and c in first.index]
    assert (first.loc[keep] == acq.loc[keep]).all()
    # referred customers are exactly those acquired through 'referral'
    ref = demo_tables["referrals"]
    assert set(ref["referred_customer_id"]) == set(acq[acq == "referral"].index)


def test_visits_of_a_person_are_more_than_30_minutes_apart(demo_sessions):
    ev = demo_sessions.dropna(subset=["customer_id"])
    s = ev.groupby("session").agg(cust=("customer_id", "last"), start=("ts", "min"), end=("ts", "max"))
    s = s.sort_values(["cust", "start"])
    gap = s["start"] - s.groupby("cust")["end"].shift()
    assert (gap.dropna() > SESSION_GAP).all()


# ------------------------------------------------------------------------------------------
# Ground truth recovered from the output
# ------------------------------------------------------------------------------------------
def test_funnel_step_conversion_by_channel_and_device(medium):
    """Step conversion per channel x device x step equals the ground-truth probability within
    4 binomial standard errors (cells with at least 50 sessions at the previous step)."""
    g = gt(medium)
    ev = read(medium, "events", ["event_id", "anonymous_id", "event_type", "occurred_at", "channel", "device"])
    ev = sessionise(ev)
    assert ev["session"].nunique() == g["realised"]["visits"]
    steps = ev.loc[ev["event_type"].isin(FUNNEL), ["session", "event_type", "channel", "device"]]
    reached = steps.drop_duplicates(["session", "event_type"])
    counts = reached.groupby(["channel", "device", "event_type"]).size().unstack(fill_value=0)[FUNNEL]
    probs = g["parameters"]["funnel_step_probabilities"]
    checked = 0
    for (ch, dev), row in counts.iterrows():
        assert [int(x) for x in row] == g["realised"]["funnel_sessions"][ch][dev]
        for a, b in zip(FUNNEL, FUNNEL[1:]):
            n, k = int(row[a]), int(row[b])
            if n < 50:
                continue
            ok, msg = binom_ok(k, n, probs[ch][dev][b])
            assert ok, (ch, dev, b, msg)
            checked += 1
    assert checked >= 60     # 6 channels x 3 devices x 4 steps, a few thin cells aside


def test_return_and_cancellation_rates(medium):
    g = gt(medium)
    prm = g["parameters"]
    od = read(medium, "orders")
    n_all = len(od)
    ok, msg = binom_ok(int((od["status"] == "cancelled").sum()), n_all, prm["cancel_rate"])
    assert ok, ("cancel", msg)
    # a returned order shows 'returned' once return_visible_after_days old: count only those
    end = pd.Timestamp(g["date_range"]["end_exclusive_utc"], tz="UTC")
    old = od[(od["status"] != "cancelled") & (utc(od["ordered_at"]) <= end - pd.Timedelta(days=prm["return_visible_after_days"]))]
    ok, msg = binom_ok(int((old["status"] == "returned").sum()), len(old), prm["return_rate"])
    assert ok, ("return", msg)


def test_email_open_and_click_rates(medium):
    """Campaign types sent at most once per customer and campaign (welcome, newsletter, loyalty):
    unique opens / delivered and clicks / opens equal the parameters within 4 binomial SE.
    Only sends delivered at least 3 days before the end (opens happen within 3 days)."""
    g = gt(medium)
    prm = g["parameters"]
    ee = read(medium, "email_events")
    cp = read(medium, "campaigns").set_index("campaign_id")["campaign_type"]
    ee["ctype"] = ee["campaign_id"].map(cp)
    ee["ts"] = utc(ee["occurred_at"])
    end = pd.Timestamp(g["date_range"]["end_exclusive_utc"], tz="UTC")
    pairs = ee.groupby(["campaign_id", "customer_id", "event_type"]).agg(ts=("ts", "min"), ctype=("ctype", "first"))
    table = pairs["ts"].unstack("event_type")
    table["ctype"] = pairs["ctype"].groupby(level=[0, 1]).first()
    for ctype in ("welcome", "newsletter", "loyalty"):
        t = table[(table["ctype"] == ctype) & (table["delivered"] <= end - pd.Timedelta(days=3))]
        opened = t["open"].notna()
        ok, msg = binom_ok(int(opened.sum()), len(t), prm["open_rate"][ctype])
        assert ok, (ctype, "open", msg)
        ok, msg = binom_ok(int(t.loc[opened, "click"].notna().sum()), int(opened.sum()), prm["click_rate"][ctype])
        assert ok, (ctype, "click", msg)
    # unsubscribed customers get nothing afterwards
    unsub = ee[ee["event_type"] == "unsubscribe"].groupby("customer_id")["ts"].min()
    sent = ee[ee["event_type"] == "sent"]
    after = sent["ts"] > sent["customer_id"].map(unsub)
    assert not after.any()


def _repeat_check(orders: pd.DataFrame, end: pd.Timestamp, bt: dict):
    """Observed mean valid repeat orders per buyer vs the BG/NBD E[X(T_i)], T_i = days from the
    first valid order to the end. Tolerance: 4 standard errors of the mean of x_i - E[X(T_i)]
    (independent customers; sample standard deviation)."""
    v = orders[orders["status"] != "cancelled"].assign(ts=lambda d: utc(d["ordered_at"]))
    per = v.groupby("customer_id")["ts"].agg(["min", "count"])
    T = (end - per["min"]).dt.total_seconds().to_numpy() / 86400
    x = per["count"].to_numpy() - 1
    ex = bgnbd_expected_repeat(T, bt["r"], bt["alpha"], bt["a"], bt["b"])
    resid = x - ex
    se = resid.std(ddof=1) / math.sqrt(len(x))
    assert abs(resid.mean()) <= Z * se, f"mean repeat {x.mean():.4f} vs E[X] {ex.mean():.4f} (4 SE = {Z * se:.4f})"
    return x.mean(), ex.mean()


def test_bgnbd_repeat_purchases_orders_only(clv):
    g = gt(clv)
    end = pd.Timestamp(g["date_range"]["end_exclusive_utc"], tz="UTC")
    _repeat_check(read(clv, "orders"), end, g["parameters"]["btyd"])


def test_bgnbd_repeat_purchases_through_the_funnel(pure):
    """With email_effects off every valid order after the first comes from the BTYD visit
    process (Poisson thinning of visits), so the same check applies to the full event world."""
    g = gt(pure)
    assert g["realised"]["orders_by_kind"]["email_driven"] == 0
    end = pd.Timestamp(g["date_range"]["end_exclusive_utc"], tz="UTC")
    _repeat_check(read(pure, "orders"), end, g["parameters"]["btyd"])


def test_order_values_follow_gamma_gamma_mean(medium):
    """Valid order totals converted to USD average p*gamma/(q-1). Baskets realise each drawn value
    only approximately (catalogue prices, whole quantities; about +3% on average): 8% tolerance,
    which also covers the sampling error (4 SE is about 2% at this size)."""
    g = gt(medium)
    od = read(medium, "orders")
    fx = read(medium, "exchange_rates")
    v = od[od["status"] != "cancelled"].copy()
    v["day"] = utc(v["ordered_at"]).dt.strftime("%Y-%m-%d")
    rate = fx.assign(r=pd.to_numeric(fx["rate_to_reporting"])).set_index(["rate_date", "currency"])["r"]
    key = pd.MultiIndex.from_arrays([v["day"], v["currency"]])
    r = np.where(v["currency"] == "USD", 1.0, rate.reindex(key).to_numpy())
    usd = pd.to_numeric(v["order_total"]).to_numpy() * r
    expected = g["derived"]["gamma_gamma_mean_order_value_usd"]
    assert abs(usd.mean() / expected - 1) < 0.08, (usd.mean(), expected)


def test_marketing_spend_and_acquisition(medium):
    g = gt(medium)
    ms = read(medium, "marketing_spend")
    days = g["date_range"]["days"]
    assert len(ms) == days * 2 and set(ms["channel"]) == {"paid_search", "social"}
    cu = read(medium, "customers")
    for ch, m in g["realised"]["marketing"].items():
        spend = pd.to_numeric(ms.loc[ms["channel"] == ch, "spend"]).sum()
        assert abs(spend - m["spend_usd"]) < 0.01
        new = int((cu["acquisition_channel"] == ch).sum())
        assert new == m["new_customers"]
        # new customers ~ Poisson(spend / cost_per_new_visitor) x P(identified | channel):
        # CAC within 4 SE of the expected value (relative SE of a count ~ 1/sqrt(new))
        exp_cac = g["derived"]["expected_cac_usd"][ch]
        assert abs(spend / new / exp_cac - 1) <= Z / math.sqrt(new) + 0.03, (ch, spend / new, exp_cac)


def test_nps_scores_depend_on_returns(medium):
    """Customers answering after a returned order score lower (the score model subtracts
    returned_penalty); compared on customers' mean scores, NPS of 0..10 integers."""
    nps = read(medium, "nps_responses")
    od = read(medium, "orders")
    ret = set(od.loc[od["status"] == "returned", "customer_id"])
    s = pd.to_numeric(nps["score"])
    with_ret = s[nps["customer_id"].isin(ret)]
    without = s[~nps["customer_id"].isin(ret)]
    assert s.between(0, 10).all()
    assert with_ret.mean() < without.mean() - 0.5


# ------------------------------------------------------------------------------------------
# Bad rows
# ------------------------------------------------------------------------------------------
_DEC = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_INT = re.compile(r"^[+-]?\d+$")


def _joined(frame: pd.DataFrame, null: str = "<null>") -> pd.Series:
    """Row values as one text joined with '|', nulls as `null` (column-wise, vectorised)."""
    text = frame.astype(object).where(frame.notna(), null).astype(str)
    out = text.iloc[:, 0]
    for c in text.columns[1:]:
        out = out + "|" + text[c]
    return out


def reference_quarantine(tables: dict[str, pd.DataFrame], max_valid_at: pd.Timestamp) -> dict[str, pd.Series]:
    """A plain re-implementation of the staging checks (first failing check wins, in
    contract.REASON_CODES order). Returns the reason (or None) per row of each table."""
    spec_all = contract.raw_contract()
    order = ["customers", "products", "campaigns", "exchange_rates", "orders", "order_items", "events",
             "email_events", "nps_responses", "referrals", "marketing_spend"]
    staged_keys: dict[str, set] = {}
    out = {}
    for table in order:
        if table not in tables:
            continue
        df = tables[table].apply(lambda c: c.str.strip()).replace("", None)
        spec = spec_all[table]
        types, key = spec["columns"], spec["key"]
        reason = pd.Series([None] * len(df), index=df.index, dtype=object)
        parsed = {}

        def setr(mask, code):
            reason[(reason.isna()) & mask] = code

        setr(df[key].isna().any(axis=1), "missing_key")
        for c in spec.get("not_null", []):
            setr(df[c].isna(), "missing_value")
        for c, t in types.items():
            if t in ("timestamp", "date"):
                v = df[c]
                if t == "timestamp":
                    p = pd.to_datetime(v, utc=True, format="ISO8601", errors="coerce")
                else:
                    p = pd.to_datetime(v.where(v.fillna("").str.match(r"^\d{4}-\d{2}-\d{2}$")),
                                       format="%Y-%m-%d", errors="coerce").dt.tz_localize("UTC")
                parsed[c] = p
                setr(v.notna() & p.isna(), "unparseable_timestamp")
        for c, t in types.items():
            if t in ("money", "number", "integer"):
                v = df[c]
                ok = v.fillna("").str.match(_INT if t == "integer" else _DEC)
                parsed[c] = pd.to_numeric(v.where(ok), errors="coerce")
                setr(v.notna() & ~ok, "unparseable_number")
        for c, t in types.items():
            if t == "timestamp":
                setr(parsed[c] > max_valid_at, "future_timestamp")
            if t == "date":
                setr(parsed[c] > max_valid_at.normalize(), "future_timestamp")
        for c, t in types.items():
            if t == "money":
                setr(parsed[c] < 0, "negative_amount")
        for c, (lo, hi) in spec.get("ranges", {}).items():
            if lo is not None:
                setr(parsed[c] < lo, "out_of_range")
            if hi is not None:
                setr(parsed[c] > hi, "out_of_range")
        for c, var in spec.get("codes", {}).items():
            setr(df[c].notna() & ~df[c].str.lower().isin(contract.vocabulary(var)), "unknown_code")
        typed = df.copy()
        for c, p in parsed.items():
            typed[c] = p.astype(str)
        free = reason.isna()
        h = _joined(typed[free])
        k = _joined(typed.loc[free, key])
        nuniq = h.groupby(k).transform("nunique")
        setr(free & nuniq.reindex(df.index).fillna(1).gt(1), "conflicting_key")
        free = reason.isna()
        raw = _joined(df[free])
        setr(free & raw.duplicated().reindex(df.index, fill_value=False), "duplicate_row")
        for c, parent in spec.get("references", {}).items():
            if parent in staged_keys:
                setr(df[c].notna() & ~df[c].isin(staged_keys[parent]), "orphan_reference")
        if table == "orders":
            fx = tables["exchange_rates"]
            fxs = fx[out["exchange_rates"].isna()]
            first_day = pd.to_datetime(fxs["rate_date"]).groupby(fxs["currency"]).min()
            day = parsed["ordered_at"].dt.tz_localize(None).dt.normalize()
            has = df["currency"].map(first_day)
            setr((df["currency"] != "USD") & (has.isna() | (day < has)), "missing_exchange_rate")
        out[table] = reason
        staged_keys[table] = set(df.loc[reason.isna(), key[0]])
    return out


def test_injected_rows_are_added_recorded_and_clean_rows_unchanged(demo, dirty):
    inj = pd.read_csv(dirty / "injected_bad_rows.csv", dtype=str, keep_default_na=False)
    assert list(inj.columns) == ["table", "row_key", "reason"]
    assert set(inj["reason"]) <= set(contract.REASON_CODES)
    assert not (demo / "injected_bad_rows.csv").exists()
    for table in contract.TABLES:
        clean = (demo / f"{table}.csv").read_bytes().splitlines(keepends=True)
        bad = (dirty / f"{table}.csv").read_bytes().splitlines(keepends=True)
        # the clean run's rows come first, byte for byte; injected rows are appended
        assert bad[:len(clean)] == clean, table
        recorded = inj[inj["table"] == table]
        assert len(bad) - len(clean) == len(recorded), table
        n_good = len(clean) - 1
        assert len(recorded) >= max(1, round(0.01 * n_good)), table
    counts = gt(dirty)["realised"]["injected_bad_rows"]
    assert sum(sum(v.values()) for v in counts.values()) == len(inj)
    # every applicable kind at least once: for orders all but out_of_range (orders have no ranges)
    assert set(inj.loc[inj["table"] == "orders", "reason"]) == set(contract.REASON_CODES) - {"out_of_range"}
    assert "out_of_range" in set(inj.loc[inj["table"] == "order_items", "reason"])
    assert "future_timestamp" not in set(inj.loc[inj["table"] == "products", "reason"])


def test_injected_rows_fail_exactly_the_recorded_check(dirty, demo):
    """Run the reference checks on the dirty data: clean rows pass, and the (row_key, reason)
    pairs of quarantined rows are exactly the recorded injected rows."""
    g = gt(dirty)
    tables = {t: pd.read_csv(dirty / f"{t}.csv", dtype=str, keep_default_na=False, na_values=[""]) for t in contract.TABLES}
    tables = {t: df.astype(object).where(df.notna(), None) for t, df in tables.items()}
    max_valid_at = pd.Timestamp(g["date_range"]["end_exclusive_utc"], tz="UTC")
    reasons = reference_quarantine(tables, max_valid_at)
    inj = pd.read_csv(dirty / "injected_bad_rows.csv", dtype=str, keep_default_na=False)
    for table, reason in reasons.items():
        n_clean = g["realised"]["rows"][table]
        assert reason.iloc[:n_clean].isna().sum() >= n_clean - (inj[(inj["table"] == table) & (inj["reason"] == "duplicate_row")].shape[0])
        key = contract.raw_contract()[table]["key"]
        df = tables[table]
        rk = _joined(df[key].apply(lambda c: c.str.strip()), null="")
        got = sorted(zip(rk[reason.notna()], reason[reason.notna()]))
        want = sorted(zip(inj.loc[inj["table"] == table, "row_key"], inj.loc[inj["table"] == table, "reason"]))
        assert got == want, table


def test_clean_demo_passes_the_reference_checks(demo_tables, demo):
    g = gt(demo)
    reasons = reference_quarantine(demo_tables, pd.Timestamp(g["date_range"]["end_exclusive_utc"], tz="UTC"))
    for table, r in reasons.items():
        assert r.isna().all(), (table, r.dropna().value_counts().to_dict())


# ------------------------------------------------------------------------------------------
# Large layout and ground truth documentation
# ------------------------------------------------------------------------------------------
def test_chunked_tables_are_directories_of_parts(base):
    d = _gen(base, "chunked", "large", 42, customers=2000, block_persons=4000)
    g = gt(d)
    assert g["format"] == "parquet"
    for table in ("events", "orders", "order_items", "email_events"):
        p = d / table
        assert p.is_dir() and g["files"][table] == table
        parts = sorted(p.glob("part-*.parquet"))
        assert len(parts) >= 2
        assert all(pq.read_schema(f).names == contract.columns(table) for f in parts)
        assert sum(pq.read_metadata(f).num_rows for f in parts) == g["realised"]["rows"][table]
    assert (d / "customers.parquet").is_file()
    ev = read(d, "events")
    assert ev["event_id"].is_unique


def test_ground_truth_keys_are_documented(demo):
    doc = gt_module.__doc__
    g = gt(demo)
    for key in g:
        assert key in doc, key
    for key in g["realised"]:
        assert key in doc, f"realised.{key}"
    for key in g["derived"]:
        assert key in doc, f"derived.{key}"
    for key in ("r", "alpha", "a", "b"):
        assert key in g["parameters"]["btyd"]
    for ch, devs in g["parameters"]["funnel_step_probabilities"].items():
        for dev, steps in devs.items():
            assert list(steps) == FUNNEL[1:]
