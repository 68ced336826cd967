"""The dispatch worker: due touches pass the fatigue policy, then go to a channel partner as a
signed webhook (email, SMS, push, gift, survey invitation) or become a task for the team
(phone, letter, card).

Two steps, each its own transaction, so no HTTP call ever holds a database lock:
1. `decide_due` leases due touches (SKIP LOCKED), applies `fatigue.decide` in priority order
   per customer with the customer's contact history, and records the outcome: skipped (with
   the reason), postponed (new due time), task created, or queued for delivery.
2. `deliver` leases queued messages, posts them concurrently (each with its own timeout, so a
   dead partner only delays its own messages), and records each attempt; failures are retried
   on the backoff schedule, then the touch is `failed`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_shared.db import deadlocked
from wafa_shared.events.touch import TaskAssigned, TouchSent, TouchSkipped
from wafa_shared.outbox import add_data
from wafa_shared.webhooks.sender import WebhookSender
from wafa_shared.webhooks.signing import signed_headers
from wafa_shared.webhooks.worker import next_attempt
from wafa_touch import repository as repo
from wafa_touch.announce import announce_touches
from wafa_touch.domain.channels import TASK_CHANNELS
from wafa_touch.domain.fatigue import MONTH, Candidate, Contact, decide
from wafa_touch.models import CustomerProfile, DispatchAttempt, Task, Touch
from wafa_touch.policy import load_policy

log = logging.getLogger("wafa.touch.dispatch")


def contact_of(profile: CustomerProfile | None) -> Contact:
    if profile is None:
        return Contact()
    return Contact(
        consents=dict(profile.consents or {}),
        time_zone=profile.time_zone,
        preferred_channel=profile.preferred_channel,
        quiet_start=profile.quiet_start,
        quiet_end=profile.quiet_end,
        erased=profile.erased_at is not None,
    )


@dataclass
class DecideStats:
    sent: int = 0
    tasks: int = 0
    postponed: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.tasks + self.postponed + self.skipped


ForTask = tuple[Touch, CustomerProfile | None, str]  # the touch, its customer, the task channel


async def decide_due(
    session: AsyncSession, now: datetime, *, limit: int, default_tz: str, default_assignee: str, customer_ids: list[uuid.UUID] | None = None
) -> DecideStats:
    """Apply the fatigue policy to due touches and record each outcome (see module doc)."""
    stats = DecideStats()
    due = await repo.lease_due(session, now, limit, customer_ids)
    if not due:
        return stats
    await announce_touches(session, due, now)  # the few the look-ahead job has not reached yet
    policy = await load_policy(session, default_tz)
    cids = {t.customer_id for t in due}
    await repo.lock_customers(session, cids)  # another replica may be deciding for them now
    profiles = await repo.profiles(session, cids)
    history = await repo.contact_history(session, cids, now - MONTH)
    plan_ids = {t.plan_id for t in due if t.plan_id is not None}
    plans = await repo.plans_by_id(session, plan_ids)
    budgeted = {pid for pid, p in plans.items() if p.monthly_budget is not None}
    spent = await repo.plan_spend(session, budgeted, repo.month_start(now)) if budgeted else {}
    resets = repo.next_month_start(now)
    updates: list[dict[str, Any]] = []
    events: list[tuple[Any, object]] = []
    for_tasks: list[ForTask] = []
    # Service recovery before personal before newsletters; then oldest first.
    for t in sorted(due, key=lambda t: (str(t.customer_id), -t.priority, t.due_at)):
        profile = profiles.get(t.customer_id)
        plan = plans.get(t.plan_id) if t.plan_id else None
        budget_left: Decimal | None = None
        if plan is not None and plan.monthly_budget is not None:
            budget_left = plan.monthly_budget - spent.get(plan.id, Decimal("0"))
        window_end = t.window_end or (t.due_at or now) + timedelta(days=7)
        cand = Candidate(t.channel, t.priority, window_end, t.cost, budget_left, resets)
        past = history.setdefault(t.customer_id, [])
        d = decide(cand, past, contact_of(profile), policy, now)
        if d.action == "skip":
            stats.skipped += 1
            updates.append({"id": t.id, "status": "skipped", "reason": d.reason})
            events.append(
                (
                    TouchSkipped(touch_id=t.id, customer_id=t.customer_id, plan_id=t.plan_id, channel=d.channel, reason=d.reason or "", skipped_at=now),
                    t.customer_id,
                )
            )
        elif d.action == "postpone":
            stats.postponed += 1
            updates.append({"id": t.id, "due_at": d.at, "reason": f"postponed:{d.reason}"})
        else:
            past.append(now)
            if plan is not None and plan.monthly_budget is not None:
                spent[plan.id] = spent.get(plan.id, Decimal("0")) + t.cost
            if d.channel in TASK_CHANNELS:
                stats.tasks += 1
                for_tasks.append((t, profile, d.channel))
                updates.append({"id": t.id, "status": "task", "sent_at": now, "channel": d.channel})
            else:
                stats.sent += 1
                updates.append({"id": t.id, "status": "dispatching", "sent_at": now, "channel": d.channel, "next_attempt_at": now})
    tasks = await new_tasks(session, for_tasks, now, default_assignee)
    for task, (t, _, channel) in zip(tasks, for_tasks, strict=True):
        assigned = TaskAssigned(
            touch_id=t.id, customer_id=t.customer_id, plan_id=t.plan_id, channel=channel, task_id=task["id"], assignee=task["assignee"], due_at=task["due_at"]
        )
        events.append((assigned, t.customer_id))
    await repo.bulk_update_touches(session, updates)
    if tasks:
        await session.execute(insert(Task), tasks)
    await add_data(session, events, time=now)
    return stats


async def new_tasks(session: AsyncSession, touches: list[ForTask], now: datetime, default_assignee: str) -> list[dict[str, Any]]:
    """The task rows for phone/letter/card touches: the customer's owner if they have one, else
    round robin over active team members; due after the touch's SLA."""
    if not touches:
        return []
    owners = [p.owner if p is not None and p.owner else None for _, p, _ in touches]
    assignees = await repo.assign(session, owners)
    return [
        {
            "id": uuid.uuid4(),
            "touch_id": t.id,
            "customer_id": t.customer_id,
            "kind": channel,
            "assignee": assignee or default_assignee,
            "status": "open",
            "due_at": now + timedelta(hours=t.sla_hours),
            "outcome": None,
            "notes": None,
            "completed_at": None,
            "created_at": now,
        }
        for (t, _, channel), assignee in zip(touches, assignees, strict=True)
    ]


