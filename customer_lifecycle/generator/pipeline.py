"""From simulated behaviour to the raw tables: events, customers, orders and baskets, e-mail
events, NPS answers, referrals, shared devices; written block by block."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from .. import contract
from . import fmt
from . import params as P
from .simulate import (CANCELLED_ORDER, EMAIL_ORDER, FIRST_ORDER, REPEAT_ORDER, Latent, Persons,
                       Simulation, draw_latent)
from .theory import bgnbd_expected_repeat
from .world import DAY, HOUR, Calendar, Catalog, Streams, TimeZones, sample_countries, sample_devices

EVENT_TYPES = contract.vocabulary("event_types")
EMAIL_EVENT_TYPES = contract.vocabulary("email_event_types")
ORDER_STATUSES = contract.vocabulary("order_statuses")
_ET = {name: i for i, name in enumerate(EVENT_TYPES)}
# Positions of the events of a visit, in the order they happen.
VISIT_SLOTS = ("email_click", "login", "page_view", "page_view", "product_view", "signup", "add_to_cart",
               "remove_from_cart", "login", "signup", "begin_checkout", "purchase", "review_submitted")
SLOT_CODE = np.array([_ET[s] for s in VISIT_SLOTS])
IDENT_CODES = np.array([_ET["signup"], _ET["login"], _ET["purchase"]])
COUNTRY_CODES = list(P.COUNTRIES)
COUNTRY_CURRENCY = np.array([P.CURRENCIES.index(P.COUNTRIES[c][1]) for c in COUNTRY_CODES])
REFERRAL_CH = P.CHANNELS.index("referral")
TABLE_CODE = {t: i for i, t in enumerate(contract.TABLES)}


def _group_cumsum(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Inclusive cumulative sum within runs of equal `group` (rows sorted by group)."""
    cs = np.cumsum(values)
    if not values.size:
        return cs
    starts = np.r_[0, np.flatnonzero(group[1:] != group[:-1]) + 1]
    lengths = np.diff(np.r_[starts, values.size])
    before = np.repeat(cs[starts] - values[starts], lengths)
    return cs - before


def _group_starts(group: np.ndarray) -> np.ndarray:
    """For each row, the index of the first row of its run of equal `group`."""
    if not group.size:
        return np.zeros(0, np.int64)
    is_start = np.r_[True, group[1:] != group[:-1]]
    return np.maximum.accumulate(np.where(is_start, np.arange(group.size), 0))


# --------------------------------------------------------------------------------------------
# Events of visits
# --------------------------------------------------------------------------------------------
def expand_events(v: dict, rng: np.random.Generator) -> dict:
    nv = v["t"].size
    depth = v["depth"].astype(np.int64)
    C = np.stack([v["is_click"], v["login_start"], np.ones(nv), v["extra_pv"], depth >= 2, v["signup_browse"],
                  depth >= 3, v["remove"], v["login_chk"], v["signup_chk"], depth >= 4, depth == 5, v["review"]],
                 axis=1).astype(np.int64)
    n_ev = C.sum(axis=1)
    if not np.array_equal(n_ev, v["n_ev"]):
        raise AssertionError("event count mismatch")
    slot = np.repeat(np.tile(np.arange(len(VISIT_SLOTS)), nv), C.ravel())
    vis = np.repeat(np.arange(nv), n_ev)
    total = int(n_ev.sum())
    start = np.cumsum(n_ev) - n_ev
    j = np.arange(total) - start[vis]
    e = rng.exponential(1.0, total)
    e[j == 0] = 0.0
    cs = np.cumsum(e)
    within = cs - cs[start][vis]
    last = start + n_ev - 1
    tot = (cs[last] - cs[start])[vis]
    extra = (v["dur"] - 5 * (n_ev - 1))[vis]
    frac = np.divide(within, tot, out=np.zeros(total), where=tot > 0)
    offset = 5 * j + np.floor(extra * frac).astype(np.int64)
    return {"visit": vis, "slot": slot, "etype": SLOT_CODE[slot], "t": v["t"][vis] + offset}


