"""ground_truth.json: every parameter used and what was realised. Tests compare the project's
outputs with it. The file is deterministic for a preset, seed and overrides.

Top level
  generator            {"name", "schema_version"}
  preset, seed         how the data was made; `format` (csv|parquet), `prefix`, `bad_rate`
  date_range           {"start", "end" (inclusive UTC days), "end_exclusive_utc", "days"}; every good
                       timestamp lies in [start 00:00:00, end_exclusive_utc)
  reporting_currency   "USD"; `currencies`: currencies orders can be in
  tables_written       contract tables written (others are absent); `chunked_tables`: those written
                       as a directory of parts; `files`: table -> file or directory name
  parameters           the full parameter dict (params.BASE_PARAMETERS with the preset and overrides):
                       funnel_step_probabilities[channel][device][step] = P(step | previous step);
                       btyd {r, alpha, a, b} per day (lambda ~ Gamma(shape r, rate alpha), p ~ Beta(a, b));
                       gamma_gamma {p, q, gamma} in USD (nu ~ Gamma(shape q, rate gamma), value ~
                       Gamma(shape p, rate nu)); cancel_rate, return_rate, upsell_rate; e-mail
                       open/click/unsubscribe rates per campaign type; NPS and referral parameters;
                       cost_per_new_visitor, click_through_rate; timestamp format shares; ...

derived (closed-form consequences of the parameters)
  funnel_reach[channel][device]          P(a visit reaches page_view .. purchase), 5 numbers
  purchase_prob_per_visit[ch][dev]       P(a visit reaches purchase) (valid or cancelled order)
  identification_probability             P(a new non-referred visitor is ever identified), by
                                         acquisition channel and overall (ignores the range end)
  abandoned_cart_recovery_prob_given_click[device]
                                         P(an e-mail click visit ends in a valid order) =
                                         reach(email, device, purchase) * (1 - cancel_rate)
  btyd_mean_purchase_rate_per_day        r / alpha; btyd_mean_dropout_prob: a / (a + b)
  gamma_gamma_mean_order_value_usd       p * gamma / (q - 1)
  expected_cac_usd[channel]              cost_per_new_visitor / identification_probability[channel]
  visitors_expected                      visitors drawn to reach `customers` (events presets)

realised (counted in the written data; good rows only)
  rows[table]                            good rows written (injected rows are not counted)
  persons, referred_persons              visitors simulated (referred: arrived through a referral);
  arrivals_non_referred                  first-time visitors drawn from the arrival process
  anonymous_ids, visits, email_click_visits, events, events_by_type[type]
  funnel_sessions[channel][device]       visits (= sessions) reaching each of the 5 funnel steps
  customers, registered_customers, guest_customers, customers_by_acquisition_channel[channel]
  buyers                                 customers with a first valid order
  orders, valid_orders, cancelled_orders, orders_by_status[status]
  orders_by_kind                         first (time 0 of BTYD), btyd_repeat (valid repeat orders of
                                         the BTYD process), email_driven (valid orders in e-mail
                                         click visits of customers: not BTYD purchases), cancelled
  email_driven_orders_by_campaign_type   e-mail driven orders by the campaign type clicked
  returns                                {flagged: valid orders drawn as returned,
                                         valid_orders_old_enough: valid orders at least
                                         return_visible_after_days old at the range end (those
                                         show 'returned' when flagged)}
  btyd                                   {buyers, repeat_orders, expected_repeat_orders (sum over
                                         buyers of E[X(T_i)], T_i = days from first order to the
                                         range end), mean_observation_days}
  order_value                            {valid_orders_mean_usd: mean sum(quantity * list price),
                                         valid_orders_mean_target_usd: mean Gamma-Gamma draw}
  upsell                                 {upgrades (valid repeat orders drawn to move one tier up),
                                         tier_raising_upgrades (those not already at the top tier),
                                         valid_repeat_orders}
  email[campaign_type]                   sent, delivered, bounced, unique_opens, clicks, unsubscribes
                                         (events inside the range)
  nps                                    {responses, score_counts[0..10]}
  referrals                              {invitations, referred_customers}
  marketing[paid channel]                spend_usd, sessions, clicks, impressions,
                                         new_customers (acquisition_channel), cac_usd
  shared_anonymous_ids                   [{anonymous_id, first_customer_id, second_customer_id,
                                         second_identified_at}]: the id was identified as the first
                                         customer, then (after second_identified_at) as the second
  injected_bad_rows                      {table: {reason: rows}} or null for a clean run
"""
from __future__ import annotations

