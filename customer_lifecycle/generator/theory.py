"""Closed-form quantities of the generating model: funnel reach, identification probability,
BG/NBD expectations and the Gamma-Gamma mean. Used to size the population, to fill
ground_truth.json and by the tests."""
from __future__ import annotations

import numpy as np
from scipy.special import hyp2f1

from . import params as P


def funnel_arrays(prm: dict):
    """cond[ch, dev, k]: P(step k+1 | step k) for k = 0..3 (product_view .. purchase);
    reach[ch, dev, k]: P(visit reaches step k+1), i.e. cumulative products;
    depth_p[ch, dev, d]: P(deepest step = d+1) for d = 0..4."""
    table = prm["funnel_step_probabilities"]
    cond = np.zeros((len(P.CHANNELS), len(P.DEVICES), 4))
    for i, ch in enumerate(P.CHANNELS):
        for j, dev in enumerate(P.DEVICES):
            cond[i, j] = [table[ch][dev][s] for s in P.FUNNEL_STEPS[1:]]
    reach = np.cumprod(cond, axis=2)
    full = np.concatenate([np.ones(reach.shape[:2] + (1,)), reach, np.zeros(reach.shape[:2] + (1,))], axis=2)
    depth_p = full[..., :-1] - full[..., 1:]
    return cond, reach, depth_p


def identification_probability(prm: dict) -> dict:
    """P(a new non-referred visitor is ever identified), by first channel and device, ignoring the
    end of the date range: identified in a visit if it buys (signup or guest checkout) or signs up
    while browsing; otherwise returns with the depth-dependent probability, later visits using
    prospect_return_mix on the same device."""
    _, _, depth_p = funnel_arrays(prm)
    s = prm["signup_prob_browse"]
    ret = np.array(prm["prospect_return_prob_by_depth"])
    browse = np.array([0.0, 1.0, 1.0, 1.0])        # depths 1..4 where a browse signup can happen
    q = depth_p[..., 4] + s * (depth_p[..., :4] * browse).sum(-1)
    rho = (depth_p[..., :4] * (1 - s * browse) * ret).sum(-1)
    mix = np.zeros(len(P.CHANNELS))
    for c, w in prm["prospect_return_mix"].items():
        mix[P.CHANNELS.index(c)] = w
    mix /= mix.sum()
    q_bar = (mix[:, None] * q).sum(0)
    rho_bar = (mix[:, None] * rho).sum(0)
    later = q_bar / (1 - rho_bar)
    p_id = q + rho * later[None, :]
    out = {}
    for ch in P.ACQUISITION_CHANNELS:
        i = P.CHANNELS.index(ch)
        dm = prm["device_mix"][ch]
        w = np.array([dm[d] for d in P.DEVICES])
        out[ch] = float((w / w.sum() * p_id[i]).sum())
    am = prm["acquisition_mix"]
    tot = sum(am.values())
    out["overall"] = float(sum(am[c] / tot * out[c] for c in P.ACQUISITION_CHANNELS))
    return out


def bgnbd_expected_repeat(t, r: float, alpha: float, a: float, b: float):
    """E[X(t)]: expected repeat purchases in (0, t] after the first purchase (Fader, Hardie & Lee 2005)."""
    t = np.asarray(t, dtype=float)
    z = t / (alpha + t)
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z))


def bgnbd_var_repeat_mc(t, r, alpha, a, b, rng, n=200_000):
    """Monte Carlo variance of X(t) for one horizon t (used for test tolerances)."""
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    x = np.zeros(n)
    alive = np.ones(n, bool)
    tt = np.zeros(n)
    while alive.any():
        idx = np.flatnonzero(alive)
        tt[idx] += rng.exponential(1 / lam[idx])
        ok = tt[idx] <= t
        x[idx[ok]] += 1
        alive[idx[~ok]] = False
        drop = ok & (rng.random(idx.size) < p[idx])
        alive[idx[drop]] = False
    return float(x.var())


def gamma_gamma_mean(p: float, q: float, gamma: float) -> float:
    """E[order value] over customers and orders: p * gamma / (q - 1)."""
    return p * gamma / (q - 1)
