"""The fixed world the shop lives in: calendar, random streams, time zones, products, exchange
rates, visitor arrivals and paid-media spend."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import numpy as np

from . import params as P

DAY = 86400
HOUR = 3600

# One code per concern: every concern draws from its own stream, spawned from the seed, so that
# changing how much one concern draws never shifts another (and bad-row injection never shifts
# good rows).
CONCERNS = {
    "catalog": 1, "fx": 2, "arrivals": 3, "spend": 4, "persons": 5, "visits": 6, "email": 7,
    "orders": 8, "baskets": 9, "events": 10, "nps": 11, "referrals": 12, "shared": 13,
    "tsformat": 14, "clicks": 15, "email_times": 16, "inject": 17, "btyd": 18, "customers": 19,
}


class Streams:
    """Independent numpy Generators per concern (and per block / generation), from one seed."""

    def __init__(self, seed: int):
        if seed < 0:
            raise ValueError("seed must be a non-negative integer")
        self.seed = int(seed)

    def get(self, concern: str, *keys: int) -> np.random.Generator:
        ss = np.random.SeedSequence(self.seed, spawn_key=(CONCERNS[concern], *[int(k) for k in keys]))
        return np.random.default_rng(ss)


def epoch(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp())


@dataclass
class Calendar:
    start: date
    end: date            # inclusive last day

    @property
    def t0(self) -> int:
        return epoch(self.start)

    @property
    def t_end(self) -> int:
        """Exclusive end instant: midnight after the last day."""
        return epoch(self.end + timedelta(days=1))

    @property
    def n_days(self) -> int:
        return (self.end - self.start).days + 1

    def day_index(self, t):
        return (np.asarray(t, dtype=np.int64) - self.t0) // DAY

    def newsletter_times(self, day_of_month: int, hour: int) -> np.ndarray:
        out = []
        y, m = self.start.year, self.start.month
        while True:
            d = date(y, m, day_of_month)
            if d > self.end:
                break
            if d >= self.start:
                out.append(epoch(d) + hour * HOUR)
            m += 1
            if m == 13:
                y, m = y + 1, 1
        return np.array(out, dtype=np.int64)


# --------------------------------------------------------------------------------------------
# Time zones: a fixed standard offset per person plus daylight saving time (EU or US rule).
# --------------------------------------------------------------------------------------------
def _last_sunday(y: int, m: int) -> date:
    d = date(y, m + 1, 1) - timedelta(days=1) if m < 12 else date(y, 12, 31)
    return d - timedelta(days=(d.weekday() - 6) % 7)


def _nth_sunday(y: int, m: int, n: int) -> date:
    d = date(y, m, 1)
    d += timedelta(days=(6 - d.weekday()) % 7)
    return d + timedelta(weeks=n - 1)


class TimeZones:
    """utc offset (seconds) of (standard offset hours, DST rule, instant)."""

    def __init__(self, cal: Calendar):
        self.years = np.arange(cal.start.year - 1, cal.end.year + 2)
        eu_s, eu_e, us_s, us_e = [], [], [], []
        for y in self.years:
            eu_s.append(epoch(_last_sunday(y, 3)) + HOUR)
            eu_e.append(epoch(_last_sunday(y, 10)) + HOUR)
            us_s.append(epoch(_nth_sunday(y, 3, 2)) + 2 * HOUR)   # 02:00 local standard (minus offset below)
            us_e.append(epoch(_nth_sunday(y, 11, 1)) + 1 * HOUR)  # 02:00 local daylight = 01:00 standard
        self.eu = (np.array(eu_s), np.array(eu_e))
        self.us = (np.array(us_s), np.array(us_e))

    def offset_seconds(self, std_hours, rule_us, t) -> np.ndarray:
        t = np.asarray(t, dtype=np.int64)
        std = np.asarray(std_hours, dtype=np.int64) * HOUR
        year = t.astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64) + 1970
        yi = np.clip(year - self.years[0], 0, len(self.years) - 1)
        rule_us = np.asarray(rule_us, dtype=bool)
        s = np.where(rule_us, self.us[0][yi] - std, self.eu[0][yi])
        e = np.where(rule_us, self.us[1][yi] - std, self.eu[1][yi])
        return std + np.where((t >= s) & (t < e), HOUR, 0)


# --------------------------------------------------------------------------------------------
# Products
# --------------------------------------------------------------------------------------------
@dataclass
class Catalog:
    product_ids: np.ndarray      # int, 1..n
    category: np.ndarray         # index into CATEGORIES
    tier: np.ndarray             # 0 basic, 1 standard, 2 premium
    price_cents: np.ndarray      # list price in USD cents
    grid: np.ndarray             # (n_cat, n_tier, k) product index, sorted by price
    grid_price: np.ndarray       # (n_cat, n_tier, k) USD list price
    cat_weights: np.ndarray
    popularity: np.ndarray       # per product, for browsing


def build_catalog(rng: np.random.Generator, per_cell: int) -> Catalog:
    cats = list(P.CATEGORIES)
    tier_mult = np.array([0.6, 1.0, 1.9])
    n_cat, n_tier = len(cats), len(P.TIERS)
    base = np.array([P.CATEGORIES[c][0] for c in cats])
    spread = np.sort(rng.uniform(-0.45, 0.45, size=(n_cat, n_tier, per_cell)), axis=2)
    raw = base[:, None, None] * tier_mult[None, :, None] * np.exp(spread)
    cents = (np.maximum(np.floor(raw), 1.0) * 100 + 99).astype(np.int64)
    idx = np.arange(n_cat * n_tier * per_cell).reshape(n_cat, n_tier, per_cell)
    cat = np.repeat(np.arange(n_cat), n_tier * per_cell)
    tier = np.tile(np.repeat(np.arange(n_tier), per_cell), n_cat)
    cat_w = np.array([P.CATEGORIES[c][1] for c in cats])
    cat_w = cat_w / cat_w.sum()
    pop = cat_w[cat] * np.array([0.45, 0.40, 0.15])[tier] * rng.gamma(2.0, 0.5, size=cat.size)
    return Catalog(
        product_ids=np.arange(1, cat.size + 1), category=cat, tier=tier, price_cents=cents.ravel(),
        grid=idx, grid_price=cents / 100.0, cat_weights=cat_w, popularity=pop / pop.sum(),
    )


# --------------------------------------------------------------------------------------------
# Exchange rates: USD per unit, a daily geometric random walk, 6 decimals.
# --------------------------------------------------------------------------------------------
def build_fx(rng: np.random.Generator, cal: Calendar, fx: dict) -> dict[str, np.ndarray]:
    out = {"USD": np.ones(cal.n_days)}
    for cur in P.CURRENCIES[1:]:
        steps = rng.normal(0.0, fx[cur]["daily_sd"], size=cal.n_days)
        steps[0] = 0.0
        out[cur] = np.round(fx[cur]["start"] * np.exp(np.cumsum(steps)), 6)
    return out


# --------------------------------------------------------------------------------------------
# Arrivals and spend
# --------------------------------------------------------------------------------------------
def day_intensity(cal: Calendar, arr: dict) -> np.ndarray:
    n = cal.n_days
    frac = np.arange(n) / max(n - 1, 1)
    growth = arr["growth_start"] + (arr["growth_end"] - arr["growth_start"]) * frac
    days = [cal.start + timedelta(days=i) for i in range(n)]
    weekday = np.array([arr["weekday_factor"][d.weekday()] for d in days])
    f_md, t_md = arr["peak_season"]["from_md"], arr["peak_season"]["to_md"]
    season = np.array([arr["peak_season"]["factor"] if f_md <= d.strftime("%m-%d") <= t_md else 1.0 for d in days])
    return growth * weekday * season


@dataclass
class Arrivals:
    """First-time, non-referred visitors of the whole range (or of some days), sorted by arrival time."""
    t: np.ndarray            # arrival instant (epoch seconds)
    channel: np.ndarray      # index into CHANNELS
    device: np.ndarray       # index into DEVICES
    country: np.ndarray      # index into COUNTRIES
    std_offset: np.ndarray   # standard UTC offset, hours
    rule_us: np.ndarray      # DST rule: True US, False EU
    spend_cents: np.ndarray | None  # (n_days, n_paid) daily spend per paid channel (whole range only)
    expected: np.ndarray | None     # (n_days, n_acq) expected arrivals per day and acquisition channel


def sample_countries(rng: np.random.Generator, n: int):
    names = list(P.COUNTRIES)
    share = np.array([P.COUNTRIES[c][0] for c in names])
    country = rng.choice(len(names), size=n, p=share / share.sum())
    std = np.zeros(n, dtype=np.int8)
    rule_us = np.zeros(n, dtype=bool)
    u = rng.random(n)
    for i, c in enumerate(names):
        m = country == i
        _, _, offs, w, rule = P.COUNTRIES[c]
        cw = np.cumsum(w) / np.sum(w)
        std[m] = np.array(offs, dtype=np.int8)[np.searchsorted(cw, u[m], side="right").clip(0, len(offs) - 1)]
        rule_us[m] = rule == "us"
    return country.astype(np.int8), std, rule_us


def sample_devices(rng: np.random.Generator, mix: dict, n: int) -> np.ndarray:
    w = np.array([mix[d] for d in P.DEVICES])
    return rng.choice(len(P.DEVICES), size=n, p=w / w.sum()).astype(np.int8)


@dataclass
class ArrivalPlan:
    """The day-level part of the arrival process: expected and drawn arrivals per day and channel."""
    counts: np.ndarray       # (n_days, n_acq) new visitors per day and acquisition channel
    spend_cents: np.ndarray  # (n_days, n_paid) daily spend per paid channel
    expected: np.ndarray     # (n_days, n_acq) expected arrivals per day and acquisition channel

    @property
    def n(self) -> int:
        return int(self.counts.sum())


def plan_arrivals(streams: Streams, cal: Calendar, prm: dict, n_persons_expected: float):
    """Spend and the Poisson number of new visitors per day and acquisition channel.
    Returns (plan, rng): rng is the `arrivals` stream after the counts were drawn."""
    rng = streams.get("arrivals")
    rs = streams.get("spend")
    acq = list(P.ACQUISITION_CHANNELS)
    share = np.array([prm["acquisition_mix"][c] for c in acq])
    share = share / share.sum()
    inten = day_intensity(cal, prm["arrivals"])
    per_day = n_persons_expected * inten / inten.sum()
    expected = per_day[:, None] * share[None, :]
    lam = expected.copy()
    spend = np.zeros((cal.n_days, len(P.PAID_CHANNELS)), dtype=np.int64)
    sd = prm["spend_noise_sd"]
    for j, ch in enumerate(P.PAID_CHANNELS):
        k = acq.index(ch)
        cpv = prm["cost_per_new_visitor"][ch]
        noise = np.exp(rs.normal(-sd * sd / 2, sd, size=cal.n_days))
        spend[:, j] = np.round(expected[:, k] * cpv * noise * 100).astype(np.int64)
        lam[:, k] = spend[:, j] / 100.0 / cpv      # spend buys visitors: E[new visitors] = spend / cost
    counts = rng.poisson(lam)
    return ArrivalPlan(counts=counts, spend_cents=spend, expected=expected), rng


def draw_visitors(rng: np.random.Generator, cal: Calendar, prm: dict, counts: np.ndarray, day0: int = 0) -> Arrivals:
    """The new visitors of days day0 .. day0 + len(counts) - 1 (counts per day and acquisition
    channel), sorted by arrival time. Arrival instants stay inside their day."""
    acq = list(P.ACQUISITION_CHANNELS)
    n_days = counts.shape[0]
    n = int(counts.sum())
    day = day0 + np.repeat(np.repeat(np.arange(n_days), len(acq)), counts.ravel())
    chan_local = np.repeat(np.tile(np.arange(len(acq)), n_days), counts.ravel())
    channel = np.array([P.CHANNELS.index(c) for c in acq], dtype=np.int8)[chan_local]
    country, std, rule_us = sample_countries(rng, n)
    hw = np.array(prm["arrivals"]["local_hour_weights"], dtype=float)
    hour = rng.choice(24, size=n, p=hw / hw.sum())
    local_sec = hour * HOUR + rng.integers(0, HOUR, size=n)
    t = cal.t0 + day * DAY + np.mod(local_sec - std.astype(np.int64) * HOUR, DAY)
    device = np.zeros(n, dtype=np.int8)
    u = rng.random(n)
    for c in acq:
        m = channel == P.CHANNELS.index(c)
        w = np.cumsum([prm["device_mix"][c][d] for d in P.DEVICES])
        device[m] = np.searchsorted(w / w[-1], u[m], side="right").clip(0, 2)
    order = np.argsort(t, kind="stable")
    return Arrivals(t=t[order], channel=channel[order], device=device[order], country=country[order],
                    std_offset=std[order], rule_us=rule_us[order], spend_cents=None, expected=None)


def build_arrivals(streams: Streams, cal: Calendar, prm: dict, n_persons_expected: float) -> Arrivals:
    """All new visitors of the range at once (from the `arrivals` stream after the counts)."""
    plan, rng = plan_arrivals(streams, cal, prm, n_persons_expected)
    arr = draw_visitors(rng, cal, prm, plan.counts)
    arr.spend_cents, arr.expected = plan.spend_cents, plan.expected
    return arr


def stream_arrivals(streams: Streams, cal: Calendar, prm: dict, plan: ArrivalPlan, days_per_draw: int):
    """The new visitors of the range, drawn `days_per_draw` days at a time, each draw from its own
    stream (`arrivals`, 1, draw number): yields Arrivals of consecutive day ranges, in time order.
    Memory is bounded by the visitors of one draw, whatever the range's total."""
    if days_per_draw < 1:
        raise ValueError("days_per_draw must be at least 1")
    for k, d0 in enumerate(range(0, cal.n_days, days_per_draw)):
        sub = plan.counts[d0:d0 + days_per_draw]
        yield draw_visitors(streams.get("arrivals", 1, k), cal, prm, sub, d0)


_ARRIVAL_FIELDS = ("t", "channel", "device", "country", "std_offset", "rule_us")


def rebatch(chunks, size: int):
    """Consecutive slices of exactly `size` visitors (the last one shorter) from a sequence of
    Arrivals chunks; holds at most one batch plus one chunk."""
    if size < 1:
        raise ValueError("block size must be at least 1")
    buf: list[Arrivals] = []
    have = 0
    empty = True
    for ch in chunks:
        buf.append(ch)
        have += ch.t.size
        while have >= size:
            cols = {f: np.concatenate([getattr(b, f) for b in buf]) for f in _ARRIVAL_FIELDS}
            out = {f: a[:size] for f, a in cols.items()}
            rest = {f: a[size:] for f, a in cols.items()}
            yield out
            empty = False
            have -= size
            buf = [Arrivals(**rest, spend_cents=None, expected=None)] if have else []
    if have or empty:      # the rest; or one empty block when there are no visitors at all
        yield {f: np.concatenate([getattr(b, f) for b in buf]) if buf else np.zeros(0)
               for f in _ARRIVAL_FIELDS}
