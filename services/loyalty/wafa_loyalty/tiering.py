"""Tier changes of members: upgrades as credit arrives, downgrades at review (period end + grace).

Only qualifying credit is read, so redemption and expiry never move a tier; refunds lower the
credit but a tier already reached is kept until its review.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_loyalty.domain.tiers import TierDef, add_months, next_tier, review_at, tier_for, window
from wafa_loyalty.models import Member, Program, QualifyingCredit
from wafa_shared.events.loyalty import TierChanged
from wafa_shared.outbox import publish
from wafa_shared.problems import ProblemError


async def qualifying_credit(session: AsyncSession, customer_id: uuid.UUID, start: datetime, end: datetime) -> Decimal:
    await session.flush()  # the session does not autoflush; credit added in this transaction counts
    total = await session.scalar(
        select(func.coalesce(func.sum(QualifyingCredit.amount), 0)).where(
            QualifyingCredit.customer_id == customer_id, QualifyingCredit.credited_at >= start, QualifyingCredit.credited_at < end
        )
    )
    return Decimal(total or 0)


async def _change(session: AsyncSession, member: Member, tier: TierDef, reason: str, now: datetime) -> None:
    before = member.tier
    member.tier, member.tier_rank, member.tier_since = tier.name, tier.rank, now
    await publish(
        session, TierChanged(customer_id=member.customer_id, from_tier=before, to_tier=tier.name, reason=reason, occurred_at=now), subject=member.customer_id
    )


async def _drop(session: AsyncSession, member: Member, reason: str, now: datetime) -> None:
    """Below every tier (only when no tier has threshold 0): `to_tier` is "none"."""
    event = TierChanged(customer_id=member.customer_id, from_tier=member.tier, to_tier="none", reason=reason, occurred_at=now)
    member.tier, member.tier_rank, member.tier_since = None, None, now
    await publish(session, event, subject=member.customer_id)


async def upgrade_if_qualified(session: AsyncSession, member: Member, program: Program, tiers: list[TierDef], now: datetime) -> None:
    """Upgrade at once when the credit of the current window reaches a higher tier; the new tier
    is held until the end of this qualification period plus the grace period."""
    if next_tier(member.tier_rank, tiers) is None:
        return  # no earnable tier above this one: nothing to read
    start, end = window(program.qualification_period, now)
    credit = await qualifying_credit(session, member.customer_id, start, max(end, now))
    best = tier_for(credit, tiers)
    if best is not None and (member.tier_rank is None or best.rank > member.tier_rank):
        await _change(session, member, best, "upgrade", now)
        member.tier_review_at = review_at(program.qualification_period, now, program.downgrade_grace_days)


async def review(session: AsyncSession, member: Member, program: Program, tiers: list[TierDef], now: datetime) -> bool:
    """At `tier_review_at`: keep the highest tier supported by the period that just ended (or
    by the current window, if that is better); downgrade otherwise. Returns True on a change."""
    assert member.tier_review_at is not None
    ended = member.tier_review_at - timedelta(days=program.downgrade_grace_days)
    credit_ended = await qualifying_credit(session, member.customer_id, add_months(ended, -12), ended)
    start, end = window(program.qualification_period, now)
    credit_now = await qualifying_credit(session, member.customer_id, start, max(end, now))
    best = tier_for(max(credit_ended, credit_now), tiers)
    changed = False
    if best is None and member.tier is not None:
        await _drop(session, member, "downgrade_at_period_end", now)
        changed = True
    elif best is not None and member.tier_rank is not None and best.rank < member.tier_rank:
        await _change(session, member, best, "downgrade_at_period_end", now)
        changed = True
    lowest = min((t.rank for t in tiers if t.threshold == 0), default=None)
    member.tier_review_at = (
        None if member.tier_rank is None or member.tier_rank == lowest else review_at(program.qualification_period, ended, program.downgrade_grace_days)
    )
    return changed


async def subscribe(session: AsyncSession, member: Member, tiers: list[TierDef], tier_name: str, ends_at: datetime, now: datetime) -> None:
    """Hold a paid-membership tier until `ends_at` (a renewal just moves the end). The member
    gets it at once if it ranks above their earned tier."""
    tier = next((t for t in tiers if t.name == tier_name and t.paid), None)
    if tier is None:
        raise ProblemError(
            422,
            "not-a-paid-tier",
            f"{tier_name} is not a paid-membership tier of this program.",
            errors=[{"field": "tier", "in": "body", "message": "unknown paid tier"}],
        )
    if ends_at <= now:
        raise ProblemError(
            422, "validation-error", "ends_at must be in the future", errors=[{"field": "ends_at", "in": "body", "message": "must be in the future"}]
        )
    member.subscription_tier, member.subscription_ends_at = tier.name, ends_at
    if member.tier_rank is None or tier.rank > member.tier_rank:
        await _change(session, member, tier, "subscription_started", now)


async def end_subscription(session: AsyncSession, member: Member, program: Program, tiers: list[TierDef], now: datetime) -> bool:
    """The subscription ended: the member falls back to the tier their credit earns."""
    held = member.subscription_tier
    member.subscription_tier, member.subscription_ends_at = None, None
    if member.tier != held:
        return False
    start, end = window(program.qualification_period, now)
    best = tier_for(await qualifying_credit(session, member.customer_id, start, max(end, now)), tiers)
    if best is None:
        await _drop(session, member, "subscription_ended", now)
    else:
        await _change(session, member, best, "subscription_ended", now)
    lowest = min((t.rank for t in tiers if t.threshold == 0 and not t.paid), default=None)
    member.tier_review_at = None if member.tier_rank in (None, lowest) else review_at(program.qualification_period, now, program.downgrade_grace_days)
    return True
