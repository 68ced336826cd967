"""RFM scoring: recency, frequency and monetary quintile scores (1-5, 5 best) and named segments.

A customer's score on a measure is 1 + floor(5 x share of customers strictly worse than him),
so ties share a score and the best fifth scores 5. Recency is better when smaller.
Segments are read off (R, F) in this order (the usual RFM grid):
Champions R>=4 F>=4; Loyal R>=3 F>=3; New R>=4 F=1; Potential loyalists R>=3;
Cannot lose them R<=2 F>=4; At risk R<=2 F>=2; Hibernating R=2 F=1; Lost R=1 F=1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def quintile_scores(values: Sequence[float], *, higher_is_better: bool = True) -> list[int]:
    v = np.asarray(values, dtype=np.float64)
    if not higher_is_better:
        v = -v
    n = len(v)
    if n == 0:
        return []
    worse = np.searchsorted(np.sort(v), v, side="left")  # customers strictly below
    return [int(s) for s in 1 + np.floor(5 * worse / n).astype(int)]


def segment(r: int, f: int) -> str:
    if r >= 4 and f >= 4:
        return "Champions"
    if r >= 3 and f >= 3:
        return "Loyal"
    if r >= 4 and f == 1:
        return "New"
    if r >= 3:
        return "Potential loyalists"
    if f >= 4:
        return "Cannot lose them"
    if f >= 2:
        return "At risk"
    if r == 2:
        return "Hibernating"
    return "Lost"


SEGMENTS = ("Champions", "Loyal", "New", "Potential loyalists", "Cannot lose them", "At risk", "Hibernating", "Lost")
