"""Treated-vs-holdout comparison with normal-approximation (Wald) 95 % confidence intervals.

- Rates (retention = share who bought in the period; referral rate = share who referred):
  uplift = p_t - p_h, se = sqrt(p_t(1-p_t)/n_t + p_h(1-p_h)/n_h).
- Means (spend per customer): uplift = mean_t - mean_h, se = sqrt(s_t^2/n_t + s_h^2/n_h)
  (Welch, sample variances).
CI = uplift +/- 1.96 se. Groups with fewer than two members give no interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Comparison:
    treated: float | None
    holdout: float | None
    uplift: float | None
    ci_low: float | None
    ci_high: float | None


def _interval(diff: float, se: float | None) -> tuple[float | None, float | None]:
    if se is None:
        return None, None
    return diff - Z95 * se, diff + Z95 * se


def rates(treated: Sequence[bool], holdout: Sequence[bool]) -> Comparison:
    nt, nh = len(treated), len(holdout)
    pt = sum(treated) / nt if nt else None
    ph = sum(holdout) / nh if nh else None
    if pt is None or ph is None:
        return Comparison(pt, ph, None, None, None)
    diff = pt - ph
    se = math.sqrt(pt * (1 - pt) / nt + ph * (1 - ph) / nh) if nt > 1 and nh > 1 else None
    return Comparison(pt, ph, diff, *_interval(diff, se))


def means(treated: Sequence[float], holdout: Sequence[float]) -> Comparison:
    nt, nh = len(treated), len(holdout)
    mt = sum(treated) / nt if nt else None
    mh = sum(holdout) / nh if nh else None
    if mt is None or mh is None:
        return Comparison(mt, mh, None, None, None)
    diff = mt - mh
    se = None
    if nt > 1 and nh > 1:
        vt = sum((v - mt) ** 2 for v in treated) / (nt - 1)
        vh = sum((v - mh) ** 2 for v in holdout) / (nh - 1)
        se = math.sqrt(vt / nt + vh / nh)
    return Comparison(mt, mh, diff, *_interval(diff, se))
