"""generate(): the whole dataset of one preset and seed."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from .. import contract
from . import fmt
from . import params as P
from .ground_truth import build_ground_truth
from .inject import inject
from .pipeline import (COUNTRY_CODES, TABLE_CODE, Context, _order_stats, _ts_style, _write_orders, build_orders,
                       run_block)
from .simulate import CANCELLED_ORDER, FIRST_ORDER, REPEAT_ORDER, Persons, draw_latent
from .theory import identification_probability
from .world import (_ARRIVAL_FIELDS, DAY, Calendar, Streams, TimeZones, build_arrivals, build_catalog, build_fx,
                    plan_arrivals, rebatch, sample_countries, stream_arrivals)
from .writer import TableWriter

EVENT_TABLES = ("customers", "orders", "order_items", "products", "events", "email_events", "campaigns",
                "nps_responses", "referrals", "marketing_spend", "exchange_rates")
ORDERS_ONLY_TABLES = ("customers", "orders", "order_items", "products", "exchange_rates")


def tables_for(prm: dict) -> list[str]:
    if not prm["events"]:
        names = ORDERS_ONLY_TABLES
    else:
        names = [t for t in EVENT_TABLES if prm["email"] or t not in ("email_events", "campaigns")]
    unknown = set(names) - set(contract.TABLES)
    if unknown:
        raise ValueError(f"tables not in the contract: {unknown}")
    return [t for t in contract.TABLES if t in names]


def generate(preset: str = "demo", seed: int = 42, out_dir: str | Path = ".", fmt_: str | None = None,
             prefix: str = "", bad_rate: float = 0.0, **overrides) -> Path:
    """Generate a dataset; returns the path of <out_dir>/ground_truth.json.

    preset: demo | medium | large | xlarge | clv; seed: any non-negative int; fmt_: csv | parquet (default:
    the preset's); prefix: prepended to table file names (raw_ for dbt seeds); bad_rate: share of
    injected bad rows per table (0 = clean, no injected_bad_rows.csv); overrides: parameters of
    params.BASE_PARAMETERS (e.g. customers=500, email_effects=False, btyd__r=0.5).
    """
    if "fmt" in overrides:
        fmt_ = overrides.pop("fmt")
    prm = P.resolve(preset, overrides)
    out_fmt = fmt_ or prm["format"]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    streams = Streams(seed)
    cal = Calendar(date.fromisoformat(prm["start_date"]), date.fromisoformat(prm["end_date"]))
    catalog = build_catalog(streams.get("catalog"), prm["products_per_category_tier"])
    fxd = build_fx(streams.get("fx"), cal, prm["fx"])
    fx = np.stack([fxd[c] for c in P.CURRENCIES])
    tables = tables_for(prm)
    writer = TableWriter(out_dir, out_fmt, prefix, set(prm["chunked_tables"]) & set(tables))
    writer.remove_stale(contract.TABLES)     # outputs of an earlier run into the same directory
    writer.start(tables)
    ctx = Context(prm=prm, streams=streams, cal=cal, tz=TimeZones(cal), catalog=catalog, fx=fx,
                  news=cal.newsletter_times(prm["newsletter_day_of_month"], prm["newsletter_hour_utc"]),
                  writer=writer)
    ctx.campaign_ids, campaign_rows = _campaigns(ctx)
    extra: dict = {}
    if prm["events"]:
        pid = identification_probability(prm)
        n_expected = prm["customers"] / (pid["overall"] * prm["customers_calibration"])
        ctx.paid_sessions = np.zeros((cal.n_days, len(P.PAID_CHANNELS)), np.int64)
        bp = int(prm["block_persons"])
        days_per_draw = int(prm.get("arrivals_days_per_draw", 0))
        if days_per_draw > 0:
            # streamed: visitors drawn a few days at a time, cut into blocks of bp visitors
            arr, _ = plan_arrivals(streams, cal, prm, n_expected)
            blocks = rebatch(stream_arrivals(streams, cal, prm, arr, days_per_draw), bp)
        else:
            # all visitors of the range drawn at once (the older presets; kept byte-identical)
            arr = build_arrivals(streams, cal, prm, n_expected)
            blocks = ({f: getattr(arr, f)[lo:lo + bp] for f in _ARRIVAL_FIELDS}
                      for lo in range(0, max(arr.t.size, 1), bp))
        n = int(arr.counts.sum()) if days_per_draw > 0 else int(arr.t.size)
        for bi, b in enumerate(blocks):
            m = b["t"].size
            persons = Persons(t_arr=b["t"].astype(float), acq_ch=b["channel"], dev0=b["device"],
                              country=b["country"], std_offset=b["std_offset"], rule_us=b["rule_us"],
                              referrer=np.full(m, -1, np.int64))
            del b
            run_block(ctx, bi, persons)
            del persons
        _write_marketing_spend(ctx, arr)
        if prm["email"]:
            writer.write("campaigns", campaign_rows)
        extra["identification_probability"] = pid
        extra["visitors_expected"] = n_expected
        extra["arrivals"] = int(n)
        extra["spend_cents"] = arr.spend_cents.sum(axis=0)
    else:
        _orders_only(ctx)
    _write_products(ctx)
    _write_fx(ctx)
    injected = None
    bad_file = out_dir / "injected_bad_rows.csv"
    if bad_rate and bad_rate > 0:
        injected = inject(writer, streams.get("inject"), float(bad_rate), cal.start, out_dir)
    elif bad_file.exists():
        bad_file.unlink()
    writer.close()
    gt = build_ground_truth(ctx, seed=seed, fmt=out_fmt, prefix=prefix, bad_rate=bad_rate, tables=tables,
                            injected=injected, extra=extra)
    path = out_dir / "ground_truth.json"
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(gt, fh, indent=1, sort_keys=False)
        fh.write("\n")
    return path


# --------------------------------------------------------------------------------------------
def _campaigns(ctx):
    ids = ["CMP-WELCOME", "CMP-CART", "CMP-WINBACK", "CMP-LOYALTY"]
    names = ["Welcome series", "Abandoned cart reminder", "We miss you", "Thank you for your loyalty"]
    types = ["welcome", "abandoned_cart", "winback", "loyalty"]
    for t in ctx.news:
        d = np.datetime64(int(t), "s").astype(object)
        ids.append(f"CMP-NEWS-{d:%Y-%m}")
        names.append(f"Newsletter {d:%B %Y}")
        types.append("newsletter")
    rows = {
        "campaign_id": pa.array(ids, pa.string()),
        "campaign_name": pa.array(names, pa.string()),
        "campaign_type": pa.array(types, pa.string()),
        "channel": pa.array(["email"] * len(ids), pa.string()),
    }
    return ids, rows


def _write_products(ctx):
    c = ctx.catalog
    ctx.writer.write("products", {
        "product_id": fmt.ids("P", c.product_ids, 4),
        "category": fmt.codes(list(P.CATEGORIES), c.category),
        "tier": fmt.codes(P.TIERS, c.tier),
        "list_price": fmt.money(c.price_cents),
    })


def _write_fx(ctx):
    cal = ctx.cal
    days = cal.t0 + np.arange(cal.n_days) * DAY
    cur = list(P.CURRENCIES[1:])
    ctx.writer.write("exchange_rates", {
        "rate_date": fmt.dates(np.tile(days, len(cur))),
        "currency": pa.array(np.repeat(cur, cal.n_days).tolist(), pa.string()),
        "rate_to_reporting": fmt.decimals(np.concatenate([ctx.fx[P.CURRENCIES.index(c)] for c in cur]), 6),
    })


def _write_marketing_spend(ctx, arr):
    cal, prm = ctx.cal, ctx.prm
    rng = ctx.streams.get("clicks")
    nd, npc = cal.n_days, len(P.PAID_CHANNELS)
    sessions = ctx.paid_sessions
    clicks = sessions + rng.poisson(prm["untracked_click_share"] * sessions)
    ctr = np.array([prm["click_through_rate"][c] for c in P.PAID_CHANNELS])
    impressions = np.maximum(np.rint(clicks / ctr[None, :] * np.exp(rng.normal(0, 0.1, (nd, npc)))), clicks)
    days = cal.t0 + np.arange(nd) * DAY
    ctx.writer.write("marketing_spend", {
        "spend_date": fmt.dates(np.repeat(days, npc)),
        "channel": pa.array(np.tile(list(P.PAID_CHANNELS), nd).tolist(), pa.string()),
        "impressions": fmt.integers(impressions.ravel()),
        "clicks": fmt.integers(clicks.ravel()),
        "spend": fmt.money(arr.spend_cents.ravel()),
    })
    ctx.stats["paid_sessions_by_channel"] = sessions.sum(axis=0)
    ctx.stats["clicks_by_channel"] = clicks.sum(axis=0)
    ctx.stats["impressions_by_channel"] = impressions.sum(axis=0).astype(np.int64)


# --------------------------------------------------------------------------------------------
def _orders_only(ctx):
    """Customers whose purchases follow BG/NBD exactly, without visits or e-mail.

    First purchases are uniform over the first first_purchase_window_days of the range (time 0 of
    each customer). Purchase attempts then arrive as a Poisson process of rate lambda_i /
    (1 - cancel_rate); each is cancelled with cancel_rate, so valid repeat purchases are
    Poisson(lambda_i); after each valid repeat purchase the customer drops out with p_i."""
    prm, st, cal, W = ctx.prm, ctx.streams, ctx.cal, ctx.writer
    N = int(prm["customers"])
    rng = st.get("customers")
    window = min(prm["first_purchase_window_days"], cal.n_days) * DAY
    t_first = np.sort(cal.t0 + np.floor(rng.random(N) * window).astype(np.int64))
    country, std, rule_us = sample_countries(rng, N)
    acq_names = list(P.ACQUISITION_CHANNELS)
    w = np.array([prm["acquisition_mix"][c] for c in acq_names])
    acq = np.array([P.CHANNELS.index(c) for c in acq_names])[rng.choice(len(acq_names), N, p=w / w.sum())]
    registered = rng.random(N) < prm["signup_prob_checkout"]
    signup = np.maximum(t_first - np.floor(rng.random(N) * 14 * DAY).astype(np.int64), cal.t0)
    bp = int(prm["block_persons"])
    for bi, lo in enumerate(range(0, max(N, 1), bp)):
        hi = min(lo + bp, N)
        n = hi - lo
        persons = Persons(t_arr=t_first[lo:hi].astype(float), acq_ch=acq[lo:hi].astype(np.int8),
                          dev0=np.zeros(n, np.int8), country=country[lo:hi], std_offset=std[lo:hi],
                          rule_us=rule_us[lo:hi], referrer=np.full(n, -1, np.int64))
        lat = draw_latent(st.get("persons", bi, 0), prm, persons)
        rb = st.get("btyd", bi)
        person = [np.arange(n)]
        times = [t_first[lo:hi]]
        kinds = [np.full(n, FIRST_ORDER, np.int8)]
        cur = t_first[lo:hi].astype(float)
        act = np.arange(n)
        scale = 1.0 / (1.0 - prm["cancel_rate"])
        while act.size:
            cur[act] += rb.exponential(1.0, act.size) / (lat.lam[act] * scale) * DAY
            act = act[cur[act] < cal.t_end]
            if not act.size:
                break
            cancel = rb.random(act.size) < prm["cancel_rate"]
            person.append(act)
            times.append(np.floor(cur[act]).astype(np.int64))
            kinds.append(np.where(cancel, CANCELLED_ORDER, REPEAT_ORDER).astype(np.int8))
            drop = ~cancel & (rb.random(act.size) < lat.p_drop[act])
            act = act[~drop]
        o_person, o_t, o_kind = np.concatenate(person), np.concatenate(times), np.concatenate(kinds)
        srt = np.lexsort((o_t, o_person))
        o_person, o_t, o_kind = o_person[srt], o_t[srt], o_kind[srt]
        o = build_orders(prm, ctx, o_person, o_t, o_kind, np.full(o_t.size, -1, np.int8), lat, persons.country,
                         st.get("orders", bi, 0), st.get("baskets", bi, 0))
        cust_no = ctx.counters["customer"] + 1 + np.arange(n)
        ctx.counters["customer"] += n
        reg = registered[lo:hi]
        su = signup[lo:hi]
        style = _ts_style(st.get("tsformat", bi, TABLE_CODE["customers"]), n, prm)
        off = ctx.tz.offset_seconds(std[lo:hi], rule_us[lo:hi], su)
        W.write("customers", {
            "customer_id": fmt.ids("C", cust_no, 7),
            "email": pa.array([f"customer{c:07d}@example.com" for c in cust_no], pa.string()),
            "signed_up_at": fmt.timestamps(su, style, off, null_mask=~reg),
            "country": fmt.codes(COUNTRY_CODES, country[lo:hi]),
            "acquisition_channel": fmt.codes(P.CHANNELS, acq[lo:hi]),
        })
        _add_stat(ctx, "customers", n)
        _add_stat(ctx, "registered_customers", int(reg.sum()))
        _write_orders(ctx, bi, o.person, o.t, o.status, o.currency, o.total, o.line_order, o.product, o.quantity,
                      o.unit, cust_no, std[lo:hi].astype(np.int64), rule_us[lo:hi])
        _order_stats(ctx, o.person, o.t, o.valid, o.kind.astype(np.int64), o.status.astype(np.int64),
                     o.usd_value, o.z, o.returned, o.upgraded, o.tier, o.click_type.astype(np.int64))


def _add_stat(ctx, key, value):
    ctx.stats[key] = ctx.stats.get(key, 0) + value
