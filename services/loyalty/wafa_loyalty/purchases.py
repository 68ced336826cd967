"""Recording purchases (earning) and refunds (proportional reversal).

A purchase is idempotent on the partner's `order_id`: the same order again returns the first
result and changes nothing; the same order id with different content is a 409. Everything a
purchase does (points, qualifying credit, tier, referral bonus, events) happens in the
caller's transaction, under the member's row lock.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_loyalty import points_ledger as ledger
from wafa_loyalty import referrals
from wafa_loyalty import repository as repo
from wafa_loyalty.domain.earning import Earning, Line, compute_earning, proportional
from wafa_loyalty.domain.tiers import TierDef, add_months, next_tier, review_at, tier_for, window
from wafa_loyalty.models import Member, Program, Purchase, QualifyingCredit, Refund
from wafa_loyalty.programs import tier_defs
from wafa_loyalty.schemas import PurchaseIn, PurchaseOut, RefundIn, RefundOut
from wafa_shared import collector
from wafa_shared.db import driver
from wafa_shared.events import EventData
from wafa_shared.events.envelope import envelope_fields
from wafa_shared.events.loyalty import LineSummary, PointsEarned, PurchaseRecorded, PurchaseRefunded, TierChanged
from wafa_shared.ids import new_id
from wafa_shared.money import quantize
from wafa_shared.observability import carrying
from wafa_shared.outbox import SOURCE_INFO, add_envelopes, publish, trace_headers
from wafa_shared.problems import ProblemError

PROGRAM_TTL_S = 5.0  # how stale a cached program may be (programs change rarely)
ZERO = Decimal(0)


class PurchaseLike(Protocol):
    id: uuid.UUID
    order_id: str
    customer_id: uuid.UUID
    amount: Decimal
    refunded_amount: Decimal
    currency: str
    occurred_at: datetime
    points: Decimal
    qualifying: Decimal
    first_purchase: bool


def _fingerprint_and_lines(body: PurchaseIn) -> tuple[str, str]:
    """The content hash of a purchase (same order id, other content: 409) and its lines as JSON."""
    dumped = body.model_dump(mode="json")
    return hashlib.sha256(orjson.dumps(dumped, option=orjson.OPT_SORT_KEYS)).hexdigest(), orjson.dumps(dumped["lines"]).decode()


def purchase_out(p: PurchaseLike, pending_days: int = 0) -> PurchaseOut:
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
    across requests for `PROGRAM_TTL_S`), and the events it publishes (envelope fields, no
    `Event` built for each: this is the hot path), written to the outbox
    in one multi-row insert, in order. Each event keeps the trace headers current when it is
    published: `record_batch` sets each purchase's request around its planning (`carrying`),
    and `member_trace` keeps the last one per member for the tier change that follows, since
    one group commit writes the purchases of several requests."""

    def __init__(self, cache: dict[uuid.UUID, tuple[float, Program, list[TierDef]]] | None = None) -> None:
        self.cache = cache if cache is not None else {}
        self.events: list[dict[str, Any]] = []
        self.headers: list[str] = []
        self.member_trace: dict[uuid.UUID, str | None] = {}

    async def program(self, session: AsyncSession, program_id: uuid.UUID) -> tuple[Program, list[TierDef]]:
        hit = self.cache.get(program_id)
        if hit is None or time.monotonic() - hit[0] > PROGRAM_TTL_S:
            program = await session.get(Program, program_id)
            assert program is not None
            session.expunge(program)
            hit = self.cache[program_id] = (time.monotonic(), program, await tier_defs(session, program_id))
        return hit[1], hit[2]

    def publish(self, session: AsyncSession, data: EventData, subject: uuid.UUID) -> None:
        self.events.append(envelope_fields(data, source=str(session.info.get(SOURCE_INFO, "loyalty")), subject=subject))
        self.headers.append(trace_headers())

    def take_events(self) -> tuple[list[dict[str, Any]], list[str]]:
        events, headers = self.events, self.headers
        self.events, self.headers = [], []
        return events, headers

    async def flush_events(self, session: AsyncSession) -> None:
        await add_envelopes(session, *self.take_events())


