"""Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV: Using
Iso-Value Curves for Customer Base Analysis", Journal of Marketing Research 42(4), 415-430;
also Fader & Hardie, "The Gamma-Gamma Model of Monetary Value", 2013).

A customer's transaction values are Gamma(p, nu) with a customer-specific scale nu ~ Gamma(q, gamma).
Only repeat buyers (x >= 1 repeat transactions) enter the fit, through the mean value m of their
x repeat transactions. The likelihood of one customer is

    f(m | x) = Gamma(p x + q) / (Gamma(p x) Gamma(q)) * gamma^q * m^(p x - 1) * x^(p x) / (gamma + m x)^(p x + q).

The fit works on rows grouped by (x, m) with a customer count per group, so its cost scales with
the number of distinct groups. The conditional expected average transaction value is

    E[M | p, q, gamma, x, m] = p * (gamma + x * m) / (p * x + q - 1),

which for x = 0 is the population mean p * gamma / (q - 1) (finite only when q > 1).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import digamma, gammaln

from customer_lifecycle.clv import _common
from customer_lifecycle.clv.errors import CLVFitError

PARAMETER_NAMES = ("p", "q", "gamma")


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float


@dataclass(frozen=True)
class GammaGammaFit:
    """Maximum-likelihood estimates and fit diagnostics. log_likelihood is the sum over customers,
    in the unit of the values given (a density in money units)."""

    p: float
    q: float
    gamma: float
    log_likelihood: float
    n_customers: float
    n_groups: int
    converged: bool
    message: str
    standard_errors: dict[str, float] = field(default_factory=dict)

    @property
    def params(self) -> GammaGammaParams:
        return GammaGammaParams(self.p, self.q, self.gamma)


def _terms(p: float, q: float, gamma: float, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    px = p * x
    return (
        gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(gamma)
        + (px - 1.0) * np.log(m) + px * np.log(x) - (px + q) * np.log(gamma + m * x)
    )


def _checked(x: Any, mean_value: Any, weights: Any):
    x = _common.as_column("frequency x", x)
    m = _common.as_column("mean_value", mean_value, x.size)
    w = _common.weights_column(weights, x.size)
    if np.any(x < 1) or np.any(x != np.round(x)):
        raise CLVFitError(
            "invalid_input",
            "Gamma-Gamma is fitted on repeat buyers only: frequency x must be a whole number >= 1",
        )
    if np.any(m <= 0):
        raise CLVFitError(
            "invalid_input",
            f"{int(np.sum(m <= 0))} row(s) have a mean repeat transaction value <= 0; "
            "the Gamma-Gamma model needs positive values (leave such customers out of the fit)",
        )
    return x, m, w


def log_likelihood(params: Any, x: Any, mean_value: Any, weights: Any = None) -> float:
    """Sum of the per-customer log-likelihoods (weights = customers per row)."""
    x, m, w = _checked(x, mean_value, weights)
    p, q, g = (_common.param(params, n) for n in PARAMETER_NAMES)
    return float(np.sum(w * _terms(p, q, g, x, m)))


def fit(
    x: Any,
    mean_value: Any,
    weights: Any = None,
    *,
    min_customers: int = 20,
    strict: bool = True,
) -> GammaGammaFit:
    """Maximum-likelihood fit of (p, q, gamma) on repeat buyers' (x, mean repeat value).

    Rows may be one per customer or already grouped with `weights` customers each; identical rows
    are grouped internally. Raises CLVFitError (reason codes in customer_lifecycle.clv.errors) on
    invalid or too little data, non-convergence, an estimate at the edge of the search range, a
    non-identified optimum, or q <= 1 (infinite mean spend), unless strict=False, in which case
    a q <= 1 result is returned with converged=False.
    """
    x, m, w = _checked(x, mean_value, weights)
    n_customers = float(w.sum())
    if n_customers < min_customers:
        raise CLVFitError(
            "too_few_customers",
            f"Gamma-Gamma needs at least {min_customers} repeat buyers, got {n_customers:g}",
        )
    if np.unique(m).size < 2:
        raise CLVFitError(
            "invalid_input", "all mean repeat transaction values are equal; spend heterogeneity is not identified"
        )
    (x, m), w = _common.group([x, m], w)

    # Work with values scaled to mean one; gamma scales with the values, p and q do not.
    scale = float(np.sum(w * m) / np.sum(w))
    ms = m / scale
    logx = np.log(x)
    logm = np.log(ms)

    def neg_ll(theta: np.ndarray, total: bool = False):
        p, q, g = np.exp(theta)
        px = p * x
        log_gm = np.log(g + ms * x)
        ll = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g)
              + (px - 1.0) * logm + px * logx - (px + q) * log_gm)
        d_common = digamma(px + q)
        dp = x * (d_common - digamma(px) + logm + logx - log_gm)
        dq = d_common - digamma(q) + np.log(g) - log_gm
        dg = q / g - (px + q) / (g + ms * x)
        grad = np.array([np.sum(w * dp) * p, np.sum(w * dq) * q, np.sum(w * dg) * g])
        norm = 1.0 if total else n_customers
        return -float(np.sum(w * ll)) / norm, -grad / norm

    # Starts with population mean spend p * gamma / (q - 1) equal to the (scaled) sample mean, 1.
    starts = [np.log([pp, qq, (qq - 1.0) / pp]) for pp, qq in ((4.0, 4.0), (1.0, 2.0), (10.0, 10.0))]
    theta, message = _common.maximise(neg_ll, starts, PARAMETER_NAMES, "Gamma-Gamma")
    p, q, g = np.exp(theta)
    gamma = float(g * scale)
    ses = _common.standard_errors(
        lambda th: neg_ll(th, total=True), theta, (p, q, gamma), PARAMETER_NAMES, "Gamma-Gamma"
    )
    ll = float(np.sum(w * _terms(p, q, gamma, x, m)))
    converged = True
    if q <= 1.0:
        if strict:
            raise CLVFitError(
                "undefined_mean_spend",
                f"Gamma-Gamma estimate q = {q:.4g} <= 1: the population mean spend per transaction "
                "is infinite, so expected values for new or one-time customers are undefined",
            )
        converged = False
        message = f"q = {q:.4g} <= 1: population mean spend undefined; " + message
    return GammaGammaFit(
        p=float(p), q=float(q), gamma=gamma, log_likelihood=ll, n_customers=n_customers,
        n_groups=int(x.size), converged=converged, message=message, standard_errors=ses,
    )


def conditional_expected_average_value(params: Any, x: Any, mean_value: Any) -> np.ndarray:
    """E[M | x, m] = p (gamma + x m) / (p x + q - 1); for x = 0 the population mean p gamma / (q - 1).

    mean_value is ignored where x = 0 (it may be 0 or NaN there).
    """
    p, q, g = (_common.param(params, n) for n in PARAMETER_NAMES)
    x = np.asarray(x, dtype=float)
    m = np.where(x > 0, np.asarray(mean_value, dtype=float), 0.0)
    denominator = p * x + q - 1.0
    if np.any(denominator <= 0):
        raise ValueError("p * x + q - 1 must be positive (q <= 1 makes the mean spend of x = 0 customers infinite)")
    return p * (g + x * m) / denominator
