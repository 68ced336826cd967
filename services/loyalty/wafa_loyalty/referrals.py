"""The advocate's side of a referral: the bonus is held until the referee's first purchase is
past its return window, then released; a refund of that purchase inside the window revokes it.

Fraud checks (self-referral, existing customer, per-advocate limits) belong to the customer
service, which only publishes `referral.made` for referrals it accepted.
States: awaiting_purchase -> pending -> released | revoked.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_loyalty import points_ledger as ledger
from wafa_loyalty.models import LOT_PENDING, Member, PointLot, Program, Purchase, ReferralBonus
from wafa_loyalty.programs import default_program
from wafa_shared.events.loyalty import ReferralBonusHeld, ReferralBonusReleased, ReferralBonusRevoked
from wafa_shared.outbox import publish


async def on_referral(session: AsyncSession, referral_id: uuid.UUID, advocate_id: uuid.UUID, referee_id: uuid.UUID, made_at: datetime, now: datetime) -> None:
    """Record a referral bonus for the advocate (idempotent on the referral id)."""
    advocate = await session.get(Member, advocate_id)
    program = await session.get(Program, advocate.program_id) if advocate else await default_program(session)
    if program is None:
        return
    points = Decimal(str(program.rules.get("referral_bonus") or 0))
    if points <= 0:
        return
    await session.execute(
        insert(ReferralBonus)
        .values(
            referral_id=referral_id,
            advocate_id=advocate_id,
            referee_id=referee_id,
            points=points,
            state="awaiting_purchase",
            made_at=made_at,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["referral_id"])
    )
    first = (await session.scalars(select(Purchase).where(Purchase.customer_id == referee_id, Purchase.first_purchase.is_(True)).limit(1))).first()
    if first is not None:
        await attach_purchase(session, referee_id, first.id, first.occurred_at, program, now)


async def attach_purchase(session: AsyncSession, referee_id: uuid.UUID, purchase_id: uuid.UUID, at: datetime, program: Program, now: datetime) -> None:
    """The referee's first purchase: hold the bonus as pending points of the advocate until the
    purchase's return window ends."""
    bonuses = (
        await session.scalars(select(ReferralBonus).where(ReferralBonus.referee_id == referee_id, ReferralBonus.state == "awaiting_purchase").with_for_update())
    ).all()
    for bonus in bonuses:
        advocate = await ledger.lock_member(session, bonus.advocate_id)
        if advocate is None or advocate.erased:
            bonus.state, bonus.reason, bonus.updated_at = "revoked", "advocate is not a loyalty member", now
            continue
        release_at = at + timedelta(days=program.pending_days)
        bonus.points = await ledger.capped(session, bonus.advocate_id, "referral", bonus.points, at, program.rules.get("caps") or {})
        if bonus.points <= 0:
            bonus.state, bonus.reason, bonus.updated_at = "revoked", "advocate reached the yearly referral bonus cap", now
            continue
        bonus.state, bonus.purchase_id, bonus.release_at, bonus.updated_at = "pending", purchase_id, release_at, now
        lot = ledger.earn(
            session, advocate, program, bonus.points, rule="referral", earned_at=at, now=now, purchase_id=purchase_id, reason=f"referral {bonus.referral_id}"
        )
        await publish(
            session,
            ReferralBonusHeld(
                referral_id=bonus.referral_id,
                advocate_id=bonus.advocate_id,
                referee_id=referee_id,
                points=bonus.points,
                purchase_id=purchase_id,
                release_at=release_at,
                occurred_at=now,
            ),
            subject=bonus.advocate_id,
        )
        if lot is not None and lot.state == "available":
            await _released(session, bonus, now)


async def _released(session: AsyncSession, bonus: ReferralBonus, at: datetime) -> None:
    bonus.state, bonus.updated_at = "released", at
    await publish(
        session,
        ReferralBonusReleased(
            referral_id=bonus.referral_id,
            advocate_id=bonus.advocate_id,
            referee_id=bonus.referee_id,
            points=bonus.points,
            purchase_id=bonus.purchase_id,
            occurred_at=at,
        ),
        subject=bonus.advocate_id,
    )


async def matured(session: AsyncSession, lot: PointLot, at: datetime) -> None:
    """A referral lot matured (called by the maturation job): the bonus is released."""
    bonus = (
        await session.scalars(
            select(ReferralBonus).where(
                ReferralBonus.advocate_id == lot.customer_id, ReferralBonus.purchase_id == lot.purchase_id, ReferralBonus.state == "pending"
            )
        )
    ).first()
    if bonus is not None:
        await _released(session, bonus, at)


async def revoke_for_purchase(session: AsyncSession, purchase_id: uuid.UUID, at: datetime, reason: str) -> None:
    """The qualifying purchase was refunded while the bonus was pending: revoke it."""
    bonuses = (
        await session.scalars(select(ReferralBonus).where(ReferralBonus.purchase_id == purchase_id, ReferralBonus.state == "pending").with_for_update())
    ).all()
    for bonus in bonuses:
        advocate = await ledger.lock_member(session, bonus.advocate_id)
        lots = (
            await session.scalars(
                select(PointLot).where(PointLot.customer_id == bonus.advocate_id, PointLot.purchase_id == purchase_id, PointLot.rule == "referral", LOT_PENDING)
            )
        ).all()
        held = sum((lot.remaining for lot in lots), Decimal(0))
        for lot in lots:
            lot.remaining = Decimal(0)
        if advocate is not None and held:
            ledger.append(session, advocate, "revoke", at, pending=-held, rule="referral", purchase_id=purchase_id, reason=reason)
        bonus.state, bonus.reason, bonus.updated_at = "revoked", reason, at
        await publish(
            session,
            ReferralBonusRevoked(
                referral_id=bonus.referral_id, advocate_id=bonus.advocate_id, referee_id=bonus.referee_id, points=bonus.points, reason=reason, occurred_at=at
            ),
            subject=bonus.advocate_id,
        )


async def list_for(session: AsyncSession, customer_id: uuid.UUID) -> list[ReferralBonus]:
    stmt = select(ReferralBonus).where((ReferralBonus.advocate_id == customer_id) | (ReferralBonus.referee_id == customer_id)).order_by(ReferralBonus.made_at)
    return list((await session.scalars(stmt)).all())


async def on_rejected(session: AsyncSession, referral_id: uuid.UUID, advocate_id: uuid.UUID, reason: str, detail: str | None, at: datetime) -> None:
    """The customer service refused a referral: record it with its reason (visible on the
    advocate's referrals and ledger); a bonus already held for it is revoked."""
    await session.execute(
        insert(ReferralBonus)
        .values(referral_id=referral_id, advocate_id=advocate_id, referee_id=None, points=0, state="rejected", reason=reason, made_at=at, updated_at=at)
        .on_conflict_do_nothing(index_elements=["referral_id"])
    )
    bonus = (await session.scalars(select(ReferralBonus).where(ReferralBonus.referral_id == referral_id).with_for_update())).one()
    if bonus.state == "pending" and bonus.purchase_id is not None:
        await revoke_for_purchase(session, bonus.purchase_id, at, f"referral rejected: {reason}")
    if bonus.state in ("awaiting_purchase", "revoked"):
        bonus.state, bonus.updated_at = "rejected", at
    bonus.reason = reason
    advocate = await ledger.lock_member(session, advocate_id)
    if advocate is not None:
        text = reason if not detail else f"{reason}: {detail}"
        ledger.append(session, advocate, "referral_rejected", at, rule="referral", reason=text, detail={"referral_id": str(referral_id), "reason": reason})