# --------------------------------------------------------------------------------------------
# Orders and baskets
# --------------------------------------------------------------------------------------------
def build_baskets(rng, prm, cat: Catalog, z_usd, tier, currency, day, fx_by_currency):
    """Lines realising each order's USD value approximately with catalogue products of its tier.

    An order gets 1 + Poisson(extra_lines_base + z * extra_lines_per_usd) planned lines (at most
    max_lines). Line j aims at (z - value of lines so far) / (lines left): among
    candidate_categories random categories and their products of the order's tier, with quantity
    round(target / price) in 1..max_quantity, the line closest to the target is taken. Lines after
    the first are skipped once less than half the cheapest price of the tier is left.
    Returns (line_order, product, quantity, unit_cents_local, total_cents_local, usd_value_cents)."""
    b = prm["basket"]
    n = z_usd.size
    n_lines = np.minimum(1 + rng.poisson(b["extra_lines_base"] + z_usd * b["extra_lines_per_usd"]), b["max_lines"])
    K = b["candidate_categories"]
    cheapest = cat.grid_price.min(axis=(0, 2))[tier]
    remaining = z_usd.astype(float).copy()
    lo_l, prod_l, qty_l = [], [], []
    for j in range(int(n_lines.max()) if n else 0):
        act = np.flatnonzero((n_lines > j) & ((j == 0) | (remaining >= 0.5 * cheapest)))
        if not act.size:
            break
        v = np.maximum(remaining[act], 0.01) / (n_lines[act] - j)
        cand = rng.choice(len(cat.cat_weights), size=(act.size, K), p=cat.cat_weights)
        ti = tier[act]
        gp = cat.grid_price[cand, ti[:, None]]                       # (m, K, products per cell)
        qty_all = np.clip(np.rint(v[:, None, None] / gp), 1, b["max_quantity"])
        err = np.abs(qty_all * gp - v[:, None, None]).reshape(act.size, K * gp.shape[2])
        best = err.argmin(axis=1)
        kc, kp = np.divmod(best, gp.shape[2])
        rows = np.arange(act.size)
        prod = cat.grid[cand[rows, kc], ti, kp]
        qty = qty_all[rows, kc, kp].astype(np.int64)
        remaining[act] -= qty * cat.price_cents[prod] / 100.0
        lo_l.append(act)
        prod_l.append(prod)
        qty_l.append(qty)
    lo = np.concatenate(lo_l) if lo_l else np.zeros(0, np.int64)
    prod = np.concatenate(prod_l) if prod_l else np.zeros(0, np.int64)
    qty = np.concatenate(qty_l) if qty_l else np.zeros(0, np.int64)
    srt = np.argsort(lo, kind="stable")                              # lines grouped by order
    lo, prod, qty = lo[srt], prod[srt], qty[srt]
    usd_cents = cat.price_cents[prod]
    rate = fx_by_currency[currency[lo], day[lo]]
    unit = np.rint(usd_cents / rate).astype(np.int64)
    total = np.bincount(lo, weights=qty * unit, minlength=n).astype(np.int64)
    usd_value = np.bincount(lo, weights=qty * usd_cents, minlength=n).astype(np.int64)
    return lo, prod, qty, unit, total, usd_value


def order_status(prm, t, valid, returned, deliver_days, t_end):
    age = t_end - t
    st = np.full(t.size, ORDER_STATUSES.index("delivered"), np.int8)
    st[age < deliver_days * DAY] = ORDER_STATUSES.index("shipped")
    st[age < prm["ship_after_days"] * DAY] = ORDER_STATUSES.index("placed")
    st[valid & returned & (age >= prm["return_visible_after_days"] * DAY)] = ORDER_STATUSES.index("returned")
    st[~valid] = ORDER_STATUSES.index("cancelled")
    return st


@dataclass
class OrderSet:
    person: np.ndarray
    t: np.ndarray
    kind: np.ndarray
    valid: np.ndarray
    returned: np.ndarray
    status: np.ndarray
    currency: np.ndarray
    total: np.ndarray
    usd_value: np.ndarray
    z: np.ndarray
    tier: np.ndarray
    upgraded: np.ndarray
    click_type: np.ndarray
    line_order: np.ndarray
    product: np.ndarray
    quantity: np.ndarray
    unit: np.ndarray


def build_orders(prm, ctx, person, t, kind, click_type, lat: Latent, country, rng_o, rng_b) -> OrderSet:
    """Orders of one generation, rows sorted by (person, time)."""
    n = person.size
    valid = kind != CANCELLED_ORDER
    gg = prm["gamma_gamma"]
    z = rng_o.gamma(gg["p"], 1.0, n) / lat.nu[person]
    returned = valid & (rng_o.random(n) < prm["return_rate"])
    dd = prm["deliver_after_days"]
    deliver = rng_o.integers(dd[0], dd[1] + 1, n)
    upgraded = valid & (kind != FIRST_ORDER) & (rng_o.random(n) < prm["upsell_rate"])
    tier = np.minimum(lat.tier0[person] + _group_cumsum(upgraded.astype(np.int64), person), 2).astype(np.int64)
    currency = COUNTRY_CURRENCY[country[person]]
    day = ctx.cal.day_index(t)
    lo, prod, qty, unit, total, usd_value = build_baskets(rng_b, prm, ctx.catalog, z, tier, currency, day, ctx.fx)
    status = order_status(prm, t, valid, returned, deliver, ctx.cal.t_end)
    return OrderSet(person=person, t=t, kind=kind, valid=valid, returned=returned, status=status, currency=currency,
                    total=total, usd_value=usd_value, z=z, tier=tier, upgraded=upgraded, click_type=click_type,
                    line_order=lo, product=prod, quantity=qty, unit=unit)


