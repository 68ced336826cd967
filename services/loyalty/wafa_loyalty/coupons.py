"""Coupon codes: issued by rewards (generated or drawn from a partner's imported pool), or
generated in bulk as bonus-points codes; redeemed once by a partner POS.

Redemption is one conditional `UPDATE ... WHERE state = 'issued' AND <valid now>`: under
concurrent requests for one code, exactly one finds the row still issued; the others wait
for its row lock, then see it redeemed and get 409. Failed attempts count against the
caller (`FailureLimiter`) so codes cannot be guessed by brute force.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict, deque
from datetime import datetime
from typing import Any

from sqlalchemy import insert as sa_insert
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wafa_loyalty import points_ledger as ledger
from wafa_loyalty.domain.coupon_codes import new_code, normalise
from wafa_loyalty.models import Coupon, CouponBatch, CouponEvent, Program, Reward
from wafa_loyalty.schemas import CouponBatchIn, CouponBatchOut, CouponDetailOut, CouponHistoryOut, CouponOut, CouponRedeemIn, PoolImportIn
from wafa_shared.events.loyalty import CouponRedeemed, PointsEarned
from wafa_shared.outbox import publish
from wafa_shared.problems import ProblemError

GENERATION_CHUNK = 1000


class FailureLimiter:
    """Failed redemptions per caller in a sliding window (in-process; one per replica)."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit, self.window_s = limit, window_s
        self.failures: dict[str, deque[float]] = defaultdict(deque)

    def check(self, caller: str) -> None:
        q = self.failures[caller]
        cutoff = time.monotonic() - self.window_s
        while q and q[0] < cutoff:
            q.popleft()
        if len(q) >= self.limit:
            retry = int(q[0] + self.window_s - time.monotonic()) + 1
            raise ProblemError(
                429, "too-many-failed-redemptions", f"Too many failed coupon redemptions; retry in {retry} s.", headers={"Retry-After": str(retry)}
            )

    def failed(self, caller: str) -> None:
        self.failures[caller].append(time.monotonic())


def _event(session: AsyncSession, code: str, state: str, actor: str | None, at: datetime) -> None:
    session.add(CouponEvent(code=code, state=state, actor=actor, at=at))


