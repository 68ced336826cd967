"""Events the analytics service consumes (its handlers); what it publishes is in
`wafa_shared.events.analytics`.

One consumer (`read-model`) reads every topic. Handlers are batch handlers that queue rows; all
rows of a kind queued in one consumer transaction become one set-based statement just before it
commits (see `ingest.py`). Idempotent twice over: the inbox
skips an event id seen before, and every row is keyed by the producer's natural id.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wafa_analytics import at_risk, ingest
from wafa_analytics.domain.satisfaction import csi
from wafa_shared.events import Event
from wafa_shared.events import customer as c
from wafa_shared.events import loyalty as lo
from wafa_shared.events import survey as sv
from wafa_shared.events import touch as to
from wafa_shared.inbox import ConsumerSpec, Handlers

Batch = list[tuple[Event, Any]]
handlers = Handlers()

TOUCH_RANK = {"scheduled": 0, "sent": 1, "skipped": 2, "completed": 2}


@handlers.on_batch("loyalty.purchase.recorded")
async def on_purchases(session: AsyncSession, batch: Batch) -> None:
    rows = [
        {
            "purchase_id": d.purchase_id,
            "customer_id": d.customer_id,
            "amount": d.amount,
            "currency": d.currency,
            "occurred_at": d.occurred_at,
            "channel": d.channel,
        }
        for _, d in batch
        if isinstance(d, lo.PurchaseRecorded)
    ]
    ingest.queue(session, "purchases", rows)


@handlers.on_batch("loyalty.purchase.refunded")
async def on_refunds(session: AsyncSession, batch: Batch) -> None:
    rows = [
        {
            "refund_id": d.refund_id,
            "purchase_id": d.purchase_id,
            "customer_id": d.customer_id,
            "amount": d.amount,
            "currency": d.currency,
            "occurred_at": d.occurred_at,
        }
        for _, d in batch
    ]
    ingest.queue(session, "refunds", rows)


@handlers.on_batch("customer.registered")
async def on_registered(session: AsyncSession, batch: Batch) -> None:
    rows = [
        {
            "customer_id": d.customer_id,
            "kind": d.kind,
            "registered_at": d.registered_at,
            "referred_by": d.referred_by,
            "display_name": d.display_name,
            "email": d.email,
        }
        for _, d in batch
    ]
    ingest.queue(session, "registered", rows)


@handlers.on_batch("customer.updated")
async def on_updated(session: AsyncSession, batch: Batch) -> None:
    rows = [{"customer_id": d.customer_id, "kind": d.kind, "display_name": d.display_name, "email": d.email} for _, d in batch]
    ingest.queue(session, "updated", rows)


@handlers.on_batch("customer.erased")
async def on_erased(session: AsyncSession, batch: Batch) -> None:
    """Drop the PII analytics holds (name, e-mail); counts and sums stay, anonymous."""
    rows = [{"customer_id": d.customer_id, "erased_at": d.erased_at} for _, d in batch]
    ingest.queue(session, "erased", rows)


@handlers.on_batch("loyalty.tier.changed")
async def on_tier(session: AsyncSession, batch: Batch) -> None:
    rows = [{"customer_id": d.customer_id, "tier": d.to_tier, "at": d.occurred_at} for _, d in batch]
    ingest.queue(session, "tier", rows)


@handlers.on_batch("referral.made")
async def on_referrals(session: AsyncSession, batch: Batch) -> None:
    rows = [{"referral_id": d.referral_id, "advocate_id": d.advocate_id, "referee_id": d.referee_id, "made_at": d.made_at} for _, d in batch]
    ingest.queue(session, "referrals", rows)


@handlers.on_batch("loyalty.reward.redeemed")
async def on_redemptions(session: AsyncSession, batch: Batch) -> None:
    rows = [
        {"redemption_id": d.redemption_id, "customer_id": d.customer_id, "points": d.points, "cost": d.cost, "occurred_at": d.occurred_at} for _, d in batch
    ]
    ingest.queue(session, "redemptions", rows)


@handlers.on_batch("survey.invitation.created")
async def on_invitations(session: AsyncSession, batch: Batch) -> None:
    rows = [{"invitation_id": d.invitation_id, "survey_id": d.survey_id, "customer_id": d.customer_id, "created_at": e.time} for e, d in batch]
    ingest.queue(session, "invitations", rows)


@handlers.on_batch("survey.response.submitted")
async def on_responses(session: AsyncSession, batch: Batch) -> None:
    rows = [
        {
            "response_id": d.response_id,
            "survey_id": d.survey_id,
            "survey_kind": d.survey_kind,
            "customer_id": d.customer_id,
            "nps": d.nps,
            "csat": d.csat,
            "ces": d.ces,
            "csi": csi(d.attributes),
            "submitted_at": d.submitted_at,
        }
        for _, d in batch
    ]
    ingest.queue(session, "responses", rows)
    await at_risk.flag_valuable_detractors(session, [d for _, d in batch if isinstance(d, sv.ResponseSubmitted)])


def _touch_row(d: Any, status: str, at: Any, cost: Any = None, reason: str | None = None) -> dict[str, Any]:
    return {
        "touch_id": d.touch_id,
        "customer_id": d.customer_id,
        "plan_id": d.plan_id,
        "channel": d.channel,
        "status": status,
        "rank": TOUCH_RANK[status],
        "reason": reason,
        "cost": cost,
        "at": at,
    }


def _queue_touches(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    ingest.queue(session, "touches", rows)


@handlers.on_batch("touch.scheduled")
async def on_touch_scheduled(session: AsyncSession, batch: Batch) -> None:
    _queue_touches(session, [_touch_row(d, "scheduled", d.due_at) for _, d in batch])


@handlers.on_batch("touch.sent")
async def on_touch_sent(session: AsyncSession, batch: Batch) -> None:
    _queue_touches(session, [_touch_row(d, "sent", d.sent_at, d.cost) for _, d in batch])


@handlers.on_batch("touch.completed")
async def on_touch_completed(session: AsyncSession, batch: Batch) -> None:
    _queue_touches(session, [_touch_row(d, "completed", d.completed_at, d.cost, d.outcome) for _, d in batch])


@handlers.on_batch("touch.skipped")
async def on_touch_skipped(session: AsyncSession, batch: Batch) -> None:
    _queue_touches(session, [_touch_row(d, "skipped", d.skipped_at, None, d.reason) for _, d in batch])


@handlers.on_batch("touch.plan.enrolled")
async def on_enrolments(session: AsyncSession, batch: Batch) -> None:
    """Plan and control-group membership, the basis of plan uplift (intention to treat)."""
    rows = [
        {
            "enrolment_id": d.enrolment_id,
            "customer_id": d.customer_id,
            "plan_id": d.plan_id,
            "plan_key": d.plan_key,
            "holdout": d.holdout,
            "enrolled_at": d.enrolled_at,
        }
        for _, d in batch
    ]
    ingest.queue(session, "enrolments", rows)


@handlers.on_batch("task.assigned")
async def on_tasks(session: AsyncSession, batch: Batch) -> None:
    """Call-centre tasks; one is overdue while its touch is neither completed nor skipped after `due_at`."""
    rows = [
        {"task_id": d.task_id, "touch_id": d.touch_id, "customer_id": d.customer_id, "channel": d.channel, "assignee": d.assignee, "due_at": d.due_at}
        for _, d in batch
    ]
    ingest.queue(session, "tasks", rows)


# Points movements, signed: what adds to customers' outstanding points and what takes from them.
# Keyed by event id (these events carry no id of their own; a re-published event keeps its id).
POINTS_SIGN = {
    "loyalty.points.earned": ("earned", 1),
    "loyalty.referral.bonus.held": ("held", 1),
    "loyalty.referral.bonus.revoked": ("revoked", -1),
    "loyalty.points.redeemed": ("redeemed", -1),
    "loyalty.points.expired": ("expired", -1),
}


def _owner(d: Any) -> Any:
    """Whose points moved: the customer, or the advocate of a referral bonus."""
    return d.customer_id if hasattr(d, "customer_id") else d.advocate_id


def _points_handler(event_type: str) -> None:
    kind, sign = POINTS_SIGN[event_type]

    async def on_points(session: AsyncSession, batch: Batch) -> None:
        rows = [{"event_id": e.id, "customer_id": _owner(d), "kind": kind, "delta": sign * abs(d.points), "occurred_at": d.occurred_at} for e, d in batch]
        ingest.queue(session, "points", rows)

    handlers.on_batch(event_type)(on_points)


for _type in POINTS_SIGN:
    _points_handler(_type)


CONSUMERS: list[ConsumerSpec] = [ConsumerSpec("read-model", [c.TOPIC, lo.TOPIC, sv.TOPIC, to.TOPIC], handlers)]