def _unknown_customer(customer_id: uuid.UUID) -> ProblemError:
    return ProblemError(
        422,
        "unknown-customer",
        f"Customer {customer_id} is not a loyalty member (not registered, or no program exists yet).",
        errors=[{"field": "customer_id", "in": "body", "message": "unknown customer"}],
    )


def _currency_mismatch(program: Program, currency: str) -> ProblemError:
    return ProblemError(
        422,
        "currency-mismatch",
        f"The program earns in {program.currency}; the purchase is in {currency}.",
        errors=[{"field": "currency", "in": "body", "message": f"must be {program.currency}"}],
    )


def _replay(known: repo.KnownPurchase, fp: str, program: Program) -> PurchaseOut:
    if known.fingerprint != fp:
        raise ProblemError(409, "order-id-conflict", f"Order {known.order_id} was already recorded with different content.", purchase_id=str(known.id))
    return purchase_out(known, program.pending_days)


def _earn(
    w: repo.Writes,
    member: repo.MemberState,
    program: Program,
    points: Decimal,
    rule: str,
    at: datetime,
    now: datetime,
    purchase_id: uuid.UUID,
    detail: str | None,
) -> bool | None:
    """`points_ledger.earn` for the set-based writer: the ledger entry and lot are queued in
    `w`, the member's balances change in memory. Returns whether the lot is pending (None: no points)."""
    if points <= 0:
        return None
    matures_at = at + timedelta(days=program.pending_days)
    expires_at = add_months(at, program.expiry_months) if program.expiry_mode == "fixed" and program.expiry_months else None
    remaining = points
    if matures_at > now:
        member.pending += points
        repo.add_ledger(w, member.customer_id, "pending", ZERO, points, member.available, member.pending, rule, purchase_id, detail, at)
        repo.add_lot(w, member.customer_id, purchase_id, rule, points, remaining, "pending", at, matures_at, expires_at)
        return True
    if member.available < 0:  # a lot that becomes available first repays a negative balance
        remaining -= min(-member.available, remaining)
    member.available += points
    repo.add_ledger(w, member.customer_id, "earn", points, ZERO, member.available, member.pending, rule, purchase_id, detail, at)
    repo.add_lot(w, member.customer_id, purchase_id, rule, points, remaining, "available", at, matures_at, expires_at)
    return False


class _Caps:
    """Per-customer yearly caps for a batch: usage read once per (member, rule, year), then
    counted in memory as the batch earns."""

    def __init__(self, used: dict[tuple[uuid.UUID, str, datetime, datetime], Decimal]) -> None:
        self.used = used
        self.years: dict[tuple[uuid.UUID, str], list[tuple[datetime, datetime]]] = {}
        for cid, rule, start, end in used:
            self.years.setdefault((cid, rule), []).append((start, end))

    @staticmethod
    def key(customer_id: uuid.UUID, rule: str, at: datetime) -> tuple[uuid.UUID, str, datetime, datetime]:
        start = at.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        return customer_id, rule, start, start.replace(year=start.year + 1)

    def capped(self, customer_id: uuid.UUID, rule: str, points: Decimal, at: datetime, caps: dict[str, Any]) -> Decimal:
        """`points_ledger.capped`, counting what this batch earned before."""
        cap = caps.get(rule)
        if cap is None or points <= 0:
            return points
        return max(min(points, Decimal(str(cap)) - self.used[self.key(customer_id, rule, at)]), ZERO)

    def count(self, customer_id: uuid.UUID, rule: str, points: Decimal, at: datetime) -> None:
        if points > 0:
            for start, end in self.years.get((customer_id, rule), []):
                if start <= at < end:
                    self.used[(customer_id, rule, start, end)] += points