def nps_and_invites(prm, o: OrderSet, t_end, rng_n, rng_r):
    """NPS answers after valid orders and referral invitations they (and orders) trigger."""
    nps = prm["nps"]
    vi = np.flatnonzero(o.valid)
    k = _group_cumsum(o.valid.astype(np.int64), o.person)[vi]
    canc_before = (_group_cumsum((~o.valid).astype(np.int64), o.person) - (~o.valid))[vi]
    respond = rng_n.random(vi.size) < nps["response_prob"]
    d0, d1 = nps["delay_days"]
    t_resp = o.t[vi] + (DAY * (d0 + (d1 - d0) * rng_n.random(vi.size))).astype(np.int64)
    mu = (nps["base"] + nps["per_repeat_order"] * np.minimum(k - 1, nps["max_repeat_bonus_orders"])
          - nps["returned_penalty"] * o.returned[vi] - nps["cancelled_before_penalty"] * (canc_before > 0))
    score = np.clip(np.rint(rng_n.normal(mu, nps["sd"])), 0, 10).astype(np.int64)
    keep = respond & (t_resp < t_end)
    n_person, n_t, n_score = o.person[vi][keep], t_resp[keep], score[keep]
    ref = prm["referral"]
    cls = np.where(n_score >= 9, 0, np.where(n_score >= 7, 1, 2))
    p_ref = np.array([ref["prob_after_nps"][c] for c in ("promoter", "passive", "detractor")])[cls]
    inv1 = rng_r.random(n_score.size) < p_ref
    inv2 = rng_r.random(vi.size) < ref["prob_after_valid_order"]
    inv_person = np.r_[n_person[inv1], o.person[vi][inv2]]
    inv_t0 = np.r_[n_t[inv1], o.t[vi][inv2]]
    inv_t = inv_t0 + HOUR + rng_r.exponential(ref["delay_days_mean"] * DAY, inv_t0.size).astype(np.int64)
    ok = inv_t < t_end
    return (n_person, n_t, n_score), (inv_person[ok], inv_t[ok])


# --------------------------------------------------------------------------------------------
# Context and statistics
# --------------------------------------------------------------------------------------------
@dataclass
class Context:
    prm: dict
    streams: Streams
    cal: Calendar
    tz: TimeZones
    catalog: Catalog
    fx: np.ndarray              # (n_currencies, n_days) USD per unit
    news: np.ndarray
    writer: object
    counters: dict = field(default_factory=lambda: {k: 0 for k in (
        "customer", "anon", "order", "item", "event", "email_event", "response", "referral")})
    stats: dict = field(default_factory=dict)
    paid_sessions: np.ndarray | None = None


def _add(stats: dict, key: str, value):
    """Accumulate a count (or an array of counts) over blocks."""
    stats[key] = stats.get(key, 0) + value


def _ts_style(rng, n, prm):
    u = rng.random(n)
    loc, z = prm["timestamp_local_offset_share"], prm["timestamp_z_share"]
    return np.where(u < loc, fmt.TS_LOCAL, np.where(u < loc + z, fmt.TS_Z, fmt.TS_PLAIN))


