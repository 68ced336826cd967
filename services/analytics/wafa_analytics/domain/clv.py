"""Customer lifetime value from BG/NBD (how many purchases) and Gamma-Gamma (how much each).

CLV over H months with a monthly discount rate d = (1 + annual)^(1/12) - 1:
    CLV = sum_{k=1..H} (E[X(k)] - E[X(k-1)]) x E[M] / (1 + d)^k
where E[X(k)] is the expected number of purchases in the first k months after the observation
end (BG/NBD conditional expectation) and E[M] the Gamma-Gamma expected spend per purchase
(the discounted-cash-flow form used by Fader & Hardie and by the `lifetimes` package).

Loyalty index (0-100): 100 x P(alive) x x/(x+1): likely still active, weighted by how
established the repeat behaviour is (a one-time buyer scores 0).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from wafa_analytics.domain import bgnbd
from wafa_analytics.domain.gammagamma import GammaGammaParams, expected_spend

Array = NDArray[np.float64]
WEEKS_PER_MONTH = 365.25 / 12 / 7


def monthly_rate(annual: float) -> float:
    return float((1 + annual) ** (1 / 12) - 1)


def clv(bg: bgnbd.BGNBDParams, gg: GammaGammaParams, x: Array, t_x: Array, T: Array, m: Array, *, months: int, annual_discount: float) -> Array:
    spend = expected_spend(gg, x, m)
    d = monthly_rate(annual_discount)
    total = np.zeros(len(x))
    prev = np.zeros(len(x))
    for k in range(1, months + 1):
        cum = bgnbd.expected_purchases(bg, k * WEEKS_PER_MONTH, x, t_x, T)
        total += (cum - prev) * spend / (1 + d) ** k
        prev = cum
    return total


def loyalty_index(p_alive: Array, x: Array) -> Array:
    x = np.asarray(x, dtype=np.float64)
    return 100 * np.asarray(p_alive) * x / (x + 1)  # type: ignore[no-any-return]
