"""Time-driven work, run every `jobs_interval_s` and on demand (`POST /v1/ops/jobs/{name}/run`).

Each job reads `runtime.clock.now()`, works member by member under the member's row lock (so
it cannot race a redemption or a purchase), in bounded transactions, and is idempotent:
running it twice at the same instant changes nothing the second time.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_loyalty import coupons, referrals
from wafa_loyalty import points_ledger as ledger
from wafa_loyalty.domain.tiers import add_months
from wafa_loyalty.models import LOT_OPEN, LOT_PENDING, Member, PointLot, Program
from wafa_loyalty.programs import tier_defs
from wafa_loyalty.tiering import end_subscription, review
from wafa_shared.events.loyalty import PointsExpired
from wafa_shared.jobs import Job
from wafa_shared.lifecycle import Runtime
from wafa_shared.outbox import publish

CHUNK = 500


async def _commit(runtime: Runtime, session: AsyncSession) -> None:
    await session.commit()
    runtime.outbox_committed()


async def mature_points(runtime: Runtime) -> dict[str, Any]:
    """Pending points whose return window has passed become redeemable (and referral bonuses
    waiting on them are released)."""
    now = runtime.clock.now()
    matured = 0
    while True:
        async with runtime.sessions() as session:
            q = select(PointLot.customer_id).where(LOT_PENDING, PointLot.matures_at <= now)
            q = q.group_by(PointLot.customer_id).order_by(PointLot.customer_id).limit(CHUNK)  # id order, as purchase groups lock
            due = (await session.execute(q)).scalars().all()
            if not due:
                return {"matured_lots": matured}
            for customer_id in due:
                member = await ledger.lock_member(session, customer_id)
                lots = (
                    await session.scalars(
                        select(PointLot).where(PointLot.customer_id == customer_id, LOT_PENDING, PointLot.matures_at <= now).order_by(PointLot.id)
                    )
                ).all()
                for lot in lots:
                    if member is None:
                        lot.state = "available"
                        continue
                    ledger.mature(session, member, lot, now)
                    if lot.rule == "referral":
                        await referrals.matured(session, lot, now)
                    matured += 1
            await _commit(runtime, session)


async def expire_points(runtime: Runtime) -> dict[str, Any]:
    """Fixed expiry: what is left of lots past `expires_at`. Inactivity expiry: everything of
    members with no purchase for `expiry_months`. Oldest points are always consumed first, so
    what expires is what was earned longest ago."""
    now = runtime.clock.now()
    expired_members = 0
    async with runtime.sessions() as session:
        programs = (await session.scalars(select(Program).where(Program.expiry_mode != "none"))).all()
    for program in programs:
        while True:
            async with runtime.sessions() as session:
                if program.expiry_mode == "fixed":
                    q = select(PointLot.customer_id).where(PointLot.state == "available", LOT_OPEN, PointLot.expires_at <= now)
                else:
                    assert program.expiry_months is not None
                    cutoff = add_months(now, -program.expiry_months)
                    q = (
                        select(PointLot.customer_id)
                        .join(Member, Member.customer_id == PointLot.customer_id)
                        .where(Member.program_id == program.id, Member.last_activity_at <= cutoff, PointLot.state == "available", LOT_OPEN)
                    )
                q = q.group_by(PointLot.customer_id).order_by(PointLot.customer_id).limit(CHUNK)  # id order, as purchase groups lock
                due: list[uuid.UUID] = list((await session.execute(q)).scalars().all())
                if not due:
                    break
                for customer_id in due:
                    member = await ledger.lock_member(session, customer_id)
                    assert member is not None
                    stmt = select(PointLot).where(PointLot.customer_id == customer_id, PointLot.state == "available", LOT_OPEN)
                    if program.expiry_mode == "fixed":
                        stmt = stmt.where(PointLot.expires_at <= now)
                    lots = list((await session.scalars(stmt.order_by(PointLot.id))).all())
                    amount = ledger.expire(session, member, lots, now, reason=f"{program.expiry_mode}_expiry")
                    if amount > 0:
                        expired_members += 1
                        await publish(session, PointsExpired(customer_id=customer_id, points=amount, occurred_at=now), subject=customer_id)
                await _commit(runtime, session)
    return {"members_with_expired_points": expired_members}


async def review_tiers(runtime: Runtime) -> dict[str, Any]:
    """End paid-membership subscriptions that ran out, and downgrade at period end (after the
    grace period) members whose credit no longer holds their tier."""
    now = runtime.clock.now()
    changed = 0
    tiers_by_program: dict[uuid.UUID, Any] = defaultdict(list)
    while True:
        async with runtime.sessions() as session:
            ending = (await session.scalars(select(Member.customer_id).where(Member.subscription_ends_at <= now).limit(CHUNK))).all()
            if not ending:
                break
            for customer_id in ending:
                member = await ledger.lock_member(session, customer_id)
                if member is None or member.subscription_ends_at is None or member.subscription_ends_at > now:
                    continue
                program = await session.get(Program, member.program_id)
                assert program is not None
                if program.id not in tiers_by_program:
                    tiers_by_program[program.id] = await tier_defs(session, program.id)
                changed += await end_subscription(session, member, program, tiers_by_program[program.id], now)
            await _commit(runtime, session)
    while True:
        async with runtime.sessions() as session:
            due = (await session.scalars(select(Member.customer_id).where(Member.tier_review_at <= now).limit(CHUNK))).all()
            if not due:
                return {"tier_changes": changed}
            for customer_id in due:
                member = await ledger.lock_member(session, customer_id)
                if member is None or member.tier_review_at is None or member.tier_review_at > now:
                    continue
                if member.subscription_ends_at is not None and member.tier == member.subscription_tier:
                    member.tier_review_at = member.subscription_ends_at  # the paid tier holds until then
                    continue
                program = await session.get(Program, member.program_id)
                assert program is not None
                if program.id not in tiers_by_program:
                    tiers_by_program[program.id] = await tier_defs(session, program.id)
                changed += await review(session, member, program, tiers_by_program[program.id], now)
            await _commit(runtime, session)


async def expire_coupons(runtime: Runtime) -> dict[str, Any]:
    """Issued or pooled codes past `valid_until` become expired."""
    total = 0
    while True:
        async with runtime.sessions() as session:
            n = await coupons.expire_codes(session, runtime.clock.now())
            await session.commit()
        total += n
        if n == 0:
            return {"expired_codes": total}


def jobs(interval_s: float) -> list[Job]:
    return [
        Job("mature-points", interval_s, mature_points, "Pending points past their return window become redeemable."),
        Job("expire-points", interval_s, expire_points, "Expire points per the program's expiry policy (FIFO)."),
        Job("review-tiers", interval_s, review_tiers, "End paid subscriptions; downgrade at period end + grace."),
        Job("expire-coupons", interval_s, expire_coupons, "Coupon codes past their validity become expired."),
    ]