# --------------------------------------------------------------------------------------------
# One block of visitors (events world)
# --------------------------------------------------------------------------------------------
def run_block(ctx: Context, bi: int, persons0: Persons):
    prm, st, cal = ctx.prm, ctx.streams, ctx.cal
    t_end = cal.t_end
    G = []                       # per-generation pieces
    persons, g = persons0, 0
    off_p = off_a = off_o = 0
    while len(persons):
        lat = draw_latent(st.get("persons", bi, g), prm, persons)
        sim = Simulation(prm, persons, lat, st.get("visits", bi, g), st.get("email", bi, g), t_end, ctx.news).run()
        v, s = sim.result()
        order = np.lexsort((v["t"], v["person"]))
        v = {k: a[order] for k, a in v.items()}
        ev = expand_events(v, st.get("events", bi, g))
        ov = np.flatnonzero(v["depth"] == 5)
        pur = ev["etype"] == _ET["purchase"]
        o_t = ev["t"][pur]
        if not np.array_equal(ev["visit"][pur], ov):
            raise AssertionError("purchase events and orders disagree")
        o = build_orders(prm, ctx, v["person"][ov], o_t, v["order_kind"][ov], v["click_type"][ov], lat,
                         persons.country, st.get("orders", bi, g), st.get("baskets", bi, g))
        # products on events: the first basket line in buying visits, a browsed product otherwise
        rng_e = st.get("events", bi, 1000 + g)
        first_line = np.r_[0, np.cumsum(np.bincount(o.line_order, minlength=ov.size))[:-1]] if ov.size else np.zeros(0, np.int64)
        vprod = rng_e.choice(ctx.catalog.popularity.size, size=v["t"].size, p=ctx.catalog.popularity)
        if ov.size:
            vprod[ov] = o.product[first_line]
        slot = ev["slot"]
        eprod = np.full(ev["t"].size, -1, np.int64)
        with_prod = np.isin(slot, (4, 6, 7))
        eprod[with_prod] = vprod[ev["visit"][with_prod]]
        rev = slot == 12
        eprod[rev] = rng_e.choice(ctx.catalog.popularity.size, size=int(rev.sum()), p=ctx.catalog.popularity)
        vorder = np.full(v["t"].size, -1, np.int64)
        vorder[ov] = np.arange(ov.size)
        eorder = np.where(pur, vorder[ev["visit"]], -1)
        (n_person, n_t, n_score), (inv_person, inv_t) = nps_and_invites(
            prm, o, t_end, st.get("nps", bi, g), st.get("referrals", bi, g))
        G.append(dict(persons=persons, lat=lat, v=v, ev=ev, eprod=eprod, eorder=eorder, o=o, s=s,
                      nps=(n_person, n_t, n_score), off_p=off_p, off_a=off_a, off_o=off_o,
                      anon_device=np.asarray(sim.anon_device, np.int8)))
        off_p += len(persons)
        off_a += sim.next_anon
        off_o += ov.size
        # invited friends become the next generation
        if inv_t.size:
            rr = st.get("referrals", bi, 1000 + g)
            srt = np.argsort(inv_t, kind="stable")
            inv_person, inv_t = inv_person[srt], inv_t[srt]
            m = inv_t.size
            country, std, rule_us = sample_countries(rr, m)
            same = rr.random(m) < prm["referral"]["same_country_prob"]
            country = np.where(same, persons.country[inv_person], country)
            std = np.where(same, persons.std_offset[inv_person], std)
            rule_us = np.where(same, persons.rule_us[inv_person], rule_us)
            dev = sample_devices(rr, prm["device_mix"]["referral"], m)
            persons = Persons(t_arr=inv_t.astype(float), acq_ch=np.full(m, REFERRAL_CH, np.int8), dev0=dev,
                              country=country.astype(np.int8), std_offset=std.astype(np.int8), rule_us=rule_us,
                              referrer=(inv_person + G[-1]["off_p"]).astype(np.int64))
        else:
            persons = Persons(*(np.zeros(0) for _ in range(7)))
        g += 1
    _assemble_block(ctx, bi, G)


def _cat(G, f):
    return np.concatenate([f(x) for x in G])


