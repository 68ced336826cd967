"""The points ledger: every change of a member's points goes through here.

Guarantees: callers hold the member row locked (`lock_member`, `SELECT ... FOR UPDATE`), so
concurrent redemptions, refunds and jobs on one member serialise and a balance is never
overdrawn by a race. Every change appends a `LedgerEntry` with the balances after it and the
rule that produced it; `PointLot`s track what is left of each earning so consumption and
expiry take the oldest points first (FIFO). A negative balance (a refund after spending,
when the program allows it) is a debt that the next points to become available pay off.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_loyalty.domain.tiers import add_months
from wafa_loyalty.models import LOT_OPEN, LedgerEntry, Member, PointLot, Program
from wafa_shared.problems import ProblemError

ZERO = Decimal(0)


async def lock_member(session: AsyncSession, customer_id: uuid.UUID) -> Member | None:
    """The member row, locked until the transaction ends (serialises all balance changes)."""
    return (await session.execute(select(Member).where(Member.customer_id == customer_id).with_for_update())).scalar_one_or_none()


def append(
    session: AsyncSession,
    member: Member,
    kind: str,
    at: datetime,
    *,
    points: Decimal = ZERO,
    pending: Decimal = ZERO,
    rule: str | None = None,
    purchase_id: uuid.UUID | None = None,
    redemption_id: uuid.UUID | None = None,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> LedgerEntry:
    """Apply signed deltas to the member's balances and record the entry."""
    member.available += points
    member.pending += pending
    entry = LedgerEntry(
        customer_id=member.customer_id,
        kind=kind,
        points=points,
        pending_delta=pending,
        balance_after=member.available,
        pending_after=member.pending,
        rule=rule,
        purchase_id=purchase_id,
        redemption_id=redemption_id,
        reason=reason,
        detail=detail,
        occurred_at=at,
    )
    session.add(entry)
    return entry


def _pay_debt(member: Member, lot: PointLot) -> None:
    """A lot that becomes available first repays a negative balance."""
    if member.available < 0:
        lot.remaining -= min(-member.available, lot.remaining)


def earn(
    session: AsyncSession,
    member: Member,
    program: Program,
    points: Decimal,
    *,
    rule: str,
    earned_at: datetime,
    now: datetime,
    purchase_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
    pending_days: int | None = None,
    reason: str | None = None,
) -> PointLot | None:
    """Add an earning: pending until `earned_at + pending_days` (the return window), then
    available; expiring `expiry_months` after earning under the fixed expiry policy."""
    if points <= 0:
        return None
    days = program.pending_days if pending_days is None else pending_days
    matures_at = earned_at + timedelta(days=days)
    expires_at = add_months(earned_at, program.expiry_months) if program.expiry_mode == "fixed" and program.expiry_months else None
    lot = PointLot(
        customer_id=member.customer_id,
        purchase_id=purchase_id,
        rule=rule,
        points=points,
        remaining=points,
        state="pending" if matures_at > now else "available",
        earned_at=earned_at,
        matures_at=matures_at,
        expires_at=expires_at,
    )
    if lot.state == "pending":
        append(session, member, "pending", earned_at, pending=points, rule=rule, purchase_id=purchase_id, detail=detail, reason=reason)
    else:
        _pay_debt(member, lot)
        append(session, member, "earn", earned_at, points=points, rule=rule, purchase_id=purchase_id, detail=detail, reason=reason)
    session.add(lot)
    return lot


async def _open_lots(session: AsyncSession, customer_id: uuid.UUID, state: str, purchase_id: uuid.UUID | None = None) -> list[PointLot]:
    await session.flush()  # the session does not autoflush; lots added in this transaction count
    stmt = select(PointLot).where(PointLot.customer_id == customer_id, PointLot.state == state, LOT_OPEN)
    if purchase_id is not None:
        stmt = stmt.where(PointLot.purchase_id == purchase_id)
    stmt = stmt.order_by(PointLot.expires_at.asc().nulls_last(), PointLot.id)
    return list((await session.scalars(stmt)).all())