def _plan(
    session: AsyncSession,
    body: PurchaseIn,
    member: repo.MemberState,
    program: Program,
    tiers: list[TierDef],
    now: datetime,
    ctx: Context,
    w: repo.Writes,
    fp: str,
    lines_json: str,
    caps: _Caps | None,
) -> PurchaseOut:
    """Compute a new purchase's points and queue its rows (purchase, ledger entries, lots,
    credit) and events; the member's balances change in memory."""
    lines = [Line(item.sku, item.category, item.quantity, item.unit_price) for item in body.lines]
    amount = quantize(sum((line.amount for line in lines), Decimal(0)), program.currency)
    purchase_id = new_id()
    first = member.purchases == 0
    tier_multiplier = next((t.earn_multiplier for t in tiers if t.rank == member.tier_rank), Decimal(1))
    at = body.occurred_at
    earning = compute_earning(
        lines=lines,
        earn_rate=program.earn_rate,
        rounding=program.rounding,
        rules=program.rules,
        tier_multiplier=tier_multiplier,
        birth_date=member.birth_date,
        occurred_at=at,
        first_purchase=first,
    )
    rule_caps = program.rules.get("caps") or {}
    if rule_caps:
        assert caps is not None  # read by record_batch for every program with caps
        base = caps.capped(member.customer_id, "base_spend", earning.base, at, rule_caps)
        caps.count(member.customer_id, "base_spend", base, at)
        bonus = caps.capped(member.customer_id, "first_purchase", earning.first_purchase_bonus, at, rule_caps)
        caps.count(member.customer_id, "first_purchase", bonus, at)
        earning = Earning(base=base, first_purchase_bonus=bonus, detail={**earning.detail, "capped": str(base + bonus < earning.total)})
    qualifying = {"points": earning.total, "spend": amount, "count": Decimal(1)}[program.qualification_basis]
    repo.add_purchase(
        w,
        purchase_id,
        body.order_id,
        body.customer_id,
        amount,
        body.currency,
        at,
        body.channel,
        body.store,
        lines_json,
        earning.total,
        qualifying,
        first,
        fp,
    )
    member.purchases += 1
    member.last_activity_at = max(member.last_activity_at or at, at)
    repo.add_credit(w, member.customer_id, purchase_id, qualifying, at)
    pending = _earn(w, member, program, earning.base, "base_spend", at, now, purchase_id, orjson.dumps(earning.detail).decode())
    _earn(w, member, program, earning.first_purchase_bonus, "first_purchase", at, now, purchase_id, None)
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
    for rule, pts in (("base_spend", earning.base), ("first_purchase", earning.first_purchase_bonus)):
        if pts > 0:
            ctx.publish(
                session,
                PointsEarned(customer_id=member.customer_id, points=pts, rule=rule, purchase_id=purchase_id, pending=bool(pending), occurred_at=at),
                member.customer_id,
            )
    return PurchaseOut(
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
        pending_until=at + timedelta(days=program.pending_days) if program.pending_days else None,
    )


def _window(program: Program, now: datetime) -> tuple[datetime, datetime]:
    start, end = window(program.qualification_period, now)
    return start, max(end, now)


PART = 250
"""Purchases per write statement: a batch plans its next part while PostgreSQL writes the one
before (the two processes work at once, on the two cores)."""


@dataclass
class _Write:
    """A part's write statement, in flight, and what its tier upgrades need afterwards."""

    task: asyncio.Task[tuple[int, list[Decimal]]]
    rows: repo.Writes
    checks: list[tuple[repo.MemberState, Program, list[TierDef], datetime, datetime]]


async def _start_write(
    session: AsyncSession,
    w: repo.Writes,
    touched: list[tuple[repo.MemberState, Program, list[TierDef]]],
    planned: tuple[list[dict[str, Any]], list[str]],
    now: datetime,
) -> _Write:
    """Start one statement for every row of a part and its events, as a task (the parameters
    taken now, balances as they stand); `_finish_write` waits for it."""
    checks = [(m, p, t, *_window(p, now)) for m, p, t in touched if next_tier(m.tier_rank, t) is not None]
    events, headers = planned
    windows = [(m.customer_id, s, e) for m, _, _, s, e in checks]
    params = repo.write_params(session, w, [m for m, _, _ in touched], windows, events, headers)
    conn = await driver(session)
    return _Write(asyncio.ensure_future(repo.write_purchases(session, conn, params)), w, checks)


