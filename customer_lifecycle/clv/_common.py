"""Shared pieces of the CLV model fits: input checks, grouping, the optimiser and the Hessian."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import optimize

from customer_lifecycle.clv.errors import CLVFitError

# Search box for the log-parameters, after the data have been scaled to order one (see the fits).
LOG_BOUND = 18.0
# An estimate closer than this (in log units) to the box edge counts as "at the bound".
BOUND_MARGIN = 0.5
# Largest acceptable gradient norm of the mean per-customer log-likelihood at the optimum.
GRADIENT_TOLERANCE = 1e-5


def param(params: Any, name: str) -> float:
    """A named parameter from a fit result, a parameter dataclass or a mapping."""
    if isinstance(params, Mapping):
        if name in params:
            return float(params[name])
    elif hasattr(params, name):
        return float(getattr(params, name))
    raise KeyError(f"parameter {name!r} missing from {params!r}")


def as_column(name: str, values: Any, n: int | None = None) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    if n is not None and array.size != n:
        raise CLVFitError("invalid_input", f"{name} has {array.size} values, expected {n}")
    if not np.all(np.isfinite(array)):
        raise CLVFitError("invalid_input", f"{name} contains NaN or infinite values")
    return array


def weights_column(weights: Any, n: int) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = as_column("weights", weights, n)
    if np.any(w <= 0):
        raise CLVFitError("invalid_input", "weights (customer counts per group) must be positive")
    return w


def group(columns: Sequence[np.ndarray], weights: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Collapse identical rows of `columns`, summing their weights."""
    stacked = np.column_stack(columns)
    unique, inverse = np.unique(stacked, axis=0, return_inverse=True)
    summed = np.bincount(inverse.ravel(), weights=weights, minlength=unique.shape[0])
    return [unique[:, j].copy() for j in range(unique.shape[1])], summed


def _stationary(res: optimize.OptimizeResult) -> bool:
    return bool(np.all(np.isfinite(res.jac)) and np.max(np.abs(res.jac)) <= GRADIENT_TOLERANCE)


def maximise(
    neg_mean_ll: Callable[[np.ndarray], tuple[float, np.ndarray]],
    starts: Sequence[Sequence[float]],
    names: Sequence[str],
    model: str,
) -> tuple[np.ndarray, str]:
    """Minimise a smooth objective over log-parameters from several starts; return the best point.

    Starts are tried in order until two of them converge to the same point (or all are used).

    Raises CLVFitError when no start converges, or when the best point sits on the search box.
    """
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(names)
    best = None
    for start in starts:
        x0 = np.clip(np.asarray(start, dtype=float), -LOG_BOUND + 1, LOG_BOUND - 1)
        try:
            res = optimize.minimize(
                neg_mean_ll, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20},
            )
        except (FloatingPointError, ValueError):
            continue
        if not np.isfinite(res.fun):
            continue
        if best is not None and _stationary(res) and _stationary(best) and np.allclose(res.x, best.x, atol=1e-4):
            best = res if res.fun < best.fun else best
            break  # two starts agree: no need for the rest
        if best is None or res.fun < best.fun:
            best = res
    if best is None:
        raise CLVFitError("not_converged", f"{model}: the likelihood could not be evaluated from any starting point")

    theta = best.x
    at_edge = [n for n, v in zip(names, theta) if abs(v) > LOG_BOUND - BOUND_MARGIN]
    _, grad = neg_mean_ll(theta)
    gnorm = float(np.max(np.abs(grad)))
    if gnorm > GRADIENT_TOLERANCE and not at_edge:
        # A polishing run from the best point before giving up.
        res = optimize.minimize(
            neg_mean_ll, theta, jac=True, method="BFGS", options={"gtol": 1e-9, "maxiter": 1000}
        )
        if np.isfinite(res.fun) and res.fun <= best.fun + 1e-12:
            theta = res.x
            _, grad = neg_mean_ll(theta)
            gnorm = float(np.max(np.abs(grad)))
    if at_edge or gnorm > GRADIENT_TOLERANCE:
        # On a likelihood that keeps rising towards the edge, whether the optimiser reaches the
        # edge or stops short of it depends on the processor's floating point; which parameters
        # the likelihood rises along does not: the verdict and its message come from those.
        rising = set(at_edge) | set(rising_to_the_edge(neg_mean_ll, theta, names))
        if rising:
            raise _at_bound(model, [n for n in names if n in rising])
        raise CLVFitError(
            "not_converged",
            f"{model}: optimiser stopped with gradient norm {gnorm:.2e} > {GRADIENT_TOLERANCE:.0e} "
            f"({best.message})",
        )
    message = f"converged: max |gradient| of the mean log-likelihood {gnorm:.1e} (L-BFGS-B: {best.message})"
    return theta, message


