"""Parameters of the synthetic shop and the presets that fix them.

Every number that shapes the data lives here, is copied verbatim into ground_truth.json
(`parameters`), and can be overridden by keyword (`generate(..., customers=500)`; nested keys
with a double underscore, e.g. `btyd__r=0.5`). Units: time in days unless a name says otherwise,
money in the reporting currency (USD).
"""
from __future__ import annotations

import copy
from datetime import date

CHANNELS = ("organic_search", "paid_search", "social", "email", "direct", "referral")
DEVICES = ("desktop", "mobile", "tablet")
PAID_CHANNELS = ("paid_search", "social")
# Channels a visitor can arrive through on a first, non-referred visit.
ACQUISITION_CHANNELS = ("organic_search", "paid_search", "social", "direct")
# Channels of organic (not e-mail driven) visits of returning prospects and customers.
RETURN_CHANNELS = ("organic_search", "paid_search", "social", "direct")
FUNNEL_STEPS = ("page_view", "product_view", "add_to_cart", "begin_checkout", "purchase")
CAMPAIGN_TYPES = ("welcome", "abandoned_cart", "newsletter", "winback", "loyalty")
CURRENCIES = ("USD", "EUR", "GBP")
TIERS = ("basic", "standard", "premium")

# country -> (share of visitors, currency, standard UTC offset hours choices, their weights, DST rule)
COUNTRIES = {
    "US": (0.55, "USD", (-5, -6, -7, -8), (0.50, 0.30, 0.05, 0.15), "us"),
    "GB": (0.15, "GBP", (0,), (1.0,), "eu"),
    "DE": (0.10, "EUR", (1,), (1.0,), "eu"),
    "FR": (0.08, "EUR", (1,), (1.0,), "eu"),
    "ES": (0.04, "EUR", (1,), (1.0,), "eu"),
    "IT": (0.04, "EUR", (1,), (1.0,), "eu"),
    "NL": (0.04, "EUR", (1,), (1.0,), "eu"),
}

# Product catalogue: category -> (base list price in USD, popularity weight).
CATEGORIES = {
    "apparel": (38.0, 0.24),
    "footwear": (64.0, 0.14),
    "accessories": (16.0, 0.14),
    "beauty": (21.0, 0.12),
    "home": (29.0, 0.12),
    "electronics": (89.0, 0.10),
    "sports": (44.0, 0.08),
    "books": (13.0, 0.06),
}


def _funnel_table(base: dict, device_factor: dict) -> dict:
    """channel -> device -> {step: P(reach step | reached previous step)} (product of base and factor)."""
    table = {}
    for ch, probs in base.items():
        table[ch] = {}
        for dev, fac in device_factor.items():
            table[ch][dev] = {
                step: round(min(0.95, p * f), 3)
                for step, p, f in zip(FUNNEL_STEPS[1:], probs, fac)
            }
    return table


_FUNNEL_BASE = {  # P(product_view|page_view), P(add_to_cart|product_view), P(begin_checkout|cart), P(purchase|checkout)
    "organic_search": (0.64, 0.50, 0.66, 0.80),
    "paid_search": (0.70, 0.52, 0.64, 0.78),
    "social": (0.52, 0.38, 0.56, 0.70),
    "email": (0.74, 0.56, 0.70, 0.82),
    "direct": (0.68, 0.54, 0.70, 0.84),
    "referral": (0.76, 0.58, 0.70, 0.84),
}
_DEVICE_FACTOR = {
    "desktop": (1.05, 1.08, 1.08, 1.05),
    "mobile": (0.95, 0.90, 0.85, 0.90),
    "tablet": (1.00, 0.97, 0.95, 0.97),
}

