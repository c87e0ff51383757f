"""BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005, "'Counting Your Customers' the
Easy Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284).

While active, a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha); after
every repeat purchase she becomes inactive with probability p ~ Beta(a, b). A customer's history
enters only through x (number of repeat purchases), t_x (time of the last purchase, measured
from the first) and T (time from the first purchase to the end of observation), all in one
time unit. The likelihood of one customer (eq. 6) is

    L = B(a, b + x) / B(a, b) * Gamma(r + x) alpha^r / (Gamma(r) (alpha + T)^(r + x))
      + [x > 0] B(a + 1, b + x - 1) / B(a, b) * Gamma(r + x) alpha^r / (Gamma(r) (alpha + t_x)^(r + x)),

evaluated on the log scale with gammaln/betaln and logaddexp. The fit takes rows grouped by
(x, t_x, T) with a customer count each (identical rows are grouped again internally), so its cost
scales with the number of distinct groups, not customers. It maximises over the logarithms of
the parameters with L-BFGS-B and an analytic gradient from several starting points, times scaled
internally so that alpha is of order one.

The closed forms (P(alive), conditional and unconditional expected purchases) are evaluated by
the series reference in customer_lifecycle.clv.hyp2f1, which the SQL scoring macro mirrors.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln

from customer_lifecycle.clv import _common
from customer_lifecycle.clv import hyp2f1 as _series
from customer_lifecycle.clv.errors import CLVFitError

PARAMETER_NAMES = ("r", "alpha", "a", "b")


def _dot(u: np.ndarray, v: np.ndarray) -> float:
    # Elementwise product and sum rather than BLAS: BLAS threads make long dot products slow on
    # busy machines, and these sums are cheap anyway.
    return float(np.sum(u * v))


@dataclass(frozen=True)
class BGNBDParams:
    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class BGNBDFit:
    """Maximum-likelihood estimates and fit diagnostics.

    log_likelihood is the sum over customers of eq. 6 in the time unit of the data (it changes by
    -sum(x) * ln(c) when times are multiplied by c). standard_errors are asymptotic, from the
    observed information.
    """

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    n_customers: float
    n_groups: int
    n_repeat_buyers: float
    converged: bool
    message: str
    standard_errors: dict[str, float] = field(default_factory=dict)

    @property
    def params(self) -> BGNBDParams:
        return BGNBDParams(self.r, self.alpha, self.a, self.b)


def _checked(x: Any, t_x: Any, T: Any, weights: Any):
    x = _common.as_column("frequency x", x)
    t_x = _common.as_column("recency t_x", t_x, x.size)
    T = _common.as_column("age T", T, x.size)
    w = _common.weights_column(weights, x.size)
    problems = []
    if np.any(x < 0) or np.any(x != np.round(x)):
        problems.append("frequency x must be a whole number >= 0")
    if np.any(T <= 0):
        problems.append("age T must be positive")
    if np.any(t_x < 0):
        problems.append("recency t_x must be >= 0")
    if np.any(t_x > T * (1 + 1e-12)):
        problems.append(f"recency t_x exceeds age T in {int(np.sum(t_x > T * (1 + 1e-12)))} row(s)")
    if np.any((x == 0) & (t_x != 0)):
        problems.append("recency t_x must be 0 when frequency x is 0")
    if problems:
        raise CLVFitError("invalid_input", "BG/NBD summaries: " + "; ".join(problems))
    return x, t_x, T, w


def _log_likelihood_terms(r: float, alpha: float, a: float, b: float, x, t_x, T) -> np.ndarray:
    """Per-customer log of eq. 6."""
    repeat = x > 0
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    term_alive = betaln(a, b + x) - (r + x) * np.log(alpha + T)
    term_dead = np.where(
        repeat,
        betaln(a + 1.0, np.where(repeat, b + x - 1.0, 1.0)) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return common + np.logaddexp(term_alive, term_dead)


def log_likelihood(params: Any, x: Any, t_x: Any, T: Any, weights: Any = None) -> float:
    """Sum over customers of the log-likelihood (eq. 6); weights = customers per row."""
    x, t_x, T, w = _checked(x, t_x, T, weights)
    r, alpha, a, b = (_common.param(params, n) for n in PARAMETER_NAMES)
    return float(np.sum(w * _log_likelihood_terms(r, alpha, a, b, x, t_x, T)))


def fit(
    x: Any,
    t_x: Any,
    T: Any,
    weights: Any = None,
    *,
    min_repeat_buyers: int = 20,
) -> BGNBDFit:
    """Maximum-likelihood BG/NBD fit on (x, t_x, T) rows with optional customer counts `weights`.

    Raises CLVFitError with reason
      invalid_input       negative or non-finite values, t_x > T, t_x != 0 with x = 0, ...
      too_few_customers   fewer than min_repeat_buyers customers with x > 0
      not_converged       no start reached a point with a vanishing gradient
      parameter_at_bound  an estimate ran to the edge of the search box (for example b -> infinity
                          when the data show no dropout; the model then degenerates to the NBD)
      not_identified      the observed information matrix is not positive definite

    Method: rows are grouped; times are divided by the customers' mean age; the mean per-customer
    log-likelihood is maximised over (ln r, ln alpha, ln a, ln b) by L-BFGS-B with its analytic
    gradient from up to three starts (stopping once two agree); the optimum must have a gradient
    below 1e-5 and a positive definite Hessian, from which the standard errors come.
    """
    x, t_x, T, w = _checked(x, t_x, T, weights)
    n_customers = float(w.sum())
    n_repeat = float(w[x > 0].sum())
    if n_repeat < min_repeat_buyers:
        raise CLVFitError(
            "too_few_customers",
            f"BG/NBD needs at least {min_repeat_buyers} repeat buyers (customers with x > 0), got {n_repeat:g} "
            f"of {n_customers:g} customers",
        )
    (x, t_x, T), w = _common.group([x, t_x, T], w)

    # Times scaled to mean age one, so that alpha (a time) is of order one in the optimiser.
    scale = float(np.sum(w * T) / n_customers)
    Ts, txs = T / scale, t_x / scale

    # Special functions depend on the group only through x: evaluate them once per distinct x.
    ux, ix = np.unique(x, return_inverse=True)
    ix = ix.ravel()
    u_repeat = ux > 0
    u_shift = np.where(u_repeat, ux - 1.0, 0.0)
    wx = np.bincount(ix, weights=w)  # customers per distinct x
    rep = np.flatnonzero(x > 0)
    ix_rep = ix[rep]

    def neg_ll(theta: np.ndarray, total: bool = False):
        r, alpha, a, b = np.exp(theta)
        log_aT = np.log(alpha + Ts)
        log_atx = np.log(alpha + txs)
        # Per distinct x.
        lg_rx = gammaln(r + ux) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
        bl_alive = betaln(a, b + ux)
        bl_dead = np.where(u_repeat, betaln(a + 1.0, b + u_shift), 0.0)
        psi_rx = digamma(r + ux)
        psi_abx = digamma(a + b + ux)
        psi_bx = digamma(b + ux)
        psi_bx1 = digamma(b + u_shift)
        # Per group. The dead branch exists only for repeat buyers (rows `rep`).
        rx = r + x
        alive = bl_alive[ix] - rx * log_aT
        gap = bl_dead[ix_rep] - rx[rep] * log_atx[rep] - alive[rep]  # dead - alive
        mix = alive.copy()
        mix[rep] += np.maximum(gap, 0.0) + np.log1p(np.exp(-np.abs(gap)))
        w_dead = np.zeros_like(alive)
        w_dead[rep] = expit(gap)  # exp(dead - mix)
        ww_dead = w * w_dead
        ww_alive = w - ww_dead
        value = _dot(wx, lg_rx) + _dot(w, mix)

        psi_ab = digamma(a + b)
        # d/dr, d/dalpha of the log-likelihood; d/da, d/db of the betaln terms minus d betaln(a, b).
        d_r = (_dot(wx, psi_rx) - n_customers * (digamma(r) - np.log(alpha))
               - _dot(ww_alive, log_aT) - _dot(ww_dead, log_atx))
        d_alpha = n_customers * r / alpha - _dot(rx, ww_alive / (alpha + Ts) + ww_dead / (alpha + txs))
        wd_x = np.bincount(ix, weights=ww_dead, minlength=ux.size)  # dead-branch weight per distinct x
        wa_x = wx - wd_x
        d_a = _dot(wx, psi_ab - psi_abx) + np.sum(wd_x) / a
        d_b = _dot(wa_x, psi_bx - psi_abx) + _dot(wd_x, psi_bx1 - psi_abx) - n_customers * (digamma(b) - psi_ab)
        grad = np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
        norm = 1.0 if total else n_customers
        value = -value / norm
        if not np.isfinite(value):
            value = np.inf
        return value, -grad / norm

    # Starts: several (r, a, b) shapes, alpha set so that the mean purchase rate r / alpha
    # matches the observed repeat rate sum(x) / sum(T).
    rate = max(float(np.sum(w * x) / np.sum(w * Ts)), 1e-6)
    starts = [np.log([r0, r0 / rate, a0, b0]) for r0, a0, b0 in ((1.0, 1.0, 1.0), (0.3, 0.8, 2.5), (3.0, 2.0, 8.0))]
    theta, message = _common.maximise(neg_ll, starts, PARAMETER_NAMES, "BG/NBD")
    r, alpha_s, a, b = np.exp(theta)
    alpha = float(alpha_s * scale)
    ses = _common.standard_errors(lambda th: neg_ll(th, total=True), theta, (r, alpha, a, b), PARAMETER_NAMES, "BG/NBD")
    ll = float(np.sum(w * _log_likelihood_terms(r, alpha, a, b, x, t_x, T)))
    return BGNBDFit(
        r=float(r), alpha=alpha, a=float(a), b=float(b), log_likelihood=ll, n_customers=n_customers,
        n_groups=int(x.size), n_repeat_buyers=n_repeat, converged=True, message=message, standard_errors=ses,
    )


def probability_alive(params: Any, x: Any, t_x: Any, T: Any) -> np.ndarray:
    """P(alive at T | x, t_x, T) (eq. 11): 1 for x = 0, else 1 / (1 + a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))."""
    r, alpha, a, b = (_common.param(params, n) for n in PARAMETER_NAMES)
    return _series.bgnbd_probability_alive(r, alpha, a, b, x, t_x, T)


def conditional_expected_purchases(params: Any, t: Any, x: Any, t_x: Any, T: Any) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected number of purchases in (T, T + t] (eq. 10)."""
    r, alpha, a, b = (_common.param(params, n) for n in PARAMETER_NAMES)
    return _series.bgnbd_conditional_expected_purchases(r, alpha, a, b, t, x, t_x, T)


def expected_purchases(params: Any, t: Any) -> np.ndarray:
    """E[X(t)]: expected repeat purchases in (0, t] of a customer whose first purchase was at 0 (eq. 7),
    (a + b - 1)/(a - 1) * (1 - (alpha/(alpha + t))^r 2F1(r, b; a + b - 1; t/(alpha + t)))."""
    r, alpha, a, b = (_common.param(params, n) for n in PARAMETER_NAMES)
    t = np.asarray(t, dtype=float)
    return _series.bgnbd_expected_purchases_if_alive(r, alpha, a, b, t, np.zeros_like(t), np.zeros_like(t))