def _assemble_block(ctx: Context, bi: int, G: list):
    prm, st, cal, W, S = ctx.prm, ctx.streams, ctx.cal, ctx.writer, ctx.stats
    t_end = cal.t_end
    # ---- persons
    country = _cat(G, lambda x: x["persons"].country).astype(np.int64)
    std = _cat(G, lambda x: x["persons"].std_offset).astype(np.int64)
    rule_us = _cat(G, lambda x: x["persons"].rule_us).astype(bool)
    acq = _cat(G, lambda x: x["persons"].acq_ch).astype(np.int64)
    referrer = _cat(G, lambda x: x["persons"].referrer).astype(np.int64)
    gen = np.concatenate([np.full(len(x["persons"]), gi) for gi, x in enumerate(G)])
    n_persons = country.size
    anon_device = _cat(G, lambda x: x["anon_device"])
    # ---- visits (for statistics)
    v_person = _cat(G, lambda x: x["v"]["person"] + x["off_p"])
    v_ch = _cat(G, lambda x: x["v"]["channel"]).astype(np.int64)
    v_dev = _cat(G, lambda x: x["v"]["device"]).astype(np.int64)
    v_depth = _cat(G, lambda x: x["v"]["depth"]).astype(np.int64)
    v_t = _cat(G, lambda x: x["v"]["t"])
    reach = np.zeros((len(P.CHANNELS), len(P.DEVICES), 5), np.int64)
    for d in range(5):
        m = v_depth >= d + 1
        reach[:, :, d] += np.bincount(v_ch[m] * 3 + v_dev[m], minlength=len(P.CHANNELS) * 3).reshape(-1, 3)
    _add(S, "funnel_reach", reach)
    for j, ch in enumerate(P.PAID_CHANNELS):
        m = v_ch == P.CHANNELS.index(ch)
        ctx.paid_sessions[:, j] += np.bincount(cal.day_index(v_t[m]), minlength=cal.n_days)
    _add(S, "visits", int(v_t.size))
    _add(S, "email_click_visits", int(_cat(G, lambda x: x["v"]["is_click"]).sum()))
    # ---- events
    e_vis_person = _cat(G, lambda x: x["v"]["person"][x["ev"]["visit"]] + x["off_p"])
    e_anon = _cat(G, lambda x: x["v"]["anon"][x["ev"]["visit"]] + x["off_a"])
    e_t = _cat(G, lambda x: x["ev"]["t"])
    e_type = _cat(G, lambda x: x["ev"]["etype"])
    e_ch = _cat(G, lambda x: x["v"]["channel"][x["ev"]["visit"]]).astype(np.int64)
    e_dev = _cat(G, lambda x: x["v"]["device"][x["ev"]["visit"]]).astype(np.int64)
    e_prod = _cat(G, lambda x: x["eprod"])
    e_order = _cat(G, lambda x: np.where(x["eorder"] >= 0, x["eorder"] + x["off_o"], -1))
    n_ev = e_t.size
    is_ident = np.isin(e_type, IDENT_CODES)
    # forward fill of the identified person along each anonymous id (rows are in (person, time)
    # order and a person's anonymous ids are used one after another, so each id is one run)
    gstart = _group_starts(e_anon)
    run_first = np.r_[True, e_anon[1:] != e_anon[:-1]] if n_ev else np.zeros(0, bool)
    if np.unique(e_anon[run_first]).size != int(run_first.sum()):
        raise AssertionError("an anonymous id is not one run")
    pos = np.where(is_ident, np.arange(n_ev), -1)
    pf = np.maximum.accumulate(pos) if n_ev else pos
    known = pf >= gstart
    e_cperson = np.where(known, e_vis_person[np.maximum(pf, 0)], -1)
    # ---- shared devices: an earlier customer's anonymous id later used by a new person
    shared = _shared_devices(ctx, bi, G, e_anon, e_t, e_vis_person, is_ident, run_first, known, anon_device)
    for a1, a2, c1_person, c2_person, t_switch in shared:
        on_a2 = e_anon == a2
        e_cperson[on_a2 & (e_cperson < 0)] = c1_person
        e_anon[on_a2] = a1
    # ---- customers: everyone with an identifying event
    id_rows = np.flatnonzero(is_ident)
    cust_person, first_idx = np.unique(e_vis_person[id_rows], return_index=True)
    cust_first_t = e_t[id_rows[first_idx]]
    su_rows = np.flatnonzero(e_type == _ET["signup"])
    su_person, su_first = np.unique(e_vis_person[su_rows], return_index=True)
    signup_t = np.full(n_persons, -1, np.int64)
    signup_t[su_person] = e_t[su_rows[su_first]]
    rank = np.lexsort((cust_person, cust_first_t))
    cust_no = np.full(n_persons, -1, np.int64)
    cust_no[cust_person[rank]] = ctx.counters["customer"] + 1 + np.arange(cust_person.size)
    ctx.counters["customer"] += cust_person.size
    ident_t = np.full(n_persons, -1, np.int64)
    ident_t[cust_person] = cust_first_t
    cp = cust_person[rank]
    style = _ts_style(st.get("tsformat", bi, TABLE_CODE["customers"]), cp.size, prm)
    su = signup_t[cp]
    has_su = su >= 0
    off = ctx.tz.offset_seconds(std[cp], rule_us[cp], np.where(has_su, su, cal.t0))
    W.write("customers", {
        "customer_id": fmt.ids("C", cust_no[cp], 7),
        "email": pa.array([f"customer{c:07d}@example.com" for c in cust_no[cp]], pa.string()),
        "signed_up_at": fmt.timestamps(np.where(has_su, su, 0), style, off, null_mask=~has_su),
        "country": fmt.codes(COUNTRY_CODES, country[cp]),
        "acquisition_channel": fmt.codes(P.CHANNELS, acq[cp]),
    })
    _add(S, "customers", int(cp.size))
    _add(S, "registered_customers", int(has_su.sum()))
    _add(S, "persons", n_persons)
    _add(S, "referred_persons", int((gen > 0).sum()))
    _add(S, "customers_by_acquisition_channel",
         np.bincount(acq[cp], minlength=len(P.CHANNELS)))
    # ---- orders and items
    o_person = _cat(G, lambda x: x["o"].person + x["off_p"])
    o_t = _cat(G, lambda x: x["o"].t)
    o_valid = _cat(G, lambda x: x["o"].valid)
    o_kind = _cat(G, lambda x: x["o"].kind).astype(np.int64)
    o_status = _cat(G, lambda x: x["o"].status).astype(np.int64)
    o_cur = _cat(G, lambda x: x["o"].currency)
    o_total = _cat(G, lambda x: x["o"].total)
    o_usd = _cat(G, lambda x: x["o"].usd_value)
    o_z = _cat(G, lambda x: x["o"].z)
    o_ret = _cat(G, lambda x: x["o"].returned)
    o_up = _cat(G, lambda x: x["o"].upgraded)
    o_tier = _cat(G, lambda x: x["o"].tier)
    o_ct = _cat(G, lambda x: x["o"].click_type).astype(np.int64)
    i_order = _cat(G, lambda x: x["o"].line_order + x["off_o"])
    i_prod = _cat(G, lambda x: x["o"].product)
    i_qty = _cat(G, lambda x: x["o"].quantity)
    i_unit = _cat(G, lambda x: x["o"].unit)
    if (cust_no[o_person] < 0).any():
        raise AssertionError("an order of a person who is not a customer")
    _write_orders(ctx, bi, o_person, o_t, o_status, o_cur, o_total, i_order, i_prod, i_qty, i_unit,
                  cust_no, std, rule_us)
    _order_stats(ctx, o_person, o_t, o_valid, o_kind, o_status, o_usd, o_z, o_ret, o_up, o_tier, o_ct)
    # ---- events (after orders: they carry the final order numbers)
    order_no = ctx._last_order_no if ctx._last_order_no.size else np.zeros(1, np.int64)
    ev_sort = np.argsort(e_t, kind="stable")
    n_events = ev_sort.size
    ids = ctx.counters["event"] + 1 + np.arange(n_events)
    ctx.counters["event"] += n_events
    e_c = e_cperson[ev_sort]
    e_o = e_order[ev_sort]
    e_p = e_prod[ev_sort]
    anon_no = ctx.counters["anon"] + 1 + e_anon[ev_sort]
    # the offset of the person who used the device
    ep = e_vis_person[ev_sort]
    style = _ts_style(st.get("tsformat", bi, TABLE_CODE["events"]), n_events, prm)
    off = ctx.tz.offset_seconds(std[ep], rule_us[ep], e_t[ev_sort])
    W.write("events", {
        "event_id": fmt.ids("E", ids, 9),
        "anonymous_id": fmt.ids("anon-", anon_no, 8),
        "customer_id": fmt.ids("C", cust_no[np.maximum(e_c, 0)], 7, null_mask=e_c < 0),
        "event_type": fmt.codes(EVENT_TYPES, e_type[ev_sort]),
        "occurred_at": fmt.timestamps(e_t[ev_sort], style, off),
        "product_id": fmt.ids("P", e_p + 1, 4, null_mask=e_p < 0),
        "order_id": fmt.ids("O", order_no[np.maximum(e_o, 0)], 8, null_mask=e_o < 0),
        "channel": fmt.codes(P.CHANNELS, e_ch[ev_sort]),
        "device": fmt.codes(P.DEVICES, e_dev[ev_sort]),
    })
    ctx.counters["anon"] += int(anon_device.size)
    _add(S, "anonymous_ids", int(np.unique(e_anon).size))
    _add(S, "events", n_events)
    _add(S, "events_by_type", np.bincount(e_type, minlength=len(EVENT_TYPES)))
    S.setdefault("shared_anonymous_ids", []).extend(
        {"anonymous_id": f"anon-{ctx.counters['anon'] - anon_device.size + 1 + a1:08d}",
         "first_customer_id": f"C{cust_no[c1]:07d}", "second_customer_id": f"C{cust_no[c2]:07d}",
         "second_identified_at": _iso(ts)} for a1, a2, c1, c2, ts in shared)
    # ---- e-mail events
    if prm["email"]:
        _write_email_events(ctx, bi, G, cust_no)
    # ---- NPS
    n_person = _cat(G, lambda x: x["nps"][0] + x["off_p"])
    n_t = _cat(G, lambda x: x["nps"][1])
    n_score = _cat(G, lambda x: x["nps"][2])
    srt = np.argsort(n_t, kind="stable")
    rid = ctx.counters["response"] + 1 + np.arange(srt.size)
    ctx.counters["response"] += srt.size
    W.write("nps_responses", {
        "response_id": fmt.ids("R", rid, 7),
        "customer_id": fmt.ids("C", cust_no[n_person[srt]], 7),
        "responded_at": fmt.timestamps(n_t[srt]),
        "score": fmt.integers(n_score[srt]),
    })
    _add(S, "nps_responses", int(srt.size))
    _add(S, "nps_score_counts", np.bincount(n_score, minlength=11))
    # ---- referrals: referred persons who became customers
    refd = np.flatnonzero((referrer >= 0) & (cust_no >= 0))
    refd = refd[np.argsort(ident_t[refd], kind="stable")]
    fid = ctx.counters["referral"] + 1 + np.arange(refd.size)
    ctx.counters["referral"] += refd.size
    W.write("referrals", {
        "referral_id": fmt.ids("RF", fid, 6),
        "referrer_customer_id": fmt.ids("C", cust_no[referrer[refd]], 7),
        "referred_customer_id": fmt.ids("C", cust_no[refd], 7),
        "referred_at": fmt.timestamps(ident_t[refd]),
    })
    _add(S, "referral_invitations", int((gen > 0).sum()))
    _add(S, "referrals", int(refd.size))