def _at_bound(model: str, names: Sequence[str]) -> CLVFitError:
    return CLVFitError(
        "parameter_at_bound",
        f"{model}: estimate of {', '.join(names)} ran to the edge of the search range; "
        "the data push the model to a limiting case it cannot represent",
    )


def rising_to_the_edge(
    neg_mean_ll: Callable[[np.ndarray], tuple[float, np.ndarray]], theta: np.ndarray, names: Sequence[str]
) -> list[str]:
    """The parameters along which the likelihood rises all the way to the edge of the search box.

    Each parameter is pinned at each edge of the box in turn and the others are re-optimised from
    theta; the best of these and of theta is the highest likelihood in the box, and a parameter
    runs to the bound when pinning it at an edge reaches that height (within 1e-9 relative). The
    verdict depends on the shape of the likelihood, not on where an optimiser stopped.
    """
    value, _ = neg_mean_ll(theta)
    pinned = {}
    for i, name in enumerate(names):
        for edge in (-LOG_BOUND, LOG_BOUND):
            bounds = [(-LOG_BOUND, LOG_BOUND)] * len(names)
            bounds[i] = (edge, edge)
            start = np.clip(theta, -LOG_BOUND, LOG_BOUND)
            start[i] = edge
            try:
                res = optimize.minimize(neg_mean_ll, start, jac=True, method="L-BFGS-B", bounds=bounds,
                                        options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20})
            except (FloatingPointError, ValueError):
                continue
            if np.isfinite(res.fun):
                pinned[name] = min(pinned.get(name, np.inf), float(res.fun))
    top = min([value, *pinned.values()])
    return [name for name in names if pinned.get(name, np.inf) <= top + 1e-9 * max(1.0, abs(top))]


def hessian(
    neg_ll: Callable[[np.ndarray], tuple[float, np.ndarray]], theta: np.ndarray, step: float = 1e-5
) -> np.ndarray:
    """Hessian of neg_ll at theta by central differences of its analytic gradient, symmetrised."""
    n = theta.size
    H = np.empty((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = step
        H[:, j] = (neg_ll(theta + e)[1] - neg_ll(theta - e)[1]) / (2 * step)
    return (H + H.T) / 2


def standard_errors(
    neg_total_ll: Callable[[np.ndarray], tuple[float, np.ndarray]],
    theta: np.ndarray,
    values: Sequence[float],
    names: Sequence[str],
    model: str,
) -> dict[str, float]:
    """Asymptotic standard errors of exp(theta)-type parameters from the observed information.

    theta are log-parameters; the delta method gives se(param) = param * se(theta).
    Raises CLVFitError('not_identified') when the information matrix is not positive definite.
    """
    H = hessian(neg_total_ll, theta)
    eigenvalues = np.linalg.eigvalsh(H)
    if not np.all(np.isfinite(eigenvalues)) or eigenvalues.min() <= 1e-10 * max(1.0, abs(eigenvalues).max()):
        raise CLVFitError(
            "not_identified",
            f"{model}: the log-likelihood is flat or saddle-shaped at the optimum "
            f"(smallest Hessian eigenvalue {eigenvalues.min():.3g}); the parameters are not identified by these data",
        )
    cov = np.linalg.inv(H)
    return {n: float(v * np.sqrt(cov[i, i])) for i, (n, v) in enumerate(zip(names, values))}