async def issue_for_redemption(
    session: AsyncSession, reward: Reward, customer_id: uuid.UUID, redemption_id: uuid.UUID, now: datetime, valid_until: datetime
) -> str:
    """A code for a reward redemption: a fresh one, or the oldest valid code of the pool."""
    if reward.coupon_source == "generated":
        code = new_code()
        session.add(
            Coupon(
                code=code, reward_id=reward.id, state="issued", customer_id=customer_id, redemption_id=redemption_id, valid_from=now, valid_until=valid_until
            )
        )
    else:
        stmt = (
            select(Coupon)
            .where(Coupon.reward_id == reward.id, Coupon.state == "available", (Coupon.valid_until.is_(None)) | (Coupon.valid_until > now))
            .order_by(Coupon.created_at, Coupon.code)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        coupon = (await session.scalars(stmt)).first()
        if coupon is None:
            raise ProblemError(409, "coupon-pool-empty", "The reward's pool of partner codes is used up.")
        coupon.state, coupon.customer_id, coupon.redemption_id = "issued", customer_id, redemption_id
        code = coupon.code
    _event(session, code, "issued", str(customer_id), now)
    return code


async def import_pool(session: AsyncSession, reward_id: uuid.UUID, body: PoolImportIn, actor: str, now: datetime) -> int:
    """Import a partner's codes for a reward. Duplicates (within the file or with codes already
    known) reject the whole import with 422 `duplicate-coupon-codes`, listing them."""
    reward = await session.get(Reward, reward_id)
    if reward is None:
        raise ProblemError(404, "not-found", f"Reward {reward_id} does not exist")
    codes = [normalise(c) for c in body.codes]
    if any(not c for c in codes):
        raise ProblemError(422, "validation-error", "codes must not be empty", errors=[{"field": "codes", "in": "body", "message": "empty code"}])
    seen: set[str] = set()
    dupes = sorted({c for c in codes if c in seen or seen.add(c)})  # type: ignore[func-returns-value]
    if not dupes:
        existing = (await session.scalars(select(Coupon.code).where(Coupon.code.in_(codes)))).all()
        dupes = sorted(existing)
    if dupes:
        raise ProblemError(422, "duplicate-coupon-codes", f"{len(dupes)} codes are duplicated; nothing was imported.", duplicates=dupes[:100])
    rows = [{"code": c, "reward_id": reward_id, "state": "available", "valid_from": body.valid_from, "valid_until": body.valid_until} for c in codes]
    inserted = (await session.execute(insert(Coupon).values(rows).on_conflict_do_nothing().returning(Coupon.code))).scalars().all()
    if len(inserted) != len(codes):
        raise ProblemError(422, "duplicate-coupon-codes", "Some codes were imported concurrently; nothing was imported.")
    await session.execute(sa_insert(CouponEvent), [{"code": c, "state": "available", "actor": actor, "at": now} for c in codes])
    return len(codes)


async def redeem_code(session: AsyncSession, raw_code: str, body: CouponRedeemIn, actor: str, now: datetime, limiter: FailureLimiter) -> CouponOut:
    limiter.check(actor)
    try:
        return await _redeem(session, normalise(raw_code), body, actor, now)
    except ProblemError as err:
        if err.status in (404, 409, 422):
            limiter.failed(actor)
        raise


async def _redeem(session: AsyncSession, code: str, body: CouponRedeemIn, actor: str, now: datetime) -> CouponOut:
    head = await session.get(Coupon, code)
    if head is None:
        raise ProblemError(404, "coupon-not-found", "No such coupon code.")
    member = None
    if head.points is not None:
        customer_id = body.customer_id or head.customer_id
        if customer_id is None or (head.customer_id is not None and customer_id != head.customer_id):
            raise ProblemError(
                422,
                "coupon-customer-required",
                "This code credits points: give the member's customer_id.",
                errors=[{"field": "customer_id", "in": "body", "message": "required"}],
            )
        member = await ledger.lock_member(session, customer_id)
        if member is None or member.erased:
            raise ProblemError(422, "unknown-customer", f"Customer {customer_id} is not a loyalty member.")
    valid_now = ((Coupon.valid_from.is_(None)) | (Coupon.valid_from <= now)) & ((Coupon.valid_until.is_(None)) | (Coupon.valid_until > now))
    stmt = (
        update(Coupon)
        .where(Coupon.code == code, Coupon.state == "issued", valid_now)
        .values(state="redeemed", redeemed_at=now, redeemed_by=actor, customer_id=member.customer_id if member else Coupon.customer_id)
        .returning(Coupon)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    coupon = (await session.execute(stmt)).scalars().first()
    if coupon is None:
        current = (await session.scalars(select(Coupon).where(Coupon.code == code).execution_options(populate_existing=True))).one()
        raise _why_not(current, now)
    _event(session, code, "redeemed", actor, now)
    if member is not None and coupon.points is not None:
        program = await session.get(Program, member.program_id)
        assert program is not None
        ledger.earn(session, member, program, coupon.points, rule="coupon", earned_at=now, now=now, pending_days=0, reason=f"coupon {code[:4]}…")
        await publish(session, PointsEarned(customer_id=member.customer_id, points=coupon.points, rule="coupon", occurred_at=now), subject=member.customer_id)
    await publish(
        session,
        CouponRedeemed(
            code_hint=code[:4], customer_id=coupon.customer_id, reward_id=coupon.reward_id, points=coupon.points, redeemed_by=actor, occurred_at=now
        ),
        subject=coupon.customer_id,
    )
    return CouponOut.model_validate(coupon)


def _why_not(coupon: Coupon, now: datetime) -> ProblemError:
    if coupon.state == "redeemed":
        return ProblemError(
            409, "coupon-already-redeemed", "This code was already redeemed.", redeemed_at=coupon.redeemed_at.isoformat() if coupon.redeemed_at else None
        )
    if coupon.state == "voided":
        return ProblemError(409, "coupon-voided", "This code was voided.")
    if coupon.state == "available":
        return ProblemError(409, "coupon-not-issued", "This code has not been issued to a customer yet.")
    if coupon.state == "expired" or (coupon.valid_until is not None and coupon.valid_until <= now):
        return ProblemError(422, "coupon-expired", "This code has expired.")
    return ProblemError(422, "coupon-not-yet-valid", "This code is not valid yet.")


async def void(session: AsyncSession, raw_code: str, actor: str, now: datetime) -> CouponOut:
    code = normalise(raw_code)
    coupon = (await session.scalars(select(Coupon).where(Coupon.code == code).with_for_update())).first()
    if coupon is None:
        raise ProblemError(404, "coupon-not-found", "No such coupon code.")
    if coupon.state not in ("issued", "available"):
        raise ProblemError(409, f"coupon-{coupon.state}", f"A {coupon.state} code cannot be voided.")
    coupon.state = "voided"
    _event(session, code, "voided", actor, now)
    return CouponOut.model_validate(coupon)


async def detail(session: AsyncSession, raw_code: str) -> CouponDetailOut:
    code = normalise(raw_code)
    coupon = await session.get(Coupon, code)
    if coupon is None:
        raise ProblemError(404, "coupon-not-found", "No such coupon code.")
    history = (await session.scalars(select(CouponEvent).where(CouponEvent.code == code).order_by(CouponEvent.id))).all()
    base = CouponOut.model_validate(coupon).model_dump()
    return CouponDetailOut(**base, history=[CouponHistoryOut(state=h.state, actor=h.actor, at=h.at) for h in history])


async def create_batch(session: AsyncSession, body: CouponBatchIn) -> CouponBatch:
    if (body.reward_id is None) == (body.points is None):
        raise ProblemError(
            422,
            "validation-error",
            "Give exactly one of reward_id or points.",
            errors=[{"field": "points", "in": "body", "message": "exactly one of reward_id, points"}],
        )
    if body.reward_id is not None and await session.get(Reward, body.reward_id) is None:
        raise ProblemError(404, "not-found", f"Reward {body.reward_id} does not exist")
    batch = CouponBatch(
        id=uuid.uuid4(),
        reward_id=body.reward_id,
        points=body.points,
        requested=body.count,
        generated=0,
        status="running",
        valid_from=body.valid_from,
        valid_until=body.valid_until,
    )
    session.add(batch)
    await session.flush()
    return batch


async def generate_batch(sessions: async_sessionmaker[AsyncSession], batch_id: uuid.UUID, now: datetime) -> None:
    """Generate a batch's codes in chunks, committing progress after each (runs in the background;
    resumable: it continues from `generated`)."""
    while True:
        async with sessions() as session:
            batch = (await session.scalars(select(CouponBatch).where(CouponBatch.id == batch_id).with_for_update())).one()
            todo = min(GENERATION_CHUNK, batch.requested - batch.generated)
            if todo <= 0:
                batch.status = "done"
                await session.commit()
                return
            state = "issued" if batch.points is not None else "available"
            rows: list[dict[str, Any]] = [
                {
                    "code": new_code(),
                    "reward_id": batch.reward_id,
                    "batch_id": batch.id,
                    "points": batch.points,
                    "state": state,
                    "valid_from": batch.valid_from,
                    "valid_until": batch.valid_until,
                }
                for _ in range(todo)
            ]
            made = (await session.execute(insert(Coupon).values(rows).on_conflict_do_nothing().returning(Coupon.code))).scalars().all()
            await session.execute(sa_insert(CouponEvent), [{"code": c, "state": state, "actor": f"batch {batch.id}", "at": now} for c in made])
            batch.generated += len(made)
            await session.commit()


def batch_out(batch: CouponBatch) -> CouponBatchOut:
    out = CouponBatchOut.model_validate(batch)
    out.progress = round(batch.generated / batch.requested, 4) if batch.requested else 1.0
    return out


async def batch_codes(session: AsyncSession, batch_id: uuid.UUID, limit: int, after: str | None) -> list[str]:
    stmt = select(Coupon.code).where(Coupon.batch_id == batch_id).order_by(Coupon.code).limit(limit)
    if after:
        stmt = stmt.where(Coupon.code > after)
    return list((await session.scalars(stmt)).all())


async def expire_codes(session: AsyncSession, now: datetime, limit: int = 5000) -> int:
    """Codes past their validity window become `expired` (with a history entry); returns how many."""
    expired = (
        (
            await session.execute(
                update(Coupon)
                .where(Coupon.code.in_(select(Coupon.code).where(Coupon.state.in_(["issued", "available"]), Coupon.valid_until <= now).limit(limit)))
                .values(state="expired")
                .returning(Coupon.code)
            )
        )
        .scalars()
        .all()
    )
    if expired:
        await session.execute(sa_insert(CouponEvent), [{"code": c, "state": "expired", "actor": "expiry", "at": now} for c in expired])
    return len(expired)
