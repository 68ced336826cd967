"""BG/NBD ("Beta-Geometric / Negative Binomial Distribution") model of repeat buying.

Source: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to the
Pareto/NBD Model", Marketing Science 24(2), equations (6), (10) and (11).

Each customer is summarised by `x` (repeat purchases), `t_x` (time of the last purchase since the
first) and `T` (time since the first purchase until the end of observation), all in one time unit
(weeks for CDNOW). While active a customer buys at rate lambda ~ Gamma(r, alpha); after each
purchase he drops out with probability p ~ Beta(a, b).

Maximum likelihood is fitted on the log of the four parameters (they are positive) with BFGS over
the vectorised log-likelihood and its analytic gradient; identical (x, t_x, T) rows are collapsed into weights first,
which makes fits over millions of customers with coarse time grids cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, hyp2f1

Array = NDArray[np.float64]


@dataclass(frozen=True)
class BGNBDParams:
    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class FitResult:
    params: BGNBDParams
    log_likelihood: float
    iterations: int
    converged: bool


def log_likelihood(params: BGNBDParams | Array, x: Array, t_x: Array, T: Array) -> Array:
    """Per-customer log-likelihood (FHL 2005, eq. 6), computed in log space for stability."""
    r, alpha, a, b = (params.r, params.alpha, params.a, params.b) if isinstance(params, BGNBDParams) else params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(repeat, np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x), -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)  # type: ignore[no-any-return]


def _collapse(x: Array, t_x: Array, T: Array) -> tuple[Array, Array, Array, Array]:
    rows = np.column_stack([x, t_x, T])
    uniq, counts = np.unique(rows, axis=0, return_counts=True)
    if len(uniq) > 0.8 * len(rows):  # not worth it
        return x, t_x, T, np.ones_like(x)
    return uniq[:, 0], uniq[:, 1], uniq[:, 2], counts.astype(np.float64)


def _value_and_gradient(theta: Array, x: Array, t_x: Array, T: Array, w: Array, total: float) -> tuple[float, Array]:
    """Mean negative log-likelihood and its analytic gradient with respect to log-parameters."""
    r, alpha, a, b = np.exp(theta)
    repeat = x > 0
    log_at = np.log(alpha + T)
    log_atx = np.log(alpha + t_x)
    bx1 = np.where(repeat, b + x - 1, 1.0)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * log_at
    a4 = np.where(repeat, np.log(a) - np.log(bx1) - (r + x) * log_atx, -np.inf)
    mix = np.logaddexp(a3, a4)
    ll = a1 + a2 + mix
    w3 = np.exp(a3 - mix)
    w4 = 1.0 - w3
    dig_abx = digamma(a + b + x)
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w3 * log_at - w4 * log_atx
    d_alpha = r / alpha - (r + x) * (w3 / (alpha + T) + w4 / (alpha + t_x))
    d_a = digamma(a + b) - dig_abx + w4 / a
    d_b = digamma(b + x) - dig_abx - digamma(b) + digamma(a + b) - w4 / bx1
    grad = np.array([w @ d_r * r, w @ d_alpha * alpha, w @ d_a * a, w @ d_b * b])
    return float(-(w @ ll) / total), -grad / total


def fit(x: Array, t_x: Array, T: Array, *, start: BGNBDParams | None = None) -> FitResult:
    """Maximum-likelihood estimates of (r, alpha, a, b) for the given customers."""
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    if len(x) == 0:
        raise ValueError("no customers to fit")
    cx, ct, cT, w = _collapse(x, t_x, T)
    total = float(w.sum())
    scale = float(np.mean(T)) or 1.0
    theta0 = np.log([1.0, scale, 1.0, 1.0]) if start is None else np.log([start.r, start.alpha, start.a, start.b])
    res = minimize(
        _value_and_gradient,
        theta0,
        args=(cx, ct, cT, w, total),
        jac=True,
        method="BFGS",
        options={"gtol": 1e-8, "maxiter": 1000},
    )
    r, alpha, a, b = np.exp(res.x)
    return FitResult(BGNBDParams(float(r), float(alpha), float(a), float(b)), float(-res.fun * total), int(res.nit), bool(res.success))


def _alive_odds(p: BGNBDParams, x: Array, t_x: Array, T: Array) -> Array:
    """The term a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x) for repeaters, 0 otherwise."""
    repeat = x > 0
    safe = np.where(repeat, p.b + x - 1, 1.0)
    with np.errstate(over="ignore"):
        odds = p.a / safe * np.exp((p.r + x) * (np.log(p.alpha + T) - np.log(p.alpha + t_x)))
    return np.where(repeat, odds, 0.0)  # type: ignore[no-any-return]


def probability_alive(p: BGNBDParams, x: Array, t_x: Array, T: Array) -> Array:
    """P(active at T | x, t_x, T) (FHL 2005, eq. 11)."""
    return 1.0 / (1.0 + _alive_odds(p, np.asarray(x, float), np.asarray(t_x, float), np.asarray(T, float)))  # type: ignore[no-any-return]


def expected_purchases(p: BGNBDParams, t: float | Array, x: Array, t_x: Array, T: Array) -> Array:
    """E[purchases in (T, T+t] | x, t_x, T] (FHL 2005, eq. 10)."""
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    t = np.asarray(t, dtype=np.float64)
    z = t / (p.alpha + T + t)
    head = (p.a + p.b + x - 1) / (p.a - 1)
    body = 1.0 - ((p.alpha + T) / (p.alpha + T + t)) ** (p.r + x) * hyp2f1(p.r + x, p.b + x, p.a + p.b + x - 1, z)
    return head * body / (1.0 + _alive_odds(p, x, t_x, T))  # type: ignore[no-any-return]


def expected_purchases_new_customer(p: BGNBDParams, t: float | Array) -> Array:
    """E[X(t)] for a customer just acquired (FHL 2005, eq. 7)."""
    t = np.asarray(t, dtype=np.float64)
    return (p.a + p.b - 1) / (p.a - 1) * (1 - (p.alpha / (p.alpha + t)) ** p.r * hyp2f1(p.r, p.b, p.a + p.b - 1, t / (p.alpha + t)))  # type: ignore[no-any-return]
