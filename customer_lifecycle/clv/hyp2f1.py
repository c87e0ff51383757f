"""Truncated power series for the Gauss hypergeometric function 2F1, and the BG/NBD and CLV
scoring formulas built on it.

This module is the reference that the portable SQL scoring macro mirrors. Every formula below
needs only + - * /, exp, ln, power, comparisons and a finite sum over a term index
k = 1 .. MAX_TERMS (a generated series or a recursive CTE).

1. The series
-------------
Every sum is of one shape:

    S = u_s + u_{s+1} + u_{s+2} + ...,    u_{k+1} = u_k * rho_k,
    rho_k = z * (A + k) * (B + k) / ((C + k) * (k + 1)),    0 <= z < 1.

2F1(A, B; C; z) itself is s = 0, u_0 = 1. The BG/NBD expectation (section 3) sums from s = 1
with its own first term and the same recurrence.

Stopping rule, applied to each value separately. The quantity finally wanted is
Q = offset + scale * S (offset = 0, scale = 1 for 2F1 itself; section 3 for the others).
  * Let D = C + 1 - A - B and n_pos = max(s, floor(-A) + 1, floor(-B) + 1): from n_pos on the
    factors A + n, B + n, C + n are positive, so every later ratio is >= 0.
  * A bound on all later ratios. Since rho_n / z - 1 = (A*B - C - D*n) / ((C + n) * (n + 1)):
      D >= 0: this decreases in n while positive and stays negative once negative, so every
              rho_j with j >= n is at most rho_bar_n = max(z, rho_n);
      D < 0 (C >= 0 needed): every rho_j with j >= n is at most
              rho_bar_n = z * (1 + max(A*B - C, 0) / ((C + n) * (n + 1)) - D / (n + 1)).
  * When rho_bar_n < 1 the rest of the series after term n is at most the geometric tail
        |S - S_n| <= |u_n| * rho_bar_n / (1 - rho_bar_n),    S_n = u_s + ... + u_n.
  * Stop after the first term n >= n_pos with rho_bar_n < 1 and
        |scale| * |u_n| * rho_bar_n / (1 - rho_bar_n) <= RELATIVE_TOLERANCE * |offset + scale * S_n|.
    The bound is rigorous, so the truncation error of Q is at most about RELATIVE_TOLERANCE
    (1e-12) relative.
  * If the rule is not met within MAX_TERMS terms, SeriesConvergenceError is raised: no value
    with an unknown error is ever returned.
  * A SQL implementation may instead sum a fixed number of terms (MAX_TERMS, or the counts in
    the table below for its largest z): terms past the stopping point only make the truncation
    error smaller.

2. z close to 1, and Euler's transformation
-------------------------------------------
For large k the terms behave like k^(-D) * z^k. So:
  * The number of terms grows like ln(1 / RELATIVE_TOLERANCE) / (1 - z): measured maxima are in
    the table below. No linear transformation avoids this with a single power series. Pfaff's
    transformation maps z to z / (z - 1), outside the unit disc for z > 1/2 (and of larger
    modulus than z below that); the transformations to 1 - z need Gamma-function connection
    coefficients and a second series, which portable SQL does not have. The supported domain
    is therefore 0 <= z <= Z_MAX = 0.99, with a term budget MAX_TERMS = 4,000. In the BG/NBD
    expectation z = t / (alpha + T + t) for a horizon t: z <= 0.99 whenever the horizon is at
    most 99 * (alpha + T), which for realistic alpha covers horizons of years even for a
    customer acquired today.
  * Euler's transformation 2F1(a, b; c; z) = (1 - z)^(c - a - b) * 2F1(c - a, c - b; c; z)
    keeps z but replaces the power k^(a + b - c - 1) by k^(c - a - b - 1). hyp2f1 applies it
    when c - a - b < 0 and c >= max(a, b): the terms then decay from the start instead of
    growing for many steps, and c - a, c - b >= 0 keep every term >= 0. When c < max(a, b) the
    transformed series would alternate with huge terms and cancel catastrophically, so the
    direct series (all terms positive, D < 0 bound) is summed instead; it needs more terms.
    Because every term hyp2f1 adds is >= 0, rounding adds at most about MAX_TERMS * 1.1e-16
    relative, and the total error is below GUARANTEED_RELATIVE_ERROR = 1e-10 whenever a value
    is returned (measured against 40-digit arithmetic: at most 1.1e-12).

Supported domain (MAX_TERMS suffices; measured maxima of terms needed):
  hyp2f1(a, b, c, z)   0 < a, b, c <= 1,000, 0 <= z <= 0.99, and c >= max(a, b) or a + b - c <= 5
                       z = 0.99: 3,290 terms when c >= max(a, b); 2,750 / 3,390 / 3,904 when
                       a + b - c <= 1 / 3 / 5
  BG/NBD expectation   0.01 <= r <= 20, alpha > 0, 0.01 <= a <= 20, 0.01 <= b <= 100,
                       x = 0 .. 1,000, 0 <= z <= 0.99
                       terms: 70 (z = 0.5), 297 (0.9), 596 (0.95), 2,903 (0.99);
                       relative error of the expectation at most 8.7e-11 (40-digit reference)

3. BG/NBD conditional expected purchases (Fader, Hardie & Lee 2005, eq. 10)
----------------------------------------------------------------------------
For a customer with x repeat purchases, the last at t_x, observed for T time units (all times
in the model's unit), the expected number of purchases in (T, T + t] is E = P_alive * E_alive:

    P_alive = 1                                                    if x = 0,
            = 1 / (1 + exp(l)),  l = ln(a) - ln(b + x - 1) + (r + x) * ln((alpha + T) / (alpha + t_x))
                                                                   if x > 0  (eq. 11);
    E_alive = (a + b + x - 1) / (a - 1)
              * (1 - ((alpha + T) / (alpha + T + t))^(r + x) * 2F1(r + x, b + x; a + b + x - 1; z)),
    z = t / (alpha + T + t).

(For l > 700, P_alive is 0 to double precision; SQL engines that raise on exp overflow should
clamp l.) E_alive is evaluated in one of two algebraically identical forms that avoid the
cancellation of "1 - ..." for small t. With

    e = r + x,  C = a + b + x - 1,  L = ln((alpha + T) / (alpha + T + t)) = -ln(1 + t / (alpha + T)),

  Form I, when a > 1 + e (direct series, D = a - e >= 1):
    E_alive = C / (a - 1) * (offset - exp(e * L) * V),    offset = -(exp(e * L) - 1),
    V = sum_{k >= 1} u_k = 2F1(e, b + x; C; z) - 1,   u_1 = e * (b + x) * z / C,   A = e, B = b + x.

  Form II, when a <= 1 + e (Euler's transformation, D = e - a + 2 >= 1):
    E_alive = offset - exp((a - 1) * L) * W,    offset = C * h,
    h = -(exp((a - 1) * L) - 1) / (a - 1)   (h = -L when a = 1),
    W = sum_{k >= 1} w_k,   w_1 = (a + b - 1 - r) * z,   A = a + b - 1 - r, B = a - 1.
  W equals C * (2F1(a + b - 1 - r, a - 1; C; z) - 1) / (a - 1): taking out the factor a - 1 that
  every term after the first carries, and multiplying in C, removes the 0/0 at a = 1 and the
  pole at C = 0 (a + b = 1, x = 0) of the textbook formula, so Form II is finite for every
  a > 0, b > 0.

"exp(u) - 1" is expm1(u) where the engine has it; otherwise exp(u) - 1 loses about
1e-16 / |u| relative, harmless at the 1e-6 agreement required of the SQL scoring.

The stopping rule is applied to E_alive itself: offset and scale = -exp(e * L) (Form I) or
-exp((a - 1) * L) (Form II) in section 1. The unconditional expectation E[X(t)] (eq. 7) is
E_alive with x = 0 and T = 0.

4. Predicted customer lifetime value: see predicted_clv.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from customer_lifecycle.clv._common import param as _param
from customer_lifecycle.clv.errors import SeriesConvergenceError
from customer_lifecycle.clv.gamma_gamma import conditional_expected_average_value as _gg_expected_value

Z_MAX = 0.99
"""Largest series argument z for which the error guarantee is stated."""

MAX_TERMS = 4_000
"""Term budget: the stopping rule is met within this many terms on the supported domain."""

RELATIVE_TOLERANCE = 1e-12
"""Stopping threshold: rigorous tail bound relative to the quantity computed (section 1)."""

GUARANTEED_RELATIVE_ERROR = 1e-10
"""Relative error bound of hyp2f1 (truncation plus rounding) whenever it returns a value."""


def _as_float_array(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=float)


def _check_z(z: np.ndarray, max_z: float | None) -> None:
    if np.any(~np.isfinite(z)) or np.any(z < 0) or np.any(z >= 1):
        raise ValueError("the series argument z must satisfy 0 <= z < 1")
    if max_z is not None and np.any(z > max_z):
        raise ValueError(f"the series argument z = {float(np.max(z)):.6g} exceeds the supported maximum {max_z}")


def series_sum(
    A: Any,
    B: Any,
    C: Any,
    z: Any,
    first: Any = 1.0,
    start: int = 0,
    *,
    offset: Any = 0.0,
    scale: Any = 1.0,
    tol: float = RELATIVE_TOLERANCE,
    max_terms: int = MAX_TERMS,
    return_terms: bool = False,
):
    """Sum u_start + u_{start+1} + ... with u_{k+1} = u_k * z (A+k)(B+k) / ((C+k)(k+1)), u_start = first.

    Stops by the rule of section 1 of the module docstring, judged on offset + scale * S (the
    quantity the caller finally forms); returns S. Arguments broadcast against each other; the
    result has their broadcast shape (a float for scalar input). Needs 0 <= z < 1, C + k > 0 for
    every k > start, and C >= 0 when C + 1 - A - B < 0. With return_terms=True, also returns the
    number of terms summed for each value. Raises SeriesConvergenceError when the rule is not
    met within max_terms terms.
    """
    A, B, C, z, first, offset, scale = (_as_float_array(v) for v in (A, B, C, z, first, offset, scale))
    shape = np.broadcast_shapes(A.shape, B.shape, C.shape, z.shape, first.shape, offset.shape, scale.shape)
    A, B, C, z, first, offset, scale = (
        np.broadcast_to(v, shape).ravel().copy() for v in (A, B, C, z, first, offset, scale)
    )
    _check_z(z, None)
    D = C + 1.0 - A - B
    if np.any(C + start + 1 <= 0):
        raise ValueError("series_sum needs C + k > 0 for every k after the first term")
    if np.any((D < 0) & (C < 0)):
        raise ValueError("series_sum needs C >= 0 when C + 1 - A - B < 0")
    excess = np.maximum(A * B - C, 0.0)

    # From n_pos on every factor A+k, B+k, C+k is positive (see the module docstring).
    n_pos = np.maximum.reduce([np.full(A.shape, float(start)), np.floor(-A) + 1.0, np.floor(-B) + 1.0])

    total = first.copy()
    terms_used = np.ones(A.shape, dtype=np.int64)
    idx = np.arange(A.size)
    term = first.copy()
    k = start
    while idx.size:
        Ai, Bi, Ci, zi = A[idx], B[idx], C[idx], z[idx]
        ratio = zi * (Ai + k) * (Bi + k) / ((Ci + k) * (k + 1.0))
        Di = D[idx]
        rho_bar = np.where(
            Di >= 0,
            np.maximum(zi, ratio),
            zi * (1.0 + excess[idx] / ((Ci + k) * (k + 1.0)) - Di / (k + 1.0)),
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            tail = np.where(rho_bar < 1.0, np.abs(term) * rho_bar / (1.0 - rho_bar), np.inf)
        s_abs = np.abs(scale[idx])
        done = (k >= n_pos[idx]) & (s_abs * tail <= tol * np.abs(offset[idx] + scale[idx] * total[idx]))
        if np.any(done):
            keep = ~done
            idx, term, ratio = idx[keep], term[keep], ratio[keep]
            if not idx.size:
                break
        if k - start + 1 >= max_terms:
            worst = float(np.max(z[idx]))
            raise SeriesConvergenceError(
                f"hypergeometric series did not meet its stopping rule within {max_terms} terms "
                f"(largest unfinished z = {worst:.6g}; supported domain is z <= {Z_MAX})"
            )
        term = term * ratio
        total[idx] += term
        terms_used[idx] += 1
        k += 1

    total = total.reshape(shape)
    terms_used = terms_used.reshape(shape)
    if not shape:
        total, terms_used = float(total), int(terms_used)
    return (total, terms_used) if return_terms else total


def hyp2f1(a: Any, b: Any, c: Any, z: Any, *, max_terms: int = MAX_TERMS, return_terms: bool = False):
    """Gauss hypergeometric function 2F1(a, b; c; z) for 0 <= z < 1 by its truncated power series.

    When c - a - b < 0 and c >= max(a, b), Euler's transformation
    2F1(a,b;c;z) = (1-z)^(c-a-b) 2F1(c-a, c-b; c; z) is applied first (module docstring,
    section 2). Needs a, b >= 0, c > 0. Whenever a value is returned its relative error is below
    1e-10; SeriesConvergenceError is raised when MAX_TERMS terms do not meet the stopping rule
    (outside the supported domain of the module docstring).
    """
    a, b, c, z = (_as_float_array(v) for v in (a, b, c, z))
    a, b, c, z = np.broadcast_arrays(a, b, c, z)
    if np.any(c <= 0) or np.any(a < 0) or np.any(b < 0):
        raise ValueError("hyp2f1 needs a >= 0, b >= 0 and c > 0")
    # Euler's transformation when it turns a growing power into a decaying one without making a
    # parameter negative; every term summed is then >= 0, so no cancellation can occur.
    euler = ((c - a - b) < 0) & (c >= a) & (c >= b)
    A = np.where(euler, c - a, a)
    B = np.where(euler, c - b, b)
    value, terms = series_sum(A, B, c, z, 1.0, 0, max_terms=max_terms, return_terms=True)
    prefactor = np.where(euler, np.power(1.0 - z, np.where(euler, c - a - b, 0.0)), 1.0)
    value = value * prefactor
    if np.ndim(value) == 0:
        value = float(value)
    return (value, terms) if return_terms else value


def bgnbd_probability_alive(r: float, alpha: float, a: float, b: float, x: Any, t_x: Any, T: Any) -> np.ndarray:
    """P(alive | x, t_x, T) (Fader, Hardie & Lee 2005, eq. 11), as in the module docstring."""
    x, t_x, T = np.broadcast_arrays(*(_as_float_array(v) for v in (x, t_x, T)))
    repeat = x > 0
    b_x1 = np.where(repeat, b + x - 1.0, 1.0)
    log_odds_dead = math.log(a) - np.log(b_x1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    # 1 / (1 + exp(l)) without overflow: exp(-max(l,0)) / (exp(-max(l,0)) + exp(l - max(l,0)))
    pos = np.maximum(log_odds_dead, 0.0)
    p_alive = np.exp(-pos) / (np.exp(-pos) + np.exp(log_odds_dead - pos))
    return np.where(repeat, p_alive, 1.0)


def bgnbd_expected_purchases_if_alive(
    r: float, alpha: float, a: float, b: float, t: Any, x: Any, T: Any, *, max_terms: int = MAX_TERMS
) -> np.ndarray:
    """Expected purchases in (T, T + t] for a customer known to be alive at T (E_alive above)."""
    t, x, T = np.broadcast_arrays(*(_as_float_array(v) for v in (t, x, T)))
    if np.any(t < 0) or np.any(T < 0) or np.any(x < 0):
        raise ValueError("t, x and T must be non-negative")
    shape = t.shape
    t, x, T = t.ravel(), x.ravel(), T.ravel()
    s = alpha + T
    z = t / (s + t)
    _check_z(z, None)
    L = -np.log1p(t / s)
    C = a + b + x - 1.0
    out = np.empty(t.shape)

    direct = a > 1.0 + r + x
    if np.any(direct):
        i = direct
        e, Ci, zi, Li = r + x[i], C[i], z[i], L[i]
        decay = np.exp(e * Li)
        # E_alive * (a - 1) / C = -expm1(e L) - exp(e L) * (F - 1)
        offset = -np.expm1(e * Li)
        F_minus_1 = series_sum(
            e, b + x[i], Ci, zi, e * (b + x[i]) * zi / Ci, 1, offset=offset, scale=-decay, max_terms=max_terms
        )
        out[i] = Ci / (a - 1.0) * (offset - decay * F_minus_1)
    euler = ~direct
    if np.any(euler):
        i = euler
        A = a + b - 1.0 - r
        Ci, zi, Li = C[i], z[i], L[i]
        decay = np.exp((a - 1.0) * Li)
        h = -Li if a == 1.0 else -np.expm1((a - 1.0) * Li) / (a - 1.0)
        offset = Ci * h
        W = series_sum(A, a - 1.0, Ci, zi, A * zi, 1, offset=offset, scale=-decay, max_terms=max_terms)
        out[i] = offset - decay * W
    return out.reshape(shape)


def bgnbd_conditional_expected_purchases(
    r: float, alpha: float, a: float, b: float, t: Any, x: Any, t_x: Any, T: Any, *, max_terms: int = MAX_TERMS
) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected purchases in (T, T + t] (Fader, Hardie & Lee 2005, eq. 10)."""
    t, x, t_x, T = np.broadcast_arrays(*(_as_float_array(v) for v in (t, x, t_x, T)))
    return bgnbd_probability_alive(r, alpha, a, b, x, t_x, T) * bgnbd_expected_purchases_if_alive(
        r, alpha, a, b, t, x, T, max_terms=max_terms
    )