async def _finish_write(session: AsyncSession, ctx: Context, write: _Write, now: datetime) -> None:
    """Wait for a part's write, then apply its tier upgrades (as `tiering.upgrade_if_qualified`:
    at once when the window's credit reaches a higher tier). A part whose purchases were not
    all inserted (another request recorded one of its orders at the same time) fails the
    batch with 409, and its transaction rolls back."""
    inserted, before = await write.task
    if inserted != write.rows.count:
        raise ProblemError(409, "concurrent-order", "Another request recorded one of these orders at the same time; retry the batch.")
    new_credit: dict[uuid.UUID, list[tuple[datetime, Decimal]]] = {}
    credits = write.rows.credits
    for cid, at, amount in zip(credits["c_customer"], credits["c_at"], credits["c_amount"], strict=True):
        new_credit.setdefault(cid, []).append((at, amount))
    upgrades: list[tuple[uuid.UUID, str, int, datetime, datetime]] = []
    tier_events: list[tuple[EventData, uuid.UUID]] = []  # each published under its member's last purchase's trace
    for (member, program, tiers, start, end), credit in zip(write.checks, before, strict=True):
        credit += sum((amount for at, amount in new_credit.get(member.customer_id, []) if start <= at < end), Decimal(0))
        best = tier_for(credit, tiers)
        if best is not None and (member.tier_rank is None or best.rank > member.tier_rank):
            tier_events.append(
                (TierChanged(customer_id=member.customer_id, from_tier=member.tier, to_tier=best.name, reason="upgrade", occurred_at=now), member.customer_id)
            )
            member.tier, member.tier_rank = best.name, best.rank
            upgrades.append((member.customer_id, best.name, best.rank, now, review_at(program.qualification_period, now, program.downgrade_grace_days)))
    await repo.set_tiers(session, upgrades)
    for data, subject in tier_events:
        with carrying(ctx.member_trace.get(subject)):
            ctx.publish(session, data, subject)
    await ctx.flush_events(session)


async def _write_in_parts(
    session: AsyncSession,
    ctx: Context,
    parts: list[list[int]],
    plan: Callable[[list[int]], tuple[repo.Writes, list[tuple[repo.MemberState, Program, list[TierDef]]]]],
    now: datetime,
) -> None:
    """Plan each part, then write it while the next part is planned (loyalty's CPU and
    PostgreSQL's at once); on the connection, a part's write and tier upgrades come before the
    next part's write."""
    flight: _Write | None = None
    try:
        for part in parts:
            with collector.paused():  # a part's rows, events and results all stay alive
                w, touched = plan(part)
            planned = ctx.take_events()  # this part's events; the part in flight adds its tier changes
            if flight is not None:
                await _finish_write(session, ctx, flight, now)
                flight = None
            if w.count:
                flight = await _start_write(session, w, touched, planned, now)
                # The next part is planned without yielding to the event loop: let the task
                # send its statement first (a cached one goes out in this step, as far as the
                # socket takes it). `flight` is set first, so a cancellation here still waits
                # for the task below (the connection must be idle before the rollback).
                await asyncio.sleep(0)
        if flight is not None:
            await _finish_write(session, ctx, flight, now)
            flight = None
    finally:
        if flight is not None:  # something failed while a part was being written: let it end first
            await asyncio.gather(flight.task, return_exceptions=True)


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
    refund_id = new_id()
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


Result = tuple[int, PurchaseOut | None, ProblemError | None]
"""A batch item's outcome: 201 and the purchase, 200 and the first result, or a problem."""


