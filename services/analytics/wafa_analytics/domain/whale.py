"""The whale curve (course document 000, activity-based costing): customers ranked from most to
least profitable against cumulative profit as a percentage of total profit. It typically rises
well above 100 % (the profitable customers) and falls back to exactly 100 % at the last customer,
because the unprofitable ones destroy part of the profit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

Q = Decimal("0.0001")


@dataclass(frozen=True)
class Point:
    rank: int
    customers_pct: Decimal
    cumulative_profit: Decimal
    cumulative_profit_pct: Decimal | None


def curve(profits: Sequence[Decimal], max_points: int = 101) -> tuple[list[Point], Decimal, Point | None]:
    """(sampled points incl. first and last, total profit, peak point)."""
    ranked = sorted(profits, reverse=True)
    n = len(ranked)
    total = sum(ranked, Decimal(0))
    points: list[Point] = []
    peak: Point | None = None
    step = max(1, n // max(1, max_points - 1))
    cum = Decimal(0)
    for i, p in enumerate(ranked, start=1):
        cum += p
        pt = Point(i, (Decimal(100) * i / n).quantize(Q), cum, None if total == 0 else (cum * 100 / total).quantize(Q))
        if peak is None or cum > peak.cumulative_profit:
            peak = pt
        if i == 1 or i == n or i % step == 0:
            points.append(pt)
    return points, total, peak