BASE_PARAMETERS: dict = {
    # ---- scale and calendar -------------------------------------------------------------
    "customers": 2000,            # target number of identified persons (customers table), approximate
    "start_date": "2025-01-01",   # first day of data (UTC)
    "end_date": "2026-06-30",     # last day of data (UTC), inclusive
    "format": "csv",
    "events": True,               # simulate web visits/events (False: orders-only BTYD simulation)
    "email": True,                # e-mail campaigns and e-mail events
    "email_effects": True,        # e-mail clicks lead to visits (and so to recovery/win-back orders)
    "block_persons": 400_000,     # persons simulated per block (bounds memory; one part file per block)
    "chunked_tables": [],         # tables written as <table>/part-NNNNN.* (one part per block)
    "first_purchase_window_days": 365,  # orders-only mode: first purchases uniform over this window
    # ---- visitors and visits ------------------------------------------------------------
    "acquisition_mix": {"organic_search": 0.30, "paid_search": 0.25, "social": 0.20, "direct": 0.25},
    "device_mix": {  # device of a visitor's first device, by the channel of the first visit
        "organic_search": {"desktop": 0.50, "mobile": 0.40, "tablet": 0.10},
        "paid_search": {"desktop": 0.45, "mobile": 0.45, "tablet": 0.10},
        "social": {"desktop": 0.25, "mobile": 0.65, "tablet": 0.10},
        "direct": {"desktop": 0.55, "mobile": 0.35, "tablet": 0.10},
        "referral": {"desktop": 0.40, "mobile": 0.50, "tablet": 0.10},
        "new_device": {"desktop": 0.45, "mobile": 0.45, "tablet": 0.10},
    },
    "arrivals": {
        "growth_start": 0.8,       # arrival intensity multiplier on the first day ...
        "growth_end": 1.2,         # ... and on the last day (linear in between)
        "weekday_factor": [1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.95],   # Monday..Sunday
        "peak_season": {"from_md": "11-15", "to_md": "12-20", "factor": 1.4},
        "local_hour_weights": [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 3.5, 3.5, 3.5, 4, 4, 3.5,
                               3.5, 3.5, 4, 4.5, 5, 5, 4.5, 3, 2],
    },
    "prospect_return_mix": {"organic_search": 0.35, "paid_search": 0.20, "social": 0.15, "direct": 0.30},
    "customer_return_mix": {"organic_search": 0.30, "paid_search": 0.15, "social": 0.15, "direct": 0.40},
    "acquisition_channel_weight_in_return_mix": 0.3,  # mix_i = (1-w) * customer_return_mix + w * onehot(acq)
    "prospect_return_prob_by_depth": [0.22, 0.35, 0.50, 0.55],  # P(another visit) after a visit of depth 1..4
    "prospect_return_prob_registered_bonus": 0.15,
    "prospect_return_prob_after_cancel": 0.8,
    "prospect_return_gap_days_mean": 4.0,   # exponential, plus one hour
    "max_prospect_visits": 40,
    # ---- funnel -------------------------------------------------------------------------
    "funnel_step_probabilities": _funnel_table(_FUNNEL_BASE, _DEVICE_FACTOR),
    "extra_page_views_mean": 0.35,          # Poisson extra page_views after the first page_view
    "remove_from_cart_prob": 0.12,          # in visits that reach add_to_cart but do not buy
    "review_prob": 0.04,                    # per visit of a logged-in customer with an order
    "event_gap_seconds": {"min": 5, "mean_extra": 40, "max_visit_minutes": 25},
    "min_gap_between_visits_minutes": 31,
    # ---- identification -----------------------------------------------------------------
    "signup_prob_browse": 0.06,             # unidentified visitor signs up in a visit reaching product_view
    "signup_prob_checkout": 0.55,           # unidentified buyer signs up at checkout (else guest checkout)
    "login_prob_visit_start": 0.5,          # registered customer on an unidentified device logs in at start
    "new_device_prob": 0.06,                # identified person's next visit is on a new device (anonymous_id)
    "shared_anonymous_id_rate": 0.01,       # share of customers whose first device was used by an earlier customer
    # ---- buy till you die (per day) ------------------------------------------------------
    "btyd": {"r": 0.8, "alpha": 110.0, "a": 1.3, "b": 4.5},
    # ---- order values (Gamma-Gamma, USD) --------------------------------------------------
    "gamma_gamma": {"p": 5.0, "q": 3.2, "gamma": 30.0},
    "basket": {"extra_lines_base": 0.25, "extra_lines_per_usd": 1 / 150, "max_lines": 5, "max_quantity": 6,
               "candidate_categories": 3},
    "tier_mix_first_order": {"basic": 0.45, "standard": 0.40, "premium": 0.15},
    "upsell_rate": 0.12,                    # P(a valid repeat order moves the customer one tier up)
    "products_per_category_tier": 5,
    # ---- order status -------------------------------------------------------------------
    "cancel_rate": 0.04,                    # P(an order is cancelled); cancelled orders are not BTYD purchases
    "return_rate": 0.09,                    # P(a valid order is returned)
    "return_visible_after_days": 14,        # a returned order shows 'returned' once this old
    "ship_after_days": 1,                   # 'placed' until then, then 'shipped'
    "deliver_after_days": [3, 6],           # uniform integer, then 'delivered'
    # ---- currency -----------------------------------------------------------------------
    "fx": {"EUR": {"start": 1.04, "daily_sd": 0.004}, "GBP": {"start": 1.25, "daily_sd": 0.004}},
    # ---- e-mail -------------------------------------------------------------------------
    "email_opt_in_rate": 0.8,
    "bounce_rate": 0.02,                    # P(bounce | sent); otherwise delivered
    "open_rate": {"welcome": 0.60, "abandoned_cart": 0.45, "newsletter": 0.25, "winback": 0.20, "loyalty": 0.40},
    "click_rate": {"welcome": 0.25, "abandoned_cart": 0.35, "newsletter": 0.12, "winback": 0.20, "loyalty": 0.25},
    "unsubscribe_rate": {"welcome": 0.01, "abandoned_cart": 0.02, "newsletter": 0.03, "winback": 0.06, "loyalty": 0.01},
    "extra_opens_mean": 0.4,                # Poisson further open events per opened e-mail
    "open_delay_hours_mean": 4.0,
    "welcome_delay_minutes": [2, 10],
    "abandoned_cart_delay_hours": [1, 4],
    "winback_after_days": 120,
    "loyalty_after_orders": 4,
    "newsletter_day_of_month": 10,
    "newsletter_hour_utc": 15,
    # ---- NPS and referrals -----------------------------------------------------------------
    "nps": {"response_prob": 0.15, "delay_days": [7, 21], "base": 8.2, "per_repeat_order": 0.25,
            "max_repeat_bonus_orders": 4, "returned_penalty": 3.0, "cancelled_before_penalty": 1.5, "sd": 1.6},
    "referral": {"prob_after_nps": {"promoter": 0.30, "passive": 0.08, "detractor": 0.02},
                 "prob_after_valid_order": 0.01, "delay_days_mean": 10.0, "same_country_prob": 0.7},
    # ---- marketing spend -----------------------------------------------------------------
    "cost_per_new_visitor": {"paid_search": 1.6, "social": 1.0},   # USD of spend per new visitor it brings
    "spend_noise_sd": 0.2,                  # lognormal noise of daily spend
    "click_through_rate": {"paid_search": 0.035, "social": 0.012},
    "untracked_click_share": 0.09,          # clicks = tracked sessions + Poisson(share * sessions)
    # ---- timestamp formats ------------------------------------------------------------------
    "timestamp_local_offset_share": 0.10,   # customer/order/event timestamps written with the local offset
    "timestamp_z_share": 0.015,             # ... written as YYYY-MM-DDTHH:MM:SSZ
    # Empirical correction of the analytic identification probability (visits cut by the end of
    # the range, caps); only affects how many visitors are drawn for a target number of customers.
    "customers_calibration": 1.03,
}

