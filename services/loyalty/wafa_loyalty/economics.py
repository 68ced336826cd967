"""Program economics: liability, breakage, tier distribution and the cost of rewards.

- liability = (available + pending points of all members) x point value;
- breakage rate = points expired / points earned (lifetime, from the ledger);
- reward cost in a period = sum of the rewards' business cost over redemptions in [from, to).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_loyalty.models import LedgerEntry, Member, Redemption
from wafa_loyalty.programs import default_program
from wafa_loyalty.schemas import EconomicsOut
from wafa_shared.money import quantize
from wafa_shared.problems import ProblemError

ZERO = Decimal(0)


async def economics(session: AsyncSession, start: datetime | None, end: datetime | None) -> EconomicsOut:
    program = await default_program(session)
    if program is None:
        raise ProblemError(404, "not-found", "No program exists yet.")
    available, pending = (
        await session.execute(
            select(func.coalesce(func.sum(Member.available), 0), func.coalesce(func.sum(Member.pending), 0)).where(Member.program_id == program.id)
        )
    ).one()
    earned_sum = func.coalesce(func.sum(case((LedgerEntry.kind.in_(["earn", "mature"]), LedgerEntry.points), else_=0)), 0)
    redeemed_sum = func.coalesce(func.sum(case((LedgerEntry.kind == "redeem", -LedgerEntry.points), else_=0)), 0)
    expired_sum = func.coalesce(func.sum(case((LedgerEntry.kind == "expire", -LedgerEntry.points), else_=0)), 0)
    earned, redeemed, expired = (await session.execute(select(earned_sum, redeemed_sum, expired_sum))).one()
    tiers = dict(
        (name or "none", count)
        for name, count in (await session.execute(select(Member.tier, func.count()).where(Member.program_id == program.id).group_by(Member.tier))).all()
    )
    period = select(func.count(), func.coalesce(func.sum(Redemption.points), 0), func.coalesce(func.sum(Redemption.cost), 0))
    if start is not None:
        period = period.where(Redemption.occurred_at >= start)
    if end is not None:
        period = period.where(Redemption.occurred_at < end)
    count, points, cost = (await session.execute(period)).one()
    earned, expired = Decimal(earned), Decimal(expired)
    return EconomicsOut(
        program_id=program.id,
        currency=program.currency,
        outstanding_points=Decimal(available),
        pending_points=Decimal(pending),
        liability=quantize((Decimal(available) + Decimal(pending)) * program.point_value, program.currency),
        points_earned=earned,
        points_redeemed=Decimal(redeemed),
        points_expired=expired,
        breakage_rate=(expired / earned).quantize(Decimal("0.0001")) if earned else ZERO,
        tier_distribution=tiers,
        period_from=start,
        period_to=end,
        redemptions_in_period=count,
        points_redeemed_in_period=Decimal(points),
        reward_cost_in_period=quantize(Decimal(cost), program.currency),
    )
