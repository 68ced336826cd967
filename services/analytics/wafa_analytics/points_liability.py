"""Points liability: what the customers' outstanding points would cost if redeemed.

Outstanding points at an instant = points earned (including those still pending: they will
become redeemable) + referral bonuses held - bonuses revoked - points redeemed - points expired,
over every movement before it; liability = outstanding points x the cost of one point
(`REWARD_POINT_COST`, the same rate profitability charges for a redeemed point).
Known gap: a refund's points reversal is not on the bus (`loyalty.purchase.refunded` carries no
points), so outstanding points here can exceed loyalty's balances by the reversed points.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_analytics.domain.kpi import Q
from wafa_analytics.periods import Period

_TIER = (
    "(CAST(:tier AS text) IS NULL OR customer_id IN (SELECT customer_id FROM a_customers WHERE tier = CAST(:tier AS text)))"
    " AND (CAST(:members AS uuid[]) IS NULL OR customer_id = ANY(CAST(:members AS uuid[])))"
)

_OPENING = text(f"SELECT COALESCE(sum(delta), 0) FROM a_points WHERE occurred_at < :start AND {_TIER}")
_MOVES = text(f"""
SELECT to_char(date_trunc('month', occurred_at AT TIME ZONE 'UTC'), 'YYYY-MM') AS month, kind, sum(delta) AS points
FROM a_points WHERE occurred_at >= :start AND occurred_at < :end AND {_TIER} GROUP BY 1, 2""")

KINDS = ("earned", "held", "revoked", "redeemed", "expired")


def months(first: date, last: date) -> list[str]:
    """Every calendar month touched by [first, last], as YYYY-MM."""
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


async def liability(session: AsyncSession, p: Period, *, point_value: Decimal, tier: str | None, members: list[Any] | None = None) -> dict[str, Any]:
    params = {"start": p.start, "end": p.end, "tier": tier, "members": members}
    opening = Decimal((await session.execute(_OPENING, params)).scalar_one())
    moves: dict[str, dict[str, Decimal]] = {}
    for r in await session.execute(_MOVES, params):
        moves.setdefault(r.month, {})[r.kind] = Decimal(r.points)
    totals = {k: sum((m.get(k, Decimal(0)) for m in moves.values()), Decimal(0)) for k in KINDS}
    series = []
    balance = opening
    for month in months(p.first, p.last):
        m = moves.get(month, {})
        added = m.get("earned", Decimal(0)) + m.get("held", Decimal(0))
        taken = -(m.get("revoked", Decimal(0)) + m.get("redeemed", Decimal(0)) + m.get("expired", Decimal(0)))
        balance += added - taken
        series.append(
            {
                "month": month,
                "added": added.quantize(Q),
                "taken": taken.quantize(Q),
                "outstanding_points": balance.quantize(Q),
                "liability": (balance * point_value).quantize(Q),
            }
        )
    return {
        "opening_points": opening.quantize(Q),
        "outstanding_points": balance.quantize(Q),
        "liability": (balance * point_value).quantize(Q),
        "opening_liability": (opening * point_value).quantize(Q),
        "movements": {k: abs(v).quantize(Q) for k, v in totals.items()},
        "months": series,
    }
