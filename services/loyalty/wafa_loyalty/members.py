"""Members: the balances view, the ledger, manual adjustments and erasure."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_loyalty import points_ledger as ledger
from wafa_loyalty import repository as repo
from wafa_loyalty import tiering
from wafa_loyalty.domain.tiers import TierDef, add_months, next_tier, progress_message, window
from wafa_loyalty.models import LedgerEntry, Member, Program
from wafa_loyalty.programs import tier_defs
from wafa_loyalty.purchases import Context
from wafa_loyalty.schemas import AdjustmentIn, ExpiringOut, LedgerEntryOut, MemberOut, NextTierOut, QualifyingOut, SubscriptionIn
from wafa_shared.db import driver_connection
from wafa_shared.events.loyalty import PointsEarned, PointsRedeemed
from wafa_shared.lifecycle import Runtime
from wafa_shared.outbox import publish
from wafa_shared.problems import ProblemError


def member_not_found(customer_id: uuid.UUID) -> ProblemError:
    return ProblemError(404, "not-found", f"Member {customer_id} does not exist")


def _view_windows(now: datetime, expiring_days: int) -> tuple[repo.Windows, datetime]:
    """Both kinds of qualifying window (the program decides which counts, once the row is
    read) and the horizon of "expiring soon"."""
    windows = {period: (start, max(end, now)) for period in ("calendar_year", "rolling_12m") for start, end in [window(period, now)]}
    return windows, now + timedelta(days=expiring_days)


async def member_view(session: AsyncSession, customer_id: uuid.UUID, now: datetime, expiring_days: int, cache: dict[uuid.UUID, Any] | None = None) -> MemberOut:
    """The member as `GET /v1/members/{id}` shows it, read in the session's transaction (after
    a write it just made)."""
    await session.flush()
    windows, horizon = _view_windows(now, expiring_days)
    member = await repo.member_view_row(session, customer_id, windows, horizon)
    if member is None:
        raise member_not_found(customer_id)
    program, tiers = await Context(cache).program(session, member.program_id)
    return _member_out(customer_id, member, program, tiers, now, horizon)


async def look_up(runtime: Runtime, customer_id: uuid.UUID, cache: dict[uuid.UUID, Any]) -> MemberOut:
    """`member_view` for a read alone: one statement on a pooled connection outside any
    transaction (no BEGIN/COMMIT round trips; one statement is one snapshot). The session
    reaches the pool only when the program is not cached."""
    now = runtime.clock.now()
    windows, horizon = _view_windows(now, runtime.settings.expiring_soon_days)
    async with driver_connection(runtime.engine) as conn:
        member = await repo.member_view_row(conn, customer_id, windows, horizon)
    if member is None:
        raise member_not_found(customer_id)
    async with runtime.sessions() as session:
        program, tiers = await Context(cache).program(session, member.program_id)
    return _member_out(customer_id, member, program, tiers, now, horizon)


def _member_out(customer_id: uuid.UUID, member: repo.MemberView, program: Program, tiers: list[TierDef], now: datetime, horizon: datetime) -> MemberOut:
    start, end = window(program.qualification_period, now)
    credit = Decimal(member.credit_calendar if program.qualification_period == "calendar_year" else member.credit_rolling)
    expiring = Decimal(member.expiring)
    inactive_by = add_months(member.last_activity_at, program.expiry_months) if program.expiry_months and member.last_activity_at else None
    if program.expiry_mode == "inactivity" and inactive_by is not None and inactive_by <= horizon:
        expiring = max(member.available, Decimal(0))
    nxt = next_tier(member.tier_rank, tiers)
    next_out = None
    if nxt is not None:
        deadline = end if program.qualification_period == "calendar_year" else now + timedelta(days=365)
        needed = max(nxt.threshold - credit, Decimal(0))
        next_out = NextTierOut(
            name=nxt.name,
            needed=needed,
            by=deadline,
            message=progress_message(program.qualification_basis, needed, program.currency, program.points_name, deadline, nxt.name),
        )
    return MemberOut(
        customer_id=customer_id,
        program_id=program.id,
        points_name=program.points_name,
        currency=program.currency,
        available=member.available,
        pending=member.pending,
        tier=member.tier,
        tier_since=member.tier_since,
        tier_review_at=member.tier_review_at,
        subscription_tier=member.subscription_tier,
        subscription_ends_at=member.subscription_ends_at,
        qualifying=QualifyingOut(basis=program.qualification_basis, credit=credit, window_start=start, window_end=end),
        next_tier=next_out,
        expiring_soon=ExpiringOut(points=expiring, before=horizon),
    )


def ledger_query(customer_id: uuid.UUID):  # type: ignore[no-untyped-def]
    return select(LedgerEntry).where(LedgerEntry.customer_id == customer_id)


async def adjust(session: AsyncSession, customer_id: uuid.UUID, body: AdjustmentIn, actor: str, now: datetime) -> LedgerEntryOut:
    """A manual adjustment with its reason: credits are available at once; debits never overdraw."""
    if body.points == 0:
        raise ProblemError(422, "validation-error", "points must not be zero", errors=[{"field": "points", "in": "body", "message": "must not be zero"}])
    member = await ledger.lock_member(session, customer_id)
    if member is None:
        raise member_not_found(customer_id)
    program = await session.get(Program, member.program_id)
    assert program is not None
    reason = f"{body.reason} (by {actor})"
    if body.points > 0:
        ledger.earn(session, member, program, body.points, rule="manual_adjustment", earned_at=now, now=now, pending_days=0, reason=reason)
        await publish(session, PointsEarned(customer_id=customer_id, points=body.points, rule="manual_adjustment", occurred_at=now), subject=customer_id)
    else:
        await ledger.spend(session, member, -body.points, now, kind="adjust", rule="manual_adjustment", reason=reason)
        await publish(session, PointsRedeemed(customer_id=customer_id, points=-body.points, occurred_at=now), subject=customer_id)
    await session.flush()
    entry = (await session.scalars(ledger_query(customer_id).order_by(LedgerEntry.id.desc()).limit(1))).one()
    return LedgerEntryOut.model_validate(entry)


async def erase(session: AsyncSession, customer_id: uuid.UUID) -> None:
    """GDPR erasure: loyalty holds no contact details, only the birth date; drop it. Balances and
    the ledger stay (they are the business's financial record), keyed by the opaque id."""
    await session.execute(update(Member).where(Member.customer_id == customer_id).values(birth_date=None, erased=True))


async def subscribe(session: AsyncSession, customer_id: uuid.UUID, body: SubscriptionIn, now: datetime, expiring_days: int) -> MemberOut:
    """Start or renew a paid-membership subscription."""
    member = await ledger.lock_member(session, customer_id)
    if member is None or member.erased:
        raise member_not_found(customer_id)
    await tiering.subscribe(session, member, await tier_defs(session, member.program_id), body.tier, body.ends_at, now)
    await session.flush()
    return await member_view(session, customer_id, now, expiring_days)
