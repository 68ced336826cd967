"""Gamma-Gamma model of spend per transaction.

Source: Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value" (note), equations (1)-(5).
A repeat customer's transaction values z_i ~ Gamma(p, nu), nu ~ Gamma(q, gamma); the observed
mean spend m_x over x transactions then has the marginal density used below. Only customers
with x > 0 repeat transactions enter the fit (m_x is the mean of the repeat transactions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import digamma, gammaln

Array = NDArray[np.float64]


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float


@dataclass(frozen=True)
class FitResult:
    params: GammaGammaParams
    log_likelihood: float
    iterations: int
    converged: bool


def log_likelihood(params: GammaGammaParams | Array, x: Array, m: Array) -> Array:
    """Per-customer log-density of the mean spend m over x transactions (x > 0)."""
    p, q, g = (params.p, params.q, params.gamma) if isinstance(params, GammaGammaParams) else params
    px = p * x
    return (  # type: ignore[no-any-return]
        gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g) + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(g + m * x)
    )


def _value_and_gradient(theta: Array, x: Array, m: Array) -> tuple[float, Array]:
    """Mean negative log-likelihood and its analytic gradient with respect to log-parameters."""
    p, q, g = np.exp(theta)
    px = p * x
    log_gmx = np.log(g + m * x)
    dig_pxq = digamma(px + q)
    ll = gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g) + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * log_gmx
    d_p = x * (dig_pxq - digamma(px) + np.log(m) + np.log(x) - log_gmx)
    d_q = dig_pxq - digamma(q) + np.log(g) - log_gmx
    d_g = q / g - (px + q) / (g + m * x)
    n = len(x)
    return float(-ll.sum() / n), -np.array([d_p.sum() * p, d_q.sum() * q, d_g.sum() * g]) / n


def fit(x: Array, m: Array) -> FitResult:
    """Maximum-likelihood estimates of (p, q, gamma) by BFGS with the analytic gradient; rows
    with x <= 0 or m <= 0 are ignored."""
    x, m = np.asarray(x, dtype=np.float64), np.asarray(m, dtype=np.float64)
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    if len(x) < 2:
        raise ValueError("need at least two repeat customers with spend")
    theta0 = np.log([1.0, 1.0, float(np.mean(m))])
    res = minimize(_value_and_gradient, theta0, args=(x, m), jac=True, method="BFGS", options={"gtol": 1e-8, "maxiter": 1000})
    p, q, g = np.exp(res.x)
    return FitResult(GammaGammaParams(float(p), float(q), float(g)), float(-res.fun * len(x)), int(res.nit), bool(res.success))


def expected_spend(params: GammaGammaParams, x: Array, m: Array) -> Array:
    """E[M | x, m_x] (Fader & Hardie 2013, eq. 5): a weighted mean of the population mean
    p*gamma/(q-1) and the customer's observed mean m_x. Customers without repeats get the
    population mean."""
    x, m = np.asarray(x, dtype=np.float64), np.asarray(m, dtype=np.float64)
    p, q, g = params.p, params.q, params.gamma
    population = p * g / (q - 1)
    individual = p * (g + x * m) / (p * x + q - 1)
    return np.where(x > 0, individual, population)  # type: ignore[no-any-return]