def predicted_clv(
    params_bgnbd: Any,
    params_gg: Any,
    x: Any,
    t_x: Any,
    T: Any,
    mean_value: Any,
    horizon: float,
    discount_rate_annual: float,
    periods_per_year: float,
    step: float,
) -> np.ndarray | float:
    """Discounted expected spend of each customer over the next `horizon` time units.

    params_bgnbd: r, alpha, a, b (a fit result, a BGNBDParams, or a mapping with those keys).
    params_gg:    p, q, gamma (a fit result, GammaGammaParams, or a mapping).
    x, t_x, T:    frequency (repeat purchases), recency and age, in the model's time unit.
    mean_value:   mean value of the customer's repeat purchases (ignored when x = 0; may be 0 or NaN there).
    horizon, step: in the model's time unit; horizon must be a whole number K of steps.
    discount_rate_annual: e.g. 0.10 for 10 % a year (annual compounding).
    periods_per_year: model time units in a year (52 for weeks, 365 for days, 12 for months).

    Formula (reproduced exactly by the SQL macro):

        K     = horizon / step                              (an integer)
        u_k   = k * step,  k = 0 .. K
        E(u)  = bgnbd_conditional_expected_purchases(r, alpha, a, b, u, x, t_x, T),  E(0) = 0
        dE_k  = E(u_k) - E(u_{k-1})                          expected purchases in step k
        DF_k  = (1 + discount_rate_annual) ^ (-u_k / periods_per_year)    (discounted at step end)
        M     = p * (gamma + x * mean_value) / (p * x + q - 1)            (Gamma-Gamma, x = 0: p*gamma/(q-1))
        CLV   = M * sum_{k=1..K} dE_k * DF_k

    Returns an array shaped like the broadcast inputs (a float for scalar input).
    """
    r = _param(params_bgnbd, "r")
    alpha = _param(params_bgnbd, "alpha")
    a = _param(params_bgnbd, "a")
    b = _param(params_bgnbd, "b")
    p = _param(params_gg, "p")
    q = _param(params_gg, "q")
    gamma = _param(params_gg, "gamma")
    if not (horizon > 0 and step > 0):
        raise ValueError("horizon and step must be positive")
    n_steps = horizon / step
    K = int(round(n_steps))
    if K < 1 or abs(n_steps - K) > 1e-9 * max(1.0, n_steps):
        raise ValueError(f"horizon ({horizon}) must be a whole number of steps ({step})")
    if discount_rate_annual <= -1 or periods_per_year <= 0:
        raise ValueError("discount_rate_annual must exceed -1 and periods_per_year must be positive")

    x, t_x, T, mean_value = np.broadcast_arrays(*(_as_float_array(v) for v in (x, t_x, T, mean_value)))
    shape = x.shape
    x, t_x, T, mean_value = (v.ravel() for v in (x, t_x, T, mean_value))

    p_alive = bgnbd_probability_alive(r, alpha, a, b, x, t_x, T)
    total = np.zeros(x.shape)
    previous = np.zeros(x.shape)
    for k in range(1, K + 1):
        u = k * step
        current = p_alive * bgnbd_expected_purchases_if_alive(r, alpha, a, b, u, x, T)
        total += (current - previous) * (1.0 + discount_rate_annual) ** (-u / periods_per_year)
        previous = current
    value = _gg_expected_value({"p": p, "q": q, "gamma": gamma}, x, mean_value)
    clv = value * total
    return float(clv[0]) if not shape else clv.reshape(shape)