def message_body(t: Touch, profile: CustomerProfile | None) -> dict[str, Any]:
    """What a channel partner receives (the customer's contact details only while not erased)."""
    customer: dict[str, Any] = {"id": str(t.customer_id)}
    if profile is not None and profile.erased_at is None:
        customer.update(display_name=profile.display_name, email=profile.email, phone=profile.phone, language=profile.language)
    return {
        "type": "touch.dispatch",
        "touch_id": str(t.id),
        "channel": t.channel,
        "content_key": t.content_key,
        "key_message": t.key_message,
        "referral_cta": t.referral_cta,
        "customer": customer,
        "data": t.payload or {},
    }


@dataclass
class DeliverStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0


Posted = list[tuple[Touch, int | None, str | None, int]]  # touch, status code, error, ms


async def post_batch(runtime: Any, now: datetime) -> Posted:
    """Lease a batch of queued messages (committed, so no lock is held while posting), sign
    them and post them concurrently; returns each touch with its outcome."""
    settings = runtime.settings
    async with runtime.sessions() as session:
        leased = await repo.lease_deliveries(session, now, settings.dispatch_batch_size)
        if not leased:
            return []
        eps = await repo.endpoints(session)
        profiles = await repo.profiles(session, {t.customer_id for t in leased})
        await session.commit()
    sender: WebhookSender | None = runtime.state.get("partner_client")
    if sender is None:
        sender = WebhookSender(timeout_s=settings.partner_timeout_s, connections=settings.dispatch_concurrency)
        runtime.state["partner_client"] = sender
    requests: list[tuple[str, bytes, dict[str, str]] | None] = []
    for t in leased:
        ep = eps.get(t.channel)
        if ep is None:
            requests.append(None)
            continue
        body = orjson.dumps(message_body(t, profiles.get(t.customer_id)))
        requests.append((ep.url, body, signed_headers(ep.secret, f"msg_{t.id}", body)))
    outcomes = await sender.post_all(requests, settings.dispatch_concurrency)
    return [
        (t, None, f"no partner endpoint configured for channel {t.channel}", 0) if out is None else (t, *out) for t, out in zip(leased, outcomes, strict=True)
    ]


