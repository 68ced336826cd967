"""Goals: a target on a KPI for a period, and progress towards it.

`mode=absolute`: the target is the KPI's value to reach. `mode=relative`: the target is a
percentage change against the baseline, the same KPI over the period of equal length just
before (e.g. "CSI +10 % this year" is `kpi=csi, mode=relative, target=10`). `points_liability`
is the liability at the end of the measured period (and of the baseline period).
Progress = (current - baseline) / (target value - baseline) x 100, measured over the part of
the period elapsed so far. For KPIs where lower is better (churn, cost to serve) the goal is
met when the value is at or below the target.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wafa_analytics import points_liability, service
from wafa_analytics.domain.kpi import Q
from wafa_analytics.models import Goal
from wafa_analytics.periods import Period
from wafa_analytics.settings import Settings

LOWER_IS_BETTER = {"churn_rate", "cost_to_serve_per_customer", "points_liability"}


async def kpi_value(session: AsyncSession, settings: Settings, kpi: str, p: Period, segment: str | None) -> object:
    if kpi == "points_liability":
        return (await points_liability.liability(session, p, point_value=settings.reward_point_cost, tier=segment))["liability"]
    return (await service.kpis(session, settings, p, segment=segment)).get(kpi)


def target_value(goal: Goal, baseline: Decimal | None) -> Decimal | None:
    if goal.mode == "absolute":
        return Decimal(goal.target)
    if baseline is None:
        return None
    return (baseline * (1 + Decimal(goal.target) / 100)).quantize(Q)


async def progress(session: AsyncSession, settings: Settings, goal: Goal, today: date) -> dict[str, Any]:
    p = Period(goal.period_from, goal.period_to)
    measured = Period(p.first, min(p.last, today)) if today >= p.first else None
    baseline = await kpi_value(session, settings, goal.kpi, p.previous(), goal.segment)
    current = None
    if measured is not None:
        current = await kpi_value(session, settings, goal.kpi, measured, goal.segment)
    tv = target_value(goal, baseline if isinstance(baseline, Decimal) else None)
    pct = None
    if isinstance(current, Decimal) and isinstance(baseline, Decimal) and tv is not None and tv != baseline:
        pct = ((current - baseline) / (tv - baseline) * 100).quantize(Q)
    achieved = None
    if isinstance(current, Decimal) and tv is not None:
        achieved = current <= tv if goal.kpi in LOWER_IS_BETTER else current >= tv
    return {
        "baseline": Decimal(baseline) if isinstance(baseline, (Decimal, int)) else None,
        "current": Decimal(current) if isinstance(current, (Decimal, int)) else None,
        "target_value": tv,
        "progress_pct": pct,
        "achieved": achieved,
        "measured_to": measured.last if measured else None,
    }
