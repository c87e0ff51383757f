"""The behaviour of persons over time: a vectorised discrete-event simulation.

Every person has a small agenda of pending items (the next organic visit, a visit following an
e-mail click, and one pending send per e-mail campaign type). Each loop iteration takes, for
every person still active, their earliest pending item and processes all of them at once with
numpy; persons are independent, so each person's timeline is exact and chronological.

Visits
  A visit has one channel and one device. It runs the funnel page_view -> product_view ->
  add_to_cart -> begin_checkout -> purchase with the conditional step probabilities of its
  (channel, device); its depth (deepest step) is drawn once, so no step is ever skipped. Events of
  a visit are 5 s + Exp(40 s) apart and a visit lasts at most 25 minutes; a person's next visit
  starts at least 31 minutes after the previous one ended (a visit that would start earlier is
  pushed later; an e-mail click visit that would start earlier is dropped).

Prospects (no valid order yet)
  First visit at arrival through the acquisition channel; after a visit without a valid order
  they come back with prospect_return_prob_by_depth (+ a bonus once registered; after a
  cancelled order prospect_return_prob_after_cancel), Exp(mean prospect_return_gap_days) + 1 h later.

Customers: BG/NBD realised by Poisson thinning
  Time 0 is the first valid purchase. A live customer with purchase rate lambda_i ~
  Gamma(r, rate alpha) and dropout probability p_i ~ Beta(a, b) visits as a Poisson process of
  rate lambda_i / (cbar_i(d) * (1 - cancel_rate)), where cbar_i(d) is the per-visit probability of
  reaching purchase averaged over the customer's channel mix on the device d of the next visit.
  Each visit runs the funnel; an order is cancelled with probability cancel_rate. The intensity of
  valid purchases is therefore exactly lambda_i at every instant, so valid repeat purchases are
  Poisson(lambda_i) while alive. After each valid repeat purchase from such a visit the customer
  drops out with probability p_i (never right after the first purchase) and never visits again
  on their own. Visit times are the Poisson times, pushed later only by the 31-minute rule.
  Visits that follow e-mail clicks (email_effects) are extra: their purchases are not BTYD
  purchases (no dropout draw), and they also happen to dropped-out customers (win-back).

Identification
  Registered persons on a device not yet identified log in at the start of a visit with
  login_prob_visit_start, and always before begin_checkout. Unidentified visitors sign up while
  browsing (signup_prob_browse) or at checkout of a purchase (signup_prob_checkout); otherwise a
  purchase is a guest checkout and the purchase itself identifies them. An identified person's
  next organic visit is on a new device (new anonymous_id) with new_device_prob.

E-mail (only to identified persons who opted in and have not unsubscribed)
  welcome right after identification; abandoned_cart after a visit of a person identified on that
  device that reached add_to_cart but not purchase (skipped if they ordered meanwhile; at most
  one pending); newsletter monthly; winback after winback_after_days without a valid order;
  loyalty at the loyalty_after_orders-th valid order. Each send bounces or is delivered; delivered
  mail is opened with open_rate[type], opened mail clicked with click_rate[type] and leads to an
  unsubscribe with unsubscribe_rate[type], which cancels all later sends. With email_effects a
  click starts a visit through channel 'email' at the click instant.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import params as P
from .theory import funnel_arrays
from .world import DAY, HOUR

INF = np.inf
N_SLOTS = 7                      # 0 organic visit, 1 click visit, 2.. e-mail sends by campaign type
SLOT_VISIT, SLOT_CLICK = 0, 1
ET_WELCOME, ET_CART, ET_NEWS, ET_WINBACK, ET_LOYALTY = range(5)   # order of P.CAMPAIGN_TYPES
EMAIL_CH = P.CHANNELS.index("email")

# order_kind of a visit
NO_ORDER, FIRST_ORDER, REPEAT_ORDER, EMAIL_ORDER, CANCELLED_ORDER = -1, 0, 1, 2, 3


@dataclass
class Persons:
    t_arr: np.ndarray
    acq_ch: np.ndarray
    dev0: np.ndarray
    country: np.ndarray
    std_offset: np.ndarray
    rule_us: np.ndarray
    referrer: np.ndarray         # block person index of the referrer, -1 if none

    def __len__(self):
        return len(self.t_arr)


@dataclass
class Latent:
    lam: np.ndarray      # BTYD purchase rate per day
    p_drop: np.ndarray   # BTYD dropout probability
    nu: np.ndarray       # Gamma-Gamma rate of order values
    tier0: np.ndarray    # tier of the first order
    opt_in: np.ndarray   # consents to marketing e-mail
    mix_cum: np.ndarray  # (n, len(RETURN_CHANNELS)) cumulative channel mix of organic customer visits
    cbar: np.ndarray     # (n, n_devices) P(purchase step) of an organic customer visit on each device


def draw_latent(rng: np.random.Generator, prm: dict, persons: Persons) -> Latent:
    n = len(persons)
    bt, gg = prm["btyd"], prm["gamma_gamma"]
    lam = rng.gamma(bt["r"], 1.0 / bt["alpha"], n)
    p_drop = rng.beta(bt["a"], bt["b"], n)
    nu = rng.gamma(gg["q"], 1.0 / gg["gamma"], n)
    tm = prm["tier_mix_first_order"]
    tw = np.array([tm[t] for t in P.TIERS])
    tier0 = rng.choice(3, size=n, p=tw / tw.sum()).astype(np.int8)
    opt_in = rng.random(n) < prm["email_opt_in_rate"]
    base = np.array([prm["customer_return_mix"][c] for c in P.RETURN_CHANNELS], dtype=float)
    base /= base.sum()
    w = prm["acquisition_channel_weight_in_return_mix"]
    mix = np.tile(base, (n, 1)) * (1 - w)
    ret_idx = {P.CHANNELS.index(c): k for k, c in enumerate(P.RETURN_CHANNELS)}
    own = np.array([ret_idx.get(int(c), P.RETURN_CHANNELS.index("direct")) for c in range(len(P.CHANNELS))])
    mix[np.arange(n), own[persons.acq_ch]] += w
    _, reach, _ = funnel_arrays(prm)
    c_ret = reach[[P.CHANNELS.index(c) for c in P.RETURN_CHANNELS], :, 3]      # (n_ret, n_dev)
    cbar = mix @ c_ret
    return Latent(lam=lam, p_drop=p_drop, nu=nu, tier0=tier0, opt_in=opt_in,
                  mix_cum=np.cumsum(mix, axis=1), cbar=cbar)


class Simulation:
    """One generation of persons of one block."""

    def __init__(self, prm: dict, persons: Persons, latent: Latent, rng_visits, rng_email,
                 t_end: int, news_times: np.ndarray):
        self.prm, self.p, self.lat = prm, persons, latent
        self.rv, self.re = rng_visits, rng_email
        self.t_end = t_end
        self.news = news_times.astype(float)
        n = len(persons)
        self.n = n
        _, reach, _ = funnel_arrays(prm)
        self.reach = reach
        self.slots = np.full((N_SLOTS, n), INF)
        self.slots[SLOT_VISIT] = persons.t_arr
        self.phase = np.zeros(n, np.int8)
        self.identified = np.zeros(n, bool)
        self.registered = np.zeros(n, bool)
        self.anon_idd = np.zeros(n, bool)
        self.subscribed = np.zeros(n, bool)
        self.anon = np.arange(n, dtype=np.int64)       # anonymous ids local to this generation
        self.anon_device = list(persons.dev0)          # device of each anonymous id (grown below)
        self.next_anon = n
        self.dev = persons.dev0.astype(np.int8).copy()
        self.next_new = np.zeros(n, bool)
        self.next_dev = self.dev.copy()
        self.nvis = np.zeros(n, np.int32)
        self.last_end = np.full(n, -10**12, np.int64)
        self.n_valid = np.zeros(n, np.int32)
        self.last_order = np.full(n, -INF)
        self.cart_t = np.full(n, -INF)
        self.click_type = np.full(n, -1, np.int8)
        self.news_idx = np.zeros(n, np.int64)
        self.visits: list[dict] = []
        self.sends: list[dict] = []
        cr = prm["cancel_rate"]
        self.rate_scale = 1.0 / (1.0 - cr)
        pm = prm["prospect_return_mix"]
        pw = np.array([pm.get(c, 0.0) for c in P.RETURN_CHANNELS])
        self.prospect_mix_cum = np.cumsum(pw / pw.sum())
        self.ret_ch = np.array([P.CHANNELS.index(c) for c in P.RETURN_CHANNELS], dtype=np.int8)
        nd = prm["device_mix"]["new_device"]
        ndw = np.cumsum([nd[d] for d in P.DEVICES])
        self.new_dev_cum = ndw / ndw[-1]
        self.open_rate = np.array([prm["open_rate"][t] for t in P.CAMPAIGN_TYPES])
        self.click_rate = np.array([prm["click_rate"][t] for t in P.CAMPAIGN_TYPES])
        self.unsub_rate = np.array([prm["unsubscribe_rate"][t] for t in P.CAMPAIGN_TYPES])
        self.email_on = bool(prm["email"])
        self.effects_on = bool(prm["email_effects"]) and self.email_on

    # ------------------------------------------------------------------------------------
    def run(self):
        act = np.arange(self.n)
        guard = 0
        while act.size:
            guard += 1
            if guard > 200_000:
                raise RuntimeError("simulation did not terminate")
            s = self.slots[:, act]
            kind = s.argmin(axis=0)
            tn = s[kind, np.arange(act.size)]
            keep = tn < self.t_end
            act, kind, tn = act[keep], kind[keep], tn[keep]
            if not act.size:
                break
            vis = kind <= SLOT_CLICK
            if vis.any():
                self._visits(act[vis], tn[vis], kind[vis] == SLOT_CLICK)
            if (~vis).any():
                self._emails(act[~vis], tn[~vis], kind[~vis] - 2)
        return self

    # ------------------------------------------------------------------------------------
    def _new_anons(self, idx: np.ndarray, devices: np.ndarray):
        ids = self.next_anon + np.arange(idx.size)
        self.next_anon += idx.size
        self.anon[idx] = ids
        self.anon_device.extend(devices.tolist())

    def _visits(self, P_: np.ndarray, tn: np.ndarray, is_click: np.ndarray):
        prm, rng = self.prm, self.rv
        m = P_.size
        U = rng.random((m, 12))
        t = np.floor(tn).astype(np.int64)
        earliest = self.last_end[P_] + prm["min_gap_between_visits_minutes"] * 60
        collide = t < earliest
        t = np.where(collide, earliest + (U[:, 11] * 600).astype(np.int64), t)
        drop = is_click & collide
        if drop.any():
            self.slots[SLOT_CLICK, P_[drop]] = INF
            keep = ~drop
            P_, tn, t, is_click, U = P_[keep], tn[keep], t[keep], is_click[keep], U[keep]
            m = P_.size
            if not m:
                return
        # device switch decided when this organic visit was scheduled
        sw = ~is_click & self.next_new[P_]
        if sw.any():
            idx = P_[sw]
            self.dev[idx] = self.next_dev[idx]
            self._new_anons(idx, self.dev[idx])
            self.anon_idd[idx] = False
            self.next_new[idx] = False
        dev = self.dev[P_]
        phase0 = self.phase[P_]
        # channel
        ch = np.full(m, EMAIL_CH, dtype=np.int8)
        org = ~is_click
        first = org & (self.nvis[P_] == 0) & (phase0 == 0)
        ch[first] = self.p.acq_ch[P_[first]]
        pros = org & ~first & (phase0 == 0)
        ch[pros] = self.ret_ch[np.searchsorted(self.prospect_mix_cum, U[pros, 0], side="right").clip(0, 3)]
        cust = org & (phase0 >= 1)
        if cust.any():
            cum = self.lat.mix_cum[P_[cust]]
            k = (U[cust, 0][:, None] > cum[:, :-1]).sum(axis=1)
            ch[cust] = self.ret_ch[k]
        # funnel depth (1..5), drawn once from the (channel, device) reach probabilities
        r = self.reach[ch, dev]                       # (m, 4)
        depth = 1 + (U[:, 1][:, None] < r).sum(axis=1)
        # identification
        reg0, idd0, ident0 = self.registered[P_], self.anon_idd[P_], self.identified[P_]
        login_start = reg0 & ~idd0 & (U[:, 2] < prm["login_prob_visit_start"])
        idd1 = idd0 | login_start
        signup_browse = ~ident0 & (depth >= 2) & (depth <= 4) & (U[:, 3] < prm["signup_prob_browse"])
        reg1 = reg0 | signup_browse
        ident1 = ident0 | signup_browse
        idd1 = idd1 | signup_browse
        login_chk = (depth >= 4) & ~idd1 & reg1
        purchase = depth == 5
        signup_chk = purchase & ~ident1 & (U[:, 4] < prm["signup_prob_checkout"])
        reg2 = reg1 | signup_chk
        ident2 = ident1 | purchase
        idd2 = idd1 | login_chk | signup_chk | purchase
        remove = (depth >= 3) & (depth <= 4) & (U[:, 5] < prm["remove_from_cart_prob"])
        extra_pv = rng.poisson(prm["extra_page_views_mean"], m)
        review = (self.n_valid[P_] > 0) & idd0 & (U[:, 6] < prm["review_prob"])
        n_ev = (is_click.astype(np.int64) + login_start + 1 + extra_pv + (depth - 1) + signup_browse
                + login_chk + signup_chk + remove + review)
        g = prm["event_gap_seconds"]
        dur = g["min"] * (n_ev - 1) + np.floor(rng.gamma(np.maximum(n_ev - 1, 1e-9), g["mean_extra"])).astype(np.int64)
        dur = np.where(n_ev > 1, np.minimum(dur, g["max_visit_minutes"] * 60), 0)
        ok = t + dur < self.t_end
        if not ok.all():
            gone = P_[~ok]
            self.slots[SLOT_VISIT, gone] = INF
            self.slots[SLOT_CLICK, gone] = INF
            sel = ok
            (P_, tn, t, is_click, U, dev, phase0, ch, depth, login_start, signup_browse, login_chk, purchase,
             signup_chk, reg2, ident0, ident2, idd2, remove, extra_pv, review, n_ev, dur) = (
                a[sel] for a in (P_, tn, t, is_click, U, dev, phase0, ch, depth, login_start, signup_browse,
                                 login_chk, purchase, signup_chk, reg2, ident0, ident2, idd2, remove, extra_pv,
                                 review, n_ev, dur))
            m = P_.size
            if not m:
                return
        # state updates: identification
        self.registered[P_] = reg2
        self.identified[P_] = ident2
        self.anon_idd[P_] = idd2
        t_done = t + dur
        newly = ident2 & ~ident0
        if newly.any():
            idx = P_[newly]
            self.subscribed[idx] = self.lat.opt_in[idx] & self.email_on
            sub = self.subscribed[idx]
            wd = prm["welcome_delay_minutes"]
            self.slots[2 + ET_WELCOME, idx[sub]] = (t_done[newly][sub] + 60 * (wd[0] + (wd[1] - wd[0]) * U[newly, 7][sub]))
            ni = np.searchsorted(self.news, t_done[newly], side="right")
            self.news_idx[idx] = ni
            ok_n = sub & (ni < self.news.size)
            self.slots[2 + ET_NEWS, idx[ok_n]] = self.news[ni[ok_n]]
        # orders
        cancel = purchase & (U[:, 8] < prm["cancel_rate"])
        valid = purchase & ~cancel
        first_o = valid & (phase0 == 0)
        repeat_o = valid & (phase0 == 1) & ~is_click
        email_o = valid & (phase0 >= 1) & is_click
        kind = np.full(m, NO_ORDER, np.int8)
        kind[first_o], kind[repeat_o], kind[email_o], kind[cancel] = FIRST_ORDER, REPEAT_ORDER, EMAIL_ORDER, CANCELLED_ORDER
        drop_out = repeat_o & (U[:, 9] < self.lat.p_drop[P_])
        phase1 = phase0.copy()
        phase1[first_o] = 1
        phase1[drop_out] = 2
        self.phase[P_] = phase1
        nv = self.n_valid[P_] + valid
        self.n_valid[P_] = nv
        if valid.any():
            vi = P_[valid]
            self.last_order[vi] = t[valid]
            subv = self.subscribed[vi]
            self.slots[2 + ET_WINBACK, vi[subv]] = t[valid][subv] + prm["winback_after_days"] * DAY
            self.slots[2 + ET_WINBACK, vi[~subv]] = INF
            loy = (nv[valid] == prm["loyalty_after_orders"]) & subv
            self.slots[2 + ET_LOYALTY, vi[loy]] = t[valid][loy] + DAY
        # abandoned cart
        cart = (depth >= 3) & (depth <= 4) & idd2 & self.subscribed[P_] & np.isinf(self.slots[2 + ET_CART, P_])
        if cart.any():
            ci = P_[cart]
            dl = prm["abandoned_cart_delay_hours"]
            self.slots[2 + ET_CART, ci] = t_done[cart] + HOUR * (dl[0] + (dl[1] - dl[0]) * rng.random(ci.size))
            self.cart_t[ci] = t[cart]
        # next organic visit
        alive = phase1 == 1
        resched = alive & (~is_click | first_o)
        ident_next = ident2
        new_dev = ident_next & (U[:, 10] < prm["new_device_prob"])
        if resched.any():
            ri = P_[resched]
            nd = new_dev[resched]
            nxt = self.dev[ri].copy()
            nxt[nd] = np.searchsorted(self.new_dev_cum, rng.random(nd.sum()), side="right").clip(0, 2)
            self.next_new[ri] = nd
            self.next_dev[ri] = nxt
            rate = self.lat.lam[ri] / (self.lat.cbar[ri, nxt] * (1 - prm["cancel_rate"]))
            base = np.where(first_o[resched], t[resched].astype(float), tn[resched])
            self.slots[SLOT_VISIT, ri] = base + rng.exponential(1.0, ri.size) / rate * DAY
        self.slots[SLOT_VISIT, P_[phase1 == 2]] = INF
        pro = phase1 == 0
        if pro.any():
            pi = P_[pro]
            rp = np.array(prm["prospect_return_prob_by_depth"] + [0.0])[np.minimum(depth[pro], 5) - 1]
            rp = np.where(reg2[pro], np.minimum(rp + prm["prospect_return_prob_registered_bonus"], 1.0), rp)
            rp = np.where(cancel[pro], prm["prospect_return_prob_after_cancel"], rp)
            back = (rng.random(pi.size) < rp) & (self.nvis[pi] + 1 < prm["max_prospect_visits"])
            gap = HOUR + rng.exponential(prm["prospect_return_gap_days_mean"] * DAY, pi.size)
            self.slots[SLOT_VISIT, pi] = np.where(back, t_done[pro] + gap, INF)
            ndp = new_dev[pro] & back
            self.next_new[pi] = ndp
            nxt = self.dev[pi].copy()
            nxt[ndp] = np.searchsorted(self.new_dev_cum, rng.random(ndp.sum()), side="right").clip(0, 2)
            self.next_dev[pi] = nxt
        self.slots[SLOT_CLICK, P_[is_click]] = INF
        click_type = np.where(is_click, self.click_type[P_], -1).astype(np.int8)
        self.last_end[P_] = t_done
        self.nvis[P_] += 1
        self.visits.append(dict(
            person=P_, anon=self.anon[P_].copy(), t=t, channel=ch, device=dev, depth=depth.astype(np.int8),
            is_click=is_click, click_type=click_type, login_start=login_start, signup_browse=signup_browse,
            login_chk=login_chk, signup_chk=signup_chk, remove=remove, extra_pv=extra_pv.astype(np.int16),
            review=review, n_ev=n_ev.astype(np.int32), dur=dur, order_kind=kind,
        ))

    # ------------------------------------------------------------------------------------
    def _emails(self, P_: np.ndarray, ts: np.ndarray, et: np.ndarray):
        prm, rng = self.prm, self.re
        m = P_.size
        self.slots[2 + et, P_] = INF
        ok = self.subscribed[P_].copy()
        ok &= ~((et == ET_CART) & (self.last_order[P_] > self.cart_t[P_]))
        # newsletters: schedule the next one now (it is cancelled below on unsubscribe)
        nw = et == ET_NEWS
        if nw.any():
            ni = P_[nw]
            camp_month = self.news_idx[ni].copy()
            self.news_idx[ni] += 1
            nxt = self.news_idx[ni]
            has = (nxt < self.news.size) & self.subscribed[ni]
            self.slots[2 + ET_NEWS, ni[has]] = self.news[nxt[has]]
        else:
            camp_month = np.zeros(0, np.int64)
        campaign = et.astype(np.int64) * 0
        # campaign index: 0 welcome, 1 abandoned_cart, 2 winback, 3 loyalty, 4 + month newsletters
        campaign[et == ET_WELCOME] = 0
        campaign[et == ET_CART] = 1
        campaign[et == ET_WINBACK] = 2
        campaign[et == ET_LOYALTY] = 3
        campaign[nw] = 4 + camp_month
        U = rng.random((m, 8))
        t = np.floor(ts).astype(np.int64)
        bounce = U[:, 0] < prm["bounce_rate"]
        opened = ~bounce & (U[:, 1] < self.open_rate[et])
        clicked = opened & (U[:, 2] < self.click_rate[et])
        unsub = opened & (U[:, 3] < self.unsub_rate[et])
        td = t + 2 + (U[:, 4] * 118).astype(np.int64)
        to = td + np.minimum(rng.exponential(prm["open_delay_hours_mean"] * HOUR, m), 3 * DAY).astype(np.int64)
        tc = to + 5 + (U[:, 5] * 295).astype(np.int64)
        tu = to + 30 + (U[:, 6] * 870).astype(np.int64)
        unsub &= tu < self.t_end
        u_ok = unsub & ok
        if u_ok.any():
            ui = P_[u_ok]
            self.subscribed[ui] = False
            self.slots[2:, ui] = INF
        if self.effects_on:
            go = clicked & ok & (tc < self.t_end) & np.isinf(self.slots[SLOT_CLICK, P_])
            if go.any():
                gi = P_[go]
                self.slots[SLOT_CLICK, gi] = tc[go]
                self.click_type[gi] = et[go]
        if ok.any():
            s = ok
            self.sends.append(dict(
                person=P_[s], campaign=campaign[s], ctype=et[s].astype(np.int8), t=t[s], bounce=bounce[s],
                opened=opened[s], clicked=clicked[s], unsub=unsub[s], td=td[s], to=to[s], tc=tc[s], tu=tu[s],
            ))

    # ------------------------------------------------------------------------------------
    def result(self) -> tuple[dict, dict]:
        def cat(rows, fields):
            if not rows:
                return {k: np.zeros(0, dtype=dt) for k, dt in fields.items()}
            return {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
        visits = cat(self.visits, {k: np.int64 for k in (
            "person", "anon", "t", "channel", "device", "depth", "is_click", "click_type", "login_start",
            "signup_browse", "login_chk", "signup_chk", "remove", "extra_pv", "review", "n_ev", "dur", "order_kind")})
        sends = cat(self.sends, {k: np.int64 for k in (
            "person", "campaign", "ctype", "t", "bounce", "opened", "clicked", "unsub", "td", "to", "tc", "tu")})
        return visits, sends