PRESETS: dict[str, dict] = {
    "demo": {},
    "medium": {"customers": 20000, "format": "parquet"},
    "large": {"customers": 288000, "format": "parquet", "block_persons": 100_000,
              "chunked_tables": ["events", "orders", "order_items", "email_events"]},
    # 10x large, same story and range. Visitors are drawn one day at a time (arrivals_days_per_draw,
    # a key only streamed presets have: without it all visitors of the range are drawn at once, as
    # for the presets above) and simulated and written in blocks of block_persons visitors (about
    # 230k events, one part per block), so memory is bounded by one block whatever the size.
    "xlarge": {"customers": 2_880_000, "format": "parquet", "block_persons": 25_000,
               "chunked_tables": ["events", "orders", "order_items", "email_events"],
               "arrivals_days_per_draw": 1},
    "clv": {"customers": 10000, "format": "parquet", "events": False, "email": False,
            "email_effects": False},
}


def resolve(preset: str, overrides: dict | None = None) -> dict:
    """The full parameter dict of a preset with keyword overrides applied (a__b sets p['a']['b'])."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    params = copy.deepcopy(BASE_PARAMETERS)
    params.update(copy.deepcopy(PRESETS[preset]))
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        path = key.split("__")
        target = params
        for part in path[:-1]:
            if part not in target or not isinstance(target[part], dict):
                raise ValueError(f"unknown parameter {key!r}")
            target = target[part]
        if path[-1] not in target:
            raise ValueError(f"unknown parameter {key!r}")
        target[path[-1]] = value
    params["preset"] = preset
    if not params["events"]:
        # Without visits there is nothing for e-mail to act on.
        params["email"] = False
        params["email_effects"] = False
    d0, d1 = date.fromisoformat(params["start_date"]), date.fromisoformat(params["end_date"])
    if d1 < d0:
        raise ValueError("end_date is before start_date")
    return params