def _iso(t: int) -> str:
    return str(np.datetime64(int(t), "s")).replace("T", " ")


def _shared_devices(ctx, bi, G, e_anon, e_t, e_person, is_ident, run_first, known, anon_device):
    """Pick (A1, A2) pairs: A2 is the first device of a new customer who identifies on it, A1 an
    anonymous id identified as an earlier customer and last used more than an hour before A2's
    first event, on the same kind of device. A2's events are then written under A1."""
    rate = ctx.prm["shared_anonymous_id_rate"]
    if rate <= 0 or not e_t.size:
        return []
    rng = ctx.streams.get("shared", bi)
    starts = np.flatnonzero(run_first)
    ends = np.r_[starts[1:], e_t.size] - 1
    anon = e_anon[starts]
    first_t, last_t, owner = e_t[starts], e_t[ends], e_person[starts]
    has_id = known[ends]
    # initial anonymous id of each person: gen-local id == gen-local person index
    init_anon = np.concatenate([np.arange(len(x["persons"])) + x["off_a"] for x in G])
    is_initial = np.zeros(int(anon.max()) + 1, bool)
    is_initial[init_anon[init_anon <= anon.max()]] = True
    n_customers = int(np.unique(e_person[is_ident]).size)
    k = int(round(rate * n_customers))
    cand2 = np.flatnonzero(is_initial[anon] & has_id)
    pool = np.flatnonzero(has_id)
    pool = pool[np.argsort(last_t[pool], kind="stable")]
    pool_last = last_t[pool]
    used = np.zeros(anon.size, bool)
    out = []
    for c in rng.permutation(cand2):
        if len(out) >= k:
            break
        if used[c]:
            continue
        m = int(np.searchsorted(pool_last, first_t[c] - HOUR, side="left"))
        if m == 0:
            continue
        for _ in range(20):
            a = pool[rng.integers(0, m)]
            if used[a] or owner[a] == owner[c] or anon_device[anon[a]] != anon_device[anon[c]]:
                continue
            used[a] = used[c] = True
            # the second customer's identification on the shared device
            seg = slice(starts[c], ends[c] + 1)
            ident_rows = np.flatnonzero(is_ident[seg])
            t_switch = int(e_t[seg][ident_rows[0]])
            out.append((int(anon[a]), int(anon[c]), int(owner[a]), int(owner[c]), t_switch))
            break
    return out