import numpy as np

from .. import contract
from . import params as P
from .theory import funnel_arrays, gamma_gamma_mean

ORDER_KINDS = ("first", "btyd_repeat", "email_driven", "cancelled")


def _py(x):
    if isinstance(x, dict):
        return {str(k): _py(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_py(v) for v in x]
    if isinstance(x, np.ndarray):
        return _py(x.tolist())
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    return x


def build_ground_truth(ctx, *, seed, fmt, prefix, bad_rate, tables, injected, extra) -> dict:
    prm, S, cal, W = ctx.prm, ctx.stats, ctx.cal, ctx.writer
    _, reach, _ = funnel_arrays(prm)
    cr = prm["cancel_rate"]
    funnel_reach = {ch: {dev: [1.0] + [round(float(x), 6) for x in reach[i, j]] for j, dev in enumerate(P.DEVICES)}
                    for i, ch in enumerate(P.CHANNELS)}
    derived = {
        "funnel_reach": funnel_reach,
        "purchase_prob_per_visit": {ch: {dev: funnel_reach[ch][dev][4] for dev in P.DEVICES} for ch in P.CHANNELS},
        "abandoned_cart_recovery_prob_given_click": {
            dev: round(float(reach[P.CHANNELS.index("email"), j, 3] * (1 - cr)), 6) for j, dev in enumerate(P.DEVICES)},
        "btyd_mean_purchase_rate_per_day": prm["btyd"]["r"] / prm["btyd"]["alpha"],
        "btyd_mean_dropout_prob": prm["btyd"]["a"] / (prm["btyd"]["a"] + prm["btyd"]["b"]),
        "gamma_gamma_mean_order_value_usd": gamma_gamma_mean(**prm["gamma_gamma"]),
    }
    if "identification_probability" in extra:
        pid = extra["identification_probability"]
        derived["identification_probability"] = pid
        derived["expected_cac_usd"] = {c: prm["cost_per_new_visitor"][c] / pid[c] for c in P.PAID_CHANNELS}
        derived["visitors_expected"] = extra["visitors_expected"]

    def by(names, arr):
        arr = np.asarray(arr if not np.isscalar(arr) else np.zeros(len(names)))
        return {n: int(arr[i]) for i, n in enumerate(names)}

    rows = {t: int(W.rows[t]) for t in tables}
    realised: dict = {"rows": rows}
    if prm["events"]:
        fr = np.asarray(S.get("funnel_reach", np.zeros((len(P.CHANNELS), 3, 5), np.int64)))
        realised.update({
            "persons": S.get("persons", 0),
            "referred_persons": S.get("referred_persons", 0),
            "arrivals_non_referred": extra.get("arrivals", 0),
            "anonymous_ids": S.get("anonymous_ids", 0),
            "visits": S.get("visits", 0),
            "email_click_visits": S.get("email_click_visits", 0),
            "events": S.get("events", 0),
            "events_by_type": by(contract.vocabulary("event_types"), S.get("events_by_type", 0)),
            "funnel_sessions": {ch: {dev: [int(x) for x in fr[i, j]] for j, dev in enumerate(P.DEVICES)}
                                for i, ch in enumerate(P.CHANNELS)},
        })
    customers = S.get("customers", 0)
    realised.update({
        "customers": customers,
        "registered_customers": S.get("registered_customers", 0),
        "guest_customers": customers - S.get("registered_customers", 0),
        "buyers": S.get("buyers", 0),
        "orders": S.get("orders", 0),
        "valid_orders": S.get("valid_orders", 0),
        "cancelled_orders": S.get("cancelled_orders", 0),
        "orders_by_status": by(contract.vocabulary("order_statuses"), S.get("orders_by_status", 0)),
        "orders_by_kind": by(ORDER_KINDS, S.get("orders_by_kind", 0)),
        "email_driven_orders_by_campaign_type": by(P.CAMPAIGN_TYPES, S.get("email_orders_by_campaign_type", 0)),
        "returns": {"flagged": S.get("returned_flagged_orders", 0),
                    "valid_orders_old_enough": S.get("valid_orders_old_enough_to_show_returns", 0)},
        "btyd": {
            "buyers": S.get("buyers", 0),
            "repeat_orders": S.get("btyd_repeat_orders", 0),
            "expected_repeat_orders": round(float(S.get("btyd_expected_repeat_orders", 0.0)), 3),
            "mean_observation_days": round(S.get("btyd_observation_days_sum", 0.0) / max(S.get("buyers", 0), 1), 3),
        },
        "order_value": {
            "valid_orders_mean_usd": round(S.get("valid_order_usd_value_cents_sum", 0) / 100 / max(S.get("valid_orders", 0), 1), 4),
            "valid_orders_mean_target_usd": round(S.get("valid_order_target_value_sum", 0.0) / max(S.get("valid_orders", 0), 1), 4),
        },
        "upsell": {"upgrades": S.get("upsell_upgrades", 0), "tier_raising_upgrades": S.get("upsell_tier_raises", 0),
                   "valid_repeat_orders": S.get("valid_repeat_orders", 0)},
    })
    if prm["events"]:
        realised["customers_by_acquisition_channel"] = by(P.CHANNELS, S.get("customers_by_acquisition_channel", 0))
        if prm["email"]:
            realised["email"] = {
                t: {k: int(np.asarray(S.get("email_" + k, np.zeros(5)))[i])
                    for k in ("sent", "delivered", "bounced", "unique_opens", "clicks", "unsubscribes")}
                for i, t in enumerate(P.CAMPAIGN_TYPES)}
        realised["nps"] = {"responses": S.get("nps_responses", 0),
                           "score_counts": [int(x) for x in np.asarray(S.get("nps_score_counts", np.zeros(11)))]}
        realised["referrals"] = {"invitations": S.get("referral_invitations", 0),
                                 "referred_customers": S.get("referrals", 0)}
        newc = realised["customers_by_acquisition_channel"]
        mk = {}
        for j, ch in enumerate(P.PAID_CHANNELS):
            spend = int(extra["spend_cents"][j]) / 100
            mk[ch] = {"spend_usd": round(spend, 2), "sessions": int(S["paid_sessions_by_channel"][j]),
                      "clicks": int(S["clicks_by_channel"][j]), "impressions": int(S["impressions_by_channel"][j]),
                      "new_customers": newc[ch], "cac_usd": round(spend / newc[ch], 4) if newc[ch] else None}
        realised["marketing"] = mk
        realised["shared_anonymous_ids"] = S.get("shared_anonymous_ids", [])
    realised["injected_bad_rows"] = injected
    files = {t: str(W.paths[t].name) for t in tables}
    out = {
        "generator": {"name": "customer_lifecycle.generator", "schema_version": 1},
        "preset": prm["preset"],
        "seed": seed,
        "format": fmt,
        "prefix": prefix,
        "bad_rate": bad_rate,
        "date_range": {"start": cal.start.isoformat(), "end": cal.end.isoformat(),
                       "end_exclusive_utc": str(np.datetime64(cal.t_end, "s")).replace("T", " "),
                       "days": cal.n_days},
        "reporting_currency": "USD",
        "currencies": list(P.CURRENCIES),
        "tables_written": list(tables),
        "chunked_tables": sorted(W.chunked),
        "files": files,
        "parameters": prm,
        "derived": derived,
        "realised": realised,
    }
    return _py(out)