async def record_batch(
    session: AsyncSession, items: list[PurchaseIn], now: datetime, cache: dict[uuid.UUID, Any] | None = None, traces: list[str] | None = None
) -> list[Result]:
    """Record many purchases in one transaction with a constant number of statements per
    part of a round (`_rounds`: one round unless a member who can still move up a tier has
    several purchases here; parts of `PART` purchases): the members locked in one statement,
    in id order (concurrent batches cannot deadlock); known orders read in one; per part, every
    purchase, ledger entry, lot, credit, balance and outbox event written in one, and tier
    upgrades in one; events in item order per member (plus one read of cap usage when the
    program has caps, and referral bonuses of first purchases). A round's next part is planned
    while PostgreSQL writes the one before; a member who can move up a tier is in one part of
    a round, so no plan depends on a write still in flight.
    A bad item gets its problem and writes nothing (every error is raised before an item
    writes). A concurrent batch recording the same new order id makes this one fail with 409
    `concurrent-order` (retry it: the repeat is idempotent)."""
    ctx = Context(cache)
    members, referees = await repo.lock_members(session, [item.customer_id for item in items])
    known = await repo.known_orders(session, [item.order_id for item in items])
    programs: dict[uuid.UUID, tuple[Program, list[TierDef]]] = {}
    for m in members.values():
        if m.program_id not in programs:
            programs[m.program_id] = await ctx.program(session, m.program_id)
    caps: _Caps | None = None
    if any(p.rules.get("caps") for p, _ in programs.values()):
        keys = sorted(
            {_Caps.key(item.customer_id, rule, item.occurred_at) for item in items if item.customer_id in members for rule in ("base_spend", "first_purchase")},
            key=str,
        )
        caps = _Caps(dict(zip(keys, await repo.cap_usage(session, keys), strict=True)))
    results: list[Result | None] = [None] * len(items)
    new_orders: dict[str, tuple[str, PurchaseOut]] = {}
    first_purchases: list[tuple[uuid.UUID, uuid.UUID, datetime, Program, str | None]] = []  # ... and the purchase's trace

    def plan_part(part: list[int]) -> tuple[repo.Writes, list[tuple[repo.MemberState, Program, list[TierDef]]]]:
        w = repo.Writes()
        touched: dict[uuid.UUID, tuple[repo.MemberState, Program, list[TierDef]]] = {}
        for i in part:
            item, trace = items[i], traces[i] if traces is not None else None
            with carrying(trace):
                try:
                    member = members.get(item.customer_id)
                    if member is None or member.erased:
                        raise _unknown_customer(item.customer_id)
                    program, tiers = programs[member.program_id]
                    if item.currency != program.currency:
                        raise _currency_mismatch(program, item.currency)
                    fp, lines_json = _fingerprint_and_lines(item)
                    seen = known.get(item.order_id)
                    if seen is not None:
                        results[i] = (200, _replay(seen, fp, program), None)
                        continue
                    fresh = new_orders.get(item.order_id)
                    if fresh is not None:
                        if fresh[0] != fp:
                            raise ProblemError(
                                409, "order-id-conflict", f"Order {item.order_id} was already recorded with different content.", purchase_id=str(fresh[1].id)
                            )
                        results[i] = (200, fresh[1], None)
                        continue
                    out = _plan(session, item, member, program, tiers, now, ctx, w, fp, lines_json, caps)
                    new_orders[item.order_id] = (fp, out)
                    touched[member.customer_id] = (member, program, tiers)
                    ctx.member_trace[member.customer_id] = trace
                    if out.first_purchase:
                        first_purchases.append((member.customer_id, out.id, out.occurred_at, program, trace))
                    results[i] = (201, out, None)
                except ProblemError as err:
                    results[i] = (err.status, None, err)
        return w, list(touched.values())

    for round_ in _rounds(items, members, programs):
        await _write_in_parts(session, ctx, [round_[k : k + PART] for k in range(0, len(round_), PART)], plan_part, now)
    for customer_id, purchase_id, at, program, trace in first_purchases:
        if customer_id in referees:
            with carrying(trace):  # the bonus's events: under the first purchase's request
                await referrals.attach_purchase(session, customer_id, purchase_id, at, program, now)
    return [r for r in results if r is not None]


def _rounds(items: list[PurchaseIn], members: dict[uuid.UUID, repo.MemberState], programs: dict[uuid.UUID, tuple[Program, list[TierDef]]]) -> list[list[int]]:
    """Item indexes in the rounds they are recorded in, each written (and its tier upgrades
    applied) before the next is planned: a member who can still move up a tier has one
    purchase per round, so each earns at the tier the purchase before it reached, as if sent
    one by one. Everyone else's purchases all go in the first round."""
    rounds: list[list[int]] = [[]]
    seen: dict[uuid.UUID, int] = {}
    for i, item in enumerate(items):
        member = members.get(item.customer_id)
        k = 0
        if member is not None and member.program_id in programs and next_tier(member.tier_rank, programs[member.program_id][1]) is not None:
            k = seen[item.customer_id] = seen.get(item.customer_id, -1) + 1
        if k == len(rounds):
            rounds.append([])
        rounds[k].append(i)
    return rounds