def _write_orders(ctx, bi, o_person, o_t, o_status, o_cur, o_total, i_order, i_prod, i_qty, i_unit,
                  cust_no, std, rule_us):
    prm, W, st = ctx.prm, ctx.writer, ctx.streams
    srt = np.argsort(o_t, kind="stable")
    n = srt.size
    order_no = np.empty(n, np.int64)
    order_no[srt] = ctx.counters["order"] + 1 + np.arange(n)
    ctx.counters["order"] += n
    ctx._last_order_no = order_no
    style = _ts_style(st.get("tsformat", bi, TABLE_CODE["orders"]), n, prm)
    p = o_person[srt]
    off = ctx.tz.offset_seconds(std[p], rule_us[p], o_t[srt])
    W.write("orders", {
        "order_id": fmt.ids("O", order_no[srt], 8),
        "customer_id": fmt.ids("C", cust_no[p], 7),
        "ordered_at": fmt.timestamps(o_t[srt], style, off),
        "status": fmt.codes(ORDER_STATUSES, o_status[srt]),
        "currency": fmt.codes(P.CURRENCIES, o_cur[srt]),
        "order_total": fmt.money(o_total[srt]),
    })
    # items in the order of their orders' numbers
    isrt = np.lexsort((np.arange(i_order.size), order_no[i_order]))
    iid = ctx.counters["item"] + 1 + np.arange(isrt.size)
    ctx.counters["item"] += isrt.size
    W.write("order_items", {
        "order_item_id": fmt.ids("OI", iid, 9),
        "order_id": fmt.ids("O", order_no[i_order[isrt]], 8),
        "product_id": fmt.ids("P", i_prod[isrt] + 1, 4),
        "quantity": fmt.integers(i_qty[isrt]),
        "unit_price": fmt.money(i_unit[isrt]),
    })
    _add(ctx.stats, "orders", n)
    _add(ctx.stats, "order_items", int(isrt.size))