async def deliver(runtime: Any, now: datetime) -> DeliverStats:
    """Post queued messages to their channel partners (see module doc)."""
    return await record_deliveries(runtime, now, await post_batch(runtime, now))


async def record_deliveries(runtime: Any, now: datetime, results: Posted) -> DeliverStats:
    """Record a posted batch in one transaction: attempts, statuses (retries on the backoff
    schedule), `touch.sent` / `touch.skipped` events."""
    settings = runtime.settings
    stats = DeliverStats()
    if not results:
        return stats
    rng = random.Random()
    updates: list[dict[str, Any]] = []
    attempts: list[dict[str, Any]] = []
    events: list[tuple[Any, object]] = []
    for t, code, err, ms in results:
        n = t.attempts + 1
        attempts.append({"touch_id": t.id, "attempt": n, "status_code": code, "error": err, "duration_ms": ms, "at": now})
        if err is None:
            stats.sent += 1
            updates.append({"id": t.id, "status": "sent", "attempts": n, "next_attempt_at": None})
            events.append((TouchSent(touch_id=t.id, customer_id=t.customer_id, plan_id=t.plan_id, channel=t.channel, sent_at=now, cost=t.cost), t.customer_id))
            continue
        retry_at = next_attempt(n, settings.partner_retry_schedule_s, now, rng)
        if retry_at is None:
            stats.failed += 1
            updates.append({"id": t.id, "status": "failed", "attempts": n, "next_attempt_at": None, "reason": f"delivery-failed: {err}"[:200]})
            events.append(
                (
                    TouchSkipped(touch_id=t.id, customer_id=t.customer_id, plan_id=t.plan_id, channel=t.channel, reason="delivery-failed", skipped_at=now),
                    t.customer_id,
                )
            )
        else:
            stats.retried += 1
            updates.append({"id": t.id, "attempts": n, "next_attempt_at": retry_at, "reason": f"retrying: {err}"[:200]})
    async with runtime.sessions() as session:
        await repo.bulk_update_touches(session, updates)
        await session.execute(insert(DispatchAttempt), attempts)
        await add_data(session, events, time=now)
        await session.commit()
    runtime.outbox_committed()
    return stats


DEADLOCK_ATTEMPTS = 3


async def decide_batch(runtime: Any, now: datetime) -> DecideStats:
    """One batch of decisions in its own transaction, run again if PostgreSQL picked it as a
    deadlock's victim (rolled back whole). The triggers consumer decides recovery calls last in
    a consumed batch, in this run's lock order, but its earlier handlers may hold touches this
    run is about to update: a cycle stays possible, if rare."""
    s = runtime.settings
    for attempt in range(1, DEADLOCK_ATTEMPTS + 1):
        try:
            async with runtime.sessions() as session:
                d = await decide_due(session, now, limit=s.dispatch_batch_size, default_tz=s.default_time_zone, default_assignee=s.default_assignee)
                await session.commit()
            return d
        except DBAPIError as exc:
            if attempt == DEADLOCK_ATTEMPTS or not deadlocked(exc):
                raise
            log.warning("dispatch batch was a deadlock victim; running it again", extra={"attempt": attempt})
    raise AssertionError("unreachable")


async def run_dispatch(runtime: Any) -> dict[str, Any]:
    """The `dispatch` job: decide every due touch, then deliver queued messages, until none is
    left (bounded by batches so one run cannot starve the loop forever)."""
    s = runtime.settings
    now = runtime.clock.now()
    totals: dict[str, int] = defaultdict(int)
    for _ in range(1000):
        d = await decide_batch(runtime, now)
        runtime.outbox_committed()
        for k in ("sent", "tasks", "postponed", "skipped"):
            totals[k] += getattr(d, k)
        if d.total < s.dispatch_batch_size:
            break
    # Posting batch k+1 overlaps recording batch k (its own transaction), so the partners are
    # kept busy while the database writes.
    recording: asyncio.Task[DeliverStats] | None = None
    try:
        for _ in range(1000):
            posted = await post_batch(runtime, now)
            if recording is not None:
                add_delivered(totals, await recording)
                recording = None
            if posted:
                recording = asyncio.create_task(record_deliveries(runtime, now, posted))
            if len(posted) < s.dispatch_batch_size:
                break
    finally:
        if recording is not None:
            add_delivered(totals, await recording)
    return dict(totals)


def add_delivered(totals: dict[str, int], r: DeliverStats) -> None:
    totals["delivered"] += r.sent
    totals["retrying"] += r.retried
    totals["failed"] += r.failed