async def consume_fifo(session: AsyncSession, member: Member, points: Decimal, *, purchase_id: uuid.UUID | None = None) -> Decimal:
    """Take up to `points` from available lots, soonest-expiring and oldest first; returns what was taken."""
    left = points
    for lot in await _open_lots(session, member.customer_id, "available", purchase_id):
        if left <= 0:
            break
        take = min(lot.remaining, left)
        lot.remaining -= take
        left -= take
    return points - left


async def spend(session: AsyncSession, member: Member, points: Decimal, at: datetime, *, kind: str, rule: str | None = None, **kw: Any) -> LedgerEntry:
    """Spend points (redeem, negative adjustment); 409 `insufficient-points` beyond the balance."""
    if member.available < points:
        raise ProblemError(
            409,
            "insufficient-points",
            f"The member has {member.available.normalize():f} points available; {points.normalize():f} are needed.",
            available=str(member.available),
            needed=str(points),
        )
    await consume_fifo(session, member, points)
    return append(session, member, kind, at, points=-points, rule=rule, **kw)


async def reverse(
    session: AsyncSession, member: Member, points: Decimal, at: datetime, *, purchase_id: uuid.UUID, policy: str, reason: str | None = None
) -> Decimal:
    """Reverse `points` earned by a purchase: first what is still pending of it, then what is
    still available of it, then any other available points; what remains is a negative
    balance (`policy="allow"`) or written off (`policy="forfeit"`). Returns the points reversed."""
    left = points
    pending_taken = ZERO
    for lot in await _open_lots(session, member.customer_id, "pending", purchase_id):
        take = min(lot.remaining, left)
        lot.remaining -= take
        pending_taken += take
        left -= take
    available_taken = await consume_fifo(session, member, left, purchase_id=purchase_id)
    left -= available_taken
    other = await consume_fifo(session, member, left)
    left -= other
    debt = left if policy == "allow" else ZERO
    detail = {"from_pending": str(pending_taken), "from_available": str(available_taken + other), "debt": str(debt), "forfeited": str(left - debt)}
    if pending_taken or available_taken or other or debt:
        append(
            session,
            member,
            "reverse",
            at,
            points=-(available_taken + other + debt),
            pending=-pending_taken,
            rule="refund",
            purchase_id=purchase_id,
            reason=reason,
            detail=detail,
        )
    return pending_taken + available_taken + other + debt


def mature(session: AsyncSession, member: Member, lot: PointLot, at: datetime) -> None:
    """A pending lot past its return window becomes redeemable."""
    amount = lot.remaining
    lot.state = "available"
    _pay_debt(member, lot)
    if amount > 0:
        append(session, member, "mature", at, points=amount, pending=-amount, rule=lot.rule, purchase_id=lot.purchase_id)


def expire(session: AsyncSession, member: Member, lots: list[PointLot], at: datetime, reason: str) -> Decimal:
    """Expire what is left of these lots (never below a negative balance)."""
    amount = sum((lot.remaining for lot in lots), ZERO)
    for lot in lots:
        lot.remaining = ZERO
    if amount > 0:
        append(session, member, "expire", at, points=-amount, rule=reason)
    return amount


async def capped(session: AsyncSession, customer_id: uuid.UUID, rule: str, points: Decimal, at: datetime, caps: dict[str, Any]) -> Decimal:
    """`points`, limited by the rule's per-customer cap for the calendar year of `at` (if any)."""
    cap = caps.get(rule)
    if cap is None or points <= 0:
        return points
    await session.flush()
    start = at.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    used = await session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.points + LedgerEntry.pending_delta), 0)).where(
            LedgerEntry.customer_id == customer_id,
            LedgerEntry.rule == rule,
            LedgerEntry.kind.in_(["earn", "pending"]),
            LedgerEntry.occurred_at >= start,
            LedgerEntry.occurred_at < start.replace(year=start.year + 1),
        )
    )
    return max(min(points, Decimal(str(cap)) - Decimal(used or 0)), ZERO)