def _order_stats(ctx, o_person, o_t, o_valid, o_kind, o_status, o_usd, o_z, o_ret, o_up, o_tier, o_ct):
    S, prm, cal = ctx.stats, ctx.prm, ctx.cal
    _add(S, "orders_by_status", np.bincount(o_status, minlength=len(ORDER_STATUSES)))
    _add(S, "orders_by_kind", np.bincount(o_kind, minlength=4))
    _add(S, "valid_orders", int(o_valid.sum()))
    _add(S, "cancelled_orders", int((~o_valid).sum()))
    _add(S, "returned_flagged_orders", int(o_ret.sum()))
    old = o_valid & (cal.t_end - o_t >= prm["return_visible_after_days"] * DAY)
    _add(S, "valid_orders_old_enough_to_show_returns", int(old.sum()))
    _add(S, "valid_order_usd_value_cents_sum", int(o_usd[o_valid].sum()))
    _add(S, "valid_order_target_value_sum", float(o_z[o_valid].sum()))
    _add(S, "upsell_upgrades", int(o_up.sum()))
    # An upgrade raises the tier unless the customer is already at the top (premium). An upgraded
    # order is never a person's first row, so the row before it is the same person's previous order.
    o_tier_before = np.concatenate([np.full(min(o_tier.size, 1), -1, dtype=o_tier.dtype), o_tier[:-1]])
    _add(S, "upsell_tier_raises", int((o_up & (o_tier > o_tier_before)).sum()))
    _add(S, "valid_repeat_orders", int((o_valid & (o_kind != FIRST_ORDER)).sum()))
    em = o_kind == EMAIL_ORDER
    _add(S, "email_orders_by_campaign_type", np.bincount(o_ct[em], minlength=len(P.CAMPAIGN_TYPES)))
    first = o_kind == FIRST_ORDER
    buyers = o_person[first]
    T = (cal.t_end - o_t[first]) / DAY
    bt = prm["btyd"]
    _add(S, "buyers", int(buyers.size))
    _add(S, "btyd_repeat_orders", int((o_kind == REPEAT_ORDER).sum()))
    _add(S, "btyd_expected_repeat_orders", float(bgnbd_expected_repeat(T, bt["r"], bt["alpha"], bt["a"], bt["b"]).sum()))
    _add(S, "btyd_observation_days_sum", float(T.sum()))


def _write_email_events(ctx, bi, G, cust_no):
    W, S, st, cal = ctx.writer, ctx.stats, ctx.streams, ctx.cal
    s = {k: _cat(G, lambda x, k=k: x["s"][k]) for k in G[0]["s"]}
    s["person"] = _cat(G, lambda x: x["s"]["person"] + x["off_p"])
    n = s["t"].size
    rng = st.get("email_times", bi)
    opened = s["opened"].astype(bool)
    extra = np.where(opened, rng.poisson(ctx.prm["extra_opens_mean"], n), 0)
    bounce = s["bounce"].astype(bool)
    # columns: sent, delivered, bounce, open, extra opens, click, unsubscribe
    C = np.stack([np.ones(n, np.int64), ~bounce, bounce, opened, extra, s["clicked"], s["unsub"]], axis=1).astype(np.int64)
    etypes = np.array([EMAIL_EVENT_TYPES.index(x) for x in
                       ("sent", "delivered", "bounce", "open", "open", "click", "unsubscribe")])
    col = np.repeat(np.tile(np.arange(7), n), C.ravel())
    row = np.repeat(np.arange(n), C.sum(axis=1))
    times = np.stack([s["t"], s["td"], s["td"], s["to"], s["to"], s["tc"], s["tu"]], axis=1)
    t = times[row, col]
    xo = col == 4
    t[xo] += 60 + rng.exponential(DAY, int(xo.sum())).astype(np.int64)
    keep = t < cal.t_end
    t, col, row = t[keep], col[keep], row[keep]
    srt = np.lexsort((col, t))
    t, col, row = t[srt], col[srt], row[srt]
    ids = ctx.counters["email_event"] + 1 + np.arange(t.size)
    ctx.counters["email_event"] += t.size
    W.write("email_events", {
        "email_event_id": fmt.ids("EE", ids, 9),
        "campaign_id": fmt.codes(ctx.campaign_ids, s["campaign"][row]),
        "customer_id": fmt.ids("C", cust_no[s["person"][row]], 7),
        "event_type": fmt.codes(EMAIL_EVENT_TYPES, etypes[col]),
        "occurred_at": fmt.timestamps(t),
    })
    _add(S, "email_events", int(t.size))
    # statistics per campaign type: sends inside the range and their outcomes
    ct = s["ctype"].astype(np.int64)
    inr = s["t"] < cal.t_end
    nct = len(P.CAMPAIGN_TYPES)
    deliv = ~bounce & (s["td"] < cal.t_end)
    op = opened & (s["to"] < cal.t_end)
    cl = s["clicked"].astype(bool) & (s["tc"] < cal.t_end)
    un = s["unsub"].astype(bool) & (s["tu"] < cal.t_end)
    for key, m in (("email_sent", inr), ("email_delivered", deliv), ("email_bounced", bounce & (s["td"] < cal.t_end)),
                   ("email_unique_opens", op), ("email_clicks", cl), ("email_unsubscribes", un)):
        _add(S, key, np.bincount(ct[m], minlength=nct))
