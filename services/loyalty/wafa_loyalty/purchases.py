"""Recording purchases (earning) and refunds (proportional reversal).

A purchase is idempotent on the partner's `order_id`: the same order again returns the first
result and changes nothing; the same order id with different content is a 409. Everything a
purchase does (points, qualifying credit, tier, referral bonus, events) happens in the
caller's transaction, under the member's row lock.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_loyalty import points_ledger as ledger
from wafa_loyalty import referrals
from wafa_loyalty.domain.earning import Earning, Line, compute_earning, proportional
from wafa_loyalty.domain.tiers import TierDef
from wafa_loyalty.models import Member, Program, Purchase, QualifyingCredit, Refund
from wafa_loyalty.programs import tier_defs
from wafa_loyalty.schemas import PurchaseIn, PurchaseOut, RefundIn, RefundOut
from wafa_loyalty.tiering import upgrade_if_qualified, upgrade_many
from wafa_shared.events import Event, EventData, new_event
from wafa_shared.events.loyalty import LineSummary, PointsEarned, PurchaseRecorded, PurchaseRefunded
from wafa_shared.money import quantize
from wafa_shared.outbox import SOURCE_INFO, add_events, publish
from wafa_shared.problems import ProblemError

PROGRAM_TTL_S = 5.0  # how stale a cached program may be (programs change rarely)


def _fingerprint(body: PurchaseIn) -> str:
    return hashlib.sha256(orjson.dumps(body.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)).hexdigest()


def purchase_out(p: Purchase, pending_days: int = 0) -> PurchaseOut:
    return PurchaseOut(
        id=p.id,
        order_id=p.order_id,
        customer_id=p.customer_id,
        amount=p.amount,
        refunded_amount=p.refunded_amount,
        currency=p.currency,
        occurred_at=p.occurred_at,
        points=p.points,
        qualifying=p.qualifying,
        first_purchase=p.first_purchase,
        pending_until=p.occurred_at + timedelta(days=pending_days) if pending_days else None,
    )


class Context:
    """What one request or batch shares: programs and tiers (read once; `cache` may carry them
    across requests for `PROGRAM_TTL_S`), and the events it publishes, written to the outbox
    in one multi-row insert, in order."""

    def __init__(self, cache: dict[uuid.UUID, tuple[float, Program, list[TierDef]]] | None = None) -> None:
        self.cache = cache if cache is not None else {}
        self.events: list[Event] = []

    async def program(self, session: AsyncSession, program_id: uuid.UUID) -> tuple[Program, list[TierDef]]:
        hit = self.cache.get(program_id)
        if hit is None or time.monotonic() - hit[0] > PROGRAM_TTL_S:
            program = await session.get(Program, program_id)
            assert program is not None
            session.expunge(program)
            hit = self.cache[program_id] = (time.monotonic(), program, await tier_defs(session, program_id))
        return hit[1], hit[2]

    def publish(self, session: AsyncSession, data: EventData, subject: uuid.UUID) -> None:
        self.events.append(new_event(data, source=str(session.info.get(SOURCE_INFO, "loyalty")), subject=subject))

    async def flush_events(self, session: AsyncSession) -> None:
        await add_events(session, self.events)
        self.events = []


@dataclass
class BatchState:
    members: dict[uuid.UUID, Member]
    existing: dict[str, Purchase]
    first_purchases: list[tuple[uuid.UUID, uuid.UUID, datetime, Program]] = field(default_factory=list)


def _unknown_customer(customer_id: uuid.UUID) -> ProblemError:
    return ProblemError(
        422,
        "unknown-customer",
        f"Customer {customer_id} is not a loyalty member (not registered, or no program exists yet).",
        errors=[{"field": "customer_id", "in": "body", "message": "unknown customer"}],
    )


async def record_purchase(
    session: AsyncSession, body: PurchaseIn, now: datetime, ctx: Context | None = None, *, batch: BatchState | None = None
) -> tuple[bool, PurchaseOut]:
    """Record a purchase and earn its points. Returns (created, purchase); created is False when
    the order was already recorded with the same content. Raises 422 for an unknown customer
    or a currency that is not the program's, 409 for an order id reused with other content;
    errors are raised before anything is written. With `batch` (members already locked, known
    orders prefetched) rows are only added to the session, and referral bonuses, the tier
    upgrade and the event write are left to `record_batch`."""
    single = batch is None
    ctx = ctx or Context()
    member = await ledger.lock_member(session, body.customer_id) if batch is None else batch.members.get(body.customer_id)
    if member is None or member.erased:
        raise _unknown_customer(body.customer_id)
    program, tiers = await ctx.program(session, member.program_id)
    if body.currency != program.currency:
        raise ProblemError(
            422,
            "currency-mismatch",
            f"The program earns in {program.currency}; the purchase is in {body.currency}.",
            errors=[{"field": "currency", "in": "body", "message": f"must be {program.currency}"}],
        )
    fp = _fingerprint(body)
    lines = [Line(item.sku, item.category, item.quantity, item.unit_price) for item in body.lines]
    amount = quantize(sum((line.amount for line in lines), Decimal(0)), program.currency)
    purchase_id = uuid.uuid4()
    first = member.purchases == 0
    tier_multiplier = next((t.earn_multiplier for t in tiers if t.rank == member.tier_rank), Decimal(1))
    earning = compute_earning(
        lines=lines,
        earn_rate=program.earn_rate,
        rounding=program.rounding,
        rules=program.rules,
        tier_multiplier=tier_multiplier,
        birth_date=member.birth_date,
        occurred_at=body.occurred_at,
        first_purchase=first,
    )
    caps = program.rules.get("caps") or {}
    if caps:
        base = await ledger.capped(session, member.customer_id, "base_spend", earning.base, body.occurred_at, caps)
        bonus = await ledger.capped(session, member.customer_id, "first_purchase", earning.first_purchase_bonus, body.occurred_at, caps)
        earning = Earning(base=base, first_purchase_bonus=bonus, detail={**earning.detail, "capped": str(base + bonus < earning.total)})
    qualifying = {"points": earning.total, "spend": amount, "count": Decimal(1)}[program.qualification_basis]
    values = {
        "id": purchase_id,
        "order_id": body.order_id,
        "customer_id": body.customer_id,
        "amount": amount,
        "refunded_amount": Decimal(0),
        "currency": body.currency,
        "occurred_at": body.occurred_at,
        "channel": body.channel,
        "store": body.store,
        "lines": [line.model_dump(mode="json") for line in body.lines],
        "points": earning.total,
        "qualifying": qualifying,
        "first_purchase": first,
        "fingerprint": fp,
    }
    existing: Purchase | None = None
    if batch is not None:
        existing = batch.existing.get(body.order_id)
        if existing is None:
            batch.existing[body.order_id] = Purchase(**values)
            session.add(batch.existing[body.order_id])
    else:
        inserted = (
            await session.execute(insert(Purchase).values(**values).on_conflict_do_nothing(index_elements=["order_id"]).returning(Purchase.id))
        ).scalar_one_or_none()
        if inserted is None:
            existing = (await session.scalars(select(Purchase).where(Purchase.order_id == body.order_id))).one()
    if existing is not None:
        if existing.fingerprint != fp:
            raise ProblemError(409, "order-id-conflict", f"Order {body.order_id} was already recorded with different content.", purchase_id=str(existing.id))
        return False, purchase_out(existing, program.pending_days)

    member.purchases += 1
    member.last_activity_at = max(member.last_activity_at or body.occurred_at, body.occurred_at)
    session.add(QualifyingCredit(customer_id=member.customer_id, purchase_id=purchase_id, amount=qualifying, credited_at=body.occurred_at))
    at = body.occurred_at
    pending = ledger.earn(session, member, program, earning.base, rule="base_spend", earned_at=at, now=now, purchase_id=purchase_id, detail=earning.detail)
    ledger.earn(session, member, program, earning.first_purchase_bonus, rule="first_purchase", earned_at=at, now=now, purchase_id=purchase_id)
    if first and batch is not None:
        batch.first_purchases.append((member.customer_id, purchase_id, at, program))
    elif first:
        await referrals.attach_purchase(session, member.customer_id, purchase_id, at, program, now)

    summary = [LineSummary(sku=li.sku, category=li.category, quantity=li.quantity, amount=li.amount) for li in lines]
    ctx.publish(
        session,
        PurchaseRecorded(
            purchase_id=purchase_id,
            customer_id=member.customer_id,
            order_id=body.order_id,
            amount=amount,
            currency=body.currency,
            occurred_at=at,
            channel=body.channel,
            store=body.store,
            first_purchase=first,
            lines=summary,
        ),
        member.customer_id,
    )
    is_pending = pending is not None and pending.state == "pending"
    for rule, pts in (("base_spend", earning.base), ("first_purchase", earning.first_purchase_bonus)):
        if pts > 0:
            ctx.publish(
                session,
                PointsEarned(customer_id=member.customer_id, points=pts, rule=rule, purchase_id=purchase_id, pending=is_pending, occurred_at=at),
                member.customer_id,
            )
    if single:
        await ctx.flush_events(session)
        await upgrade_if_qualified(session, member, program, tiers, now)
    p = Purchase(
        id=purchase_id,
        order_id=body.order_id,
        customer_id=body.customer_id,
        amount=amount,
        refunded_amount=Decimal(0),
        currency=body.currency,
        occurred_at=at,
        points=earning.total,
        qualifying=qualifying,
        first_purchase=first,
    )
    return True, purchase_out(p, program.pending_days)


async def refund(session: AsyncSession, purchase_id: uuid.UUID, body: RefundIn, now: datetime) -> RefundOut:
    """Refund part or all of a purchase: points and qualifying credit fall in proportion to the
    refunded amount (points even if already spent, per the program's negative-balance policy);
    a referral bonus waiting on this purchase is revoked. 422 beyond the refundable amount."""
    head = await session.get(Purchase, purchase_id)
    if head is None:
        raise ProblemError(404, "not-found", f"Purchase {purchase_id} does not exist")
    member = await ledger.lock_member(session, head.customer_id)
    assert member is not None
    purchase = (await session.scalars(select(Purchase).where(Purchase.id == purchase_id).with_for_update().execution_options(populate_existing=True))).one()
    program = await session.get(Program, member.program_id)
    assert program is not None
    amount = quantize(body.amount, purchase.currency)
    refundable = purchase.amount - purchase.refunded_amount
    if amount <= 0 or amount > refundable:
        raise ProblemError(
            422,
            "refund-exceeds-purchase",
            f"At most {refundable} {purchase.currency} of this purchase can still be refunded.",
            errors=[{"field": "amount", "in": "body", "message": f"must be > 0 and <= {refundable}"}],
        )
    at = body.occurred_at or now
    # Reverse the share of the whole purchase's points, minus what earlier refunds reversed,
    # so several partial refunds add up to exactly the points of a full refund.
    after = purchase.refunded_amount + amount
    points_total = proportional(purchase.points, after, purchase.amount)
    points_before = proportional(purchase.points, purchase.refunded_amount, purchase.amount)
    points = points_total - points_before
    qual_total = purchase.qualifying * after / purchase.amount
    qual_before = purchase.qualifying * purchase.refunded_amount / purchase.amount
    qualifying = qual_total - qual_before
    purchase.refunded_amount = after
    refund_id = uuid.uuid4()
    reversed_points = await ledger.reverse(session, member, points, at, purchase_id=purchase_id, policy=program.negative_balance, reason=body.reason)
    if qualifying:
        session.add(QualifyingCredit(customer_id=member.customer_id, purchase_id=purchase_id, amount=-qualifying, credited_at=purchase.occurred_at))
    session.add(
        Refund(
            id=refund_id,
            purchase_id=purchase_id,
            amount=amount,
            points_reversed=reversed_points,
            qualifying_reversed=qualifying,
            reason=body.reason,
            occurred_at=at,
        )
    )
    await referrals.revoke_for_purchase(session, purchase_id, at, "qualifying purchase refunded")
    await publish(
        session,
        PurchaseRefunded(
            purchase_id=purchase_id, customer_id=member.customer_id, refund_id=refund_id, amount=amount, currency=purchase.currency, occurred_at=at
        ),
        subject=member.customer_id,
    )
    return RefundOut(id=refund_id, purchase_id=purchase_id, amount=amount, points_reversed=reversed_points, qualifying_reversed=qualifying, occurred_at=at)


async def get_purchase(session: AsyncSession, purchase_id: uuid.UUID) -> PurchaseOut:
    p = await session.get(Purchase, purchase_id)
    if p is None:
        raise ProblemError(404, "not-found", f"Purchase {purchase_id} does not exist")
    member = await session.get(Member, p.customer_id)
    program = await session.get(Program, member.program_id) if member else None
    return purchase_out(p, program.pending_days if program else 0)


async def record_batch(
    session: AsyncSession, items: list[PurchaseIn], now: datetime, cache: dict[uuid.UUID, Any] | None = None
) -> list[tuple[int, PurchaseOut | None, dict[str, Any] | None]]:
    """Record many purchases in one transaction, set-based where it matters: the members are
    locked in one statement, in id order (concurrent batches cannot deadlock); known orders are
    read in one query; purchases, ledger entries, lots and credits are written in multi-row
    inserts; tiers are re-evaluated with one grouped query; events go to the outbox in one
    insert, in item order. A bad item gets its problem and writes nothing (every error is
    raised before an item writes). A concurrent batch recording the same new order id makes
    this one fail with 409 `concurrent-order` (retry it: the repeat is idempotent)."""
    ctx = Context(cache)
    ids = sorted({item.customer_id for item in items})
    locked = (await session.scalars(select(Member).where(Member.customer_id.in_(ids)).order_by(Member.customer_id).with_for_update())).all()
    known = (await session.scalars(select(Purchase).where(Purchase.order_id.in_({item.order_id for item in items})))).all()
    batch = BatchState({m.customer_id: m for m in locked}, {p.order_id: p for p in known})
    results: list[tuple[int, PurchaseOut | None, dict[str, Any] | None]] = []
    touched: dict[uuid.UUID, Member] = {}
    for item in items:
        try:
            created, out = await record_purchase(session, item, now, ctx, batch=batch)
            if created:
                touched[item.customer_id] = batch.members[item.customer_id]
            results.append((201 if created else 200, out, None))
        except ProblemError as err:
            results.append((err.status, None, err.to_dict()))
    try:
        await session.flush()
    except IntegrityError:
        raise ProblemError(409, "concurrent-order", "Another request recorded one of these orders at the same time; retry the batch.") from None
    await ctx.flush_events(session)
    referees = await referrals.awaiting(session, [c for c, _, _, _ in batch.first_purchases])
    for customer_id, purchase_id, at, program in batch.first_purchases:
        if customer_id in referees:
            await referrals.attach_purchase(session, customer_id, purchase_id, at, program, now)
    await upgrade_many(session, [(m, *(await ctx.program(session, m.program_id))) for m in touched.values()], now)
    return results
