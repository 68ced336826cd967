"""Use cases behind the HTTP API: plans, tasks, receipts, channels, fatigue policy, team.
Every check runs before the first write, so bad input changes nothing."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_shared.events.touch import ReferralObtained, TouchCompleted
from wafa_shared.outbox import publish
from wafa_shared.problems import ProblemError, not_found
from wafa_shared.webhooks import signing
from wafa_touch import repository as repo
from wafa_touch.definitions import Definition, store
from wafa_touch.domain.builtin_plans import CONTENT_TEMPLATES
from wafa_touch.domain.timing import TouchDef, supported_calendars, zone
from wafa_touch.models import ChannelEndpoint, DeliveryReceipt, Plan, Task, TeamMember, Touch
from wafa_touch.schemas import ChannelIn, ChannelOut, FatiguePolicyIO, PlanIn, PlanOut, PlanUpdate, ReceiptIn, ReceiptOut, TaskCompleteIn

# Receipt statuses in the order a message lives through them; a receipt never moves a touch back.
RECEIPT_RANK = {"delivered": 1, "bounced": 1, "opened": 2, "clicked": 3, "replied": 4}


def validate_touches(touches: list[TouchDef]) -> None:
    """Reject unknown content templates and calendars, and duplicate keys (422 naming fields)."""
    errors: list[dict[str, str]] = []
    calendars = supported_calendars()
    seen: set[str] = set()
    for i, t in enumerate(touches):
        if t.content_key not in CONTENT_TEMPLATES:
            errors.append({"field": f"touches.{i}.content_key", "in": "body", "message": f"unknown content template {t.content_key!r}"})
        if t.timing.kind == "holiday" and t.timing.calendar != "customer" and t.timing.calendar.upper() not in calendars:
            errors.append({"field": f"touches.{i}.timing.calendar", "in": "body", "message": f"unknown calendar {t.timing.calendar!r}"})
        if t.key in seen:
            errors.append({"field": f"touches.{i}.key", "in": "body", "message": f"duplicate touch key {t.key!r}"})
        seen.add(t.key)
    if errors:
        raise ProblemError(422, "invalid-plan", "The plan has impossible rules.", errors=errors)


def plan_out(plan: Plan) -> PlanOut:
    defs = [TouchDef.model_validate(t) for t in plan.touches]
    return PlanOut(
        id=plan.id,
        key=plan.key,
        name=plan.name,
        description=plan.description,
        trigger=plan.trigger,
        repeatable=plan.repeatable,
        builtin=plan.builtin,
        active=plan.active,
        holdout_pct=plan.holdout_pct,
        monthly_budget=plan.monthly_budget,
        touches=defs,
        touches_per_year=sum(d.timing.count for d in defs),
        version=plan.version,
    )


async def create_plan(session: AsyncSession, body: PlanIn) -> Plan:
    validate_touches(body.touches)
    if await repo.plan_by_key(session, body.key) is not None:
        raise ProblemError(409, "plan-key-taken", f"A plan with key {body.key!r} exists.")
    plan = Plan(
        id=uuid.uuid4(),
        key=body.key,
        name=body.name,
        description=body.description,
        trigger=body.trigger,
        repeatable=body.repeatable,
        builtin=False,
        active=body.active,
        holdout_pct=body.holdout_pct,
        monthly_budget=body.monthly_budget,
        touches=[t.model_dump(mode="json") for t in body.touches],
        version=1,
    )
    session.add(plan)
    await store(session, [Definition.of(t) for t in body.touches])
    await session.flush()
    return plan


async def get_plan(session: AsyncSession, plan_id: uuid.UUID) -> Plan:
    plan = await session.get(Plan, plan_id)
    if plan is None:
        raise not_found("plan", plan_id)
    return plan


async def update_plan(session: AsyncSession, plan_id: uuid.UUID, body: PlanUpdate) -> Plan:
    """Edit a plan (built-in ones too). Existing enrolments keep the touches already
    materialised; new enrolments use the new version."""
    plan = await get_plan(session, plan_id)
    fields = body.model_dump(exclude_unset=True)
    if body.touches is not None:
        validate_touches(body.touches)
        fields["touches"] = [t.model_dump(mode="json") for t in body.touches]
        await store(session, [Definition.of(t) for t in body.touches])
    for k, v in fields.items():
        setattr(plan, k, v)
    plan.version += 1
    plan.updated_at = func.now()
    await session.flush()
    await session.refresh(plan)
    return plan


async def complete_task(session: AsyncSession, task_id: uuid.UUID, body: TaskCompleteIn, now: datetime) -> Task:
    """Record a task's outcome once; the touch becomes completed (`touch.completed`), and an
    obtained referral is published (`touch.referral.obtained`) for the customer service."""
    if body.outcome == "referral_obtained" and body.referral is None:
        raise ProblemError(
            422,
            "referral-required",
            "An obtained referral needs the referee.",
            errors=[{"field": "referral", "in": "body", "message": "required when outcome is referral_obtained"}],
        )
    task = await session.get(Task, task_id, with_for_update=True)
    if task is None:
        raise not_found("task", task_id)
    if task.status != "open":
        raise ProblemError(409, "task-not-open", f"The task is already {task.status}.", status_now=task.status)
    touch = await session.get(Touch, task.touch_id)
    assert touch is not None
    task.status, task.outcome, task.notes, task.completed_at = "completed", body.outcome, body.notes, now
    touch.status, touch.completed_at = "completed", now
    await publish(
        session,
        TouchCompleted(
            touch_id=touch.id,
            customer_id=touch.customer_id,
            plan_id=touch.plan_id,
            channel=touch.channel,
            outcome=body.outcome,
            completed_at=now,
            cost=touch.cost,
        ),
        subject=touch.customer_id,
    )
    if body.referral is not None and body.outcome == "referral_obtained":
        await publish(
            session,
            ReferralObtained(
                touch_id=touch.id,
                customer_id=touch.customer_id,
                plan_id=touch.plan_id,
                channel=touch.channel,
                task_id=task.id,
                referee_name=body.referral.display_name,
                referee_email=body.referral.email,
                referee_phone=body.referral.phone,
                obtained_at=now,
            ),
            subject=touch.customer_id,
        )
    await session.flush()
    return task


async def receipt_secrets(session: AsyncSession) -> list[str]:
    return [e.secret for e in (await repo.endpoints(session)).values()]


async def apply_receipt(session: AsyncSession, body: ReceiptIn, webhook_id: str, now: datetime) -> ReceiptOut:
    touch = await session.get(Touch, body.touch_id, with_for_update=True)
    if touch is None or touch.status not in ("sent", "dispatching", "completed"):
        raise ProblemError(404, "touch-not-sent", f"No sent touch {body.touch_id}.")
    session.add(DeliveryReceipt(id=uuid.uuid4(), touch_id=touch.id, status=body.status, occurred_at=body.occurred_at, webhook_id=webhook_id, received_at=now))
    if RECEIPT_RANK[body.status] >= RECEIPT_RANK.get(touch.delivery_status or "", 0):
        touch.delivery_status = body.status
    await session.flush()
    return ReceiptOut(touch_id=touch.id, status=body.status, delivery_status=touch.delivery_status or body.status)


async def put_channel(session: AsyncSession, channel: str, body: ChannelIn) -> ChannelOut:
    secret = body.secret or signing.new_secret()
    ep = await session.get(ChannelEndpoint, channel)
    if ep is None:
        session.add(ChannelEndpoint(channel=channel, url=body.url, secret=secret))
    else:
        ep.url, ep.secret = body.url, secret
    await session.flush()
    return ChannelOut(channel=channel, url=body.url, secret=secret)


async def get_policy(session: AsyncSession, default_tz: str) -> FatiguePolicyIO:
    row = await repo.get_policy(session)
    if row is None:
        return FatiguePolicyIO(default_time_zone=default_tz)
    return FatiguePolicyIO.model_validate(row)


async def put_policy(session: AsyncSession, body: FatiguePolicyIO) -> FatiguePolicyIO:
    if (body.quiet_start is None) != (body.quiet_end is None):
        raise ProblemError(
            422, "invalid-policy", "Quiet hours need both start and end.", errors=[{"field": "quiet_end", "in": "body", "message": "set both or neither"}]
        )
    if body.max_per_30d < body.max_per_7d:
        raise ProblemError(
            422,
            "invalid-policy",
            "max_per_30d cannot be below max_per_7d.",
            errors=[{"field": "max_per_30d", "in": "body", "message": "must be >= max_per_7d"}],
        )
    if zone(body.default_time_zone, "").key != body.default_time_zone:
        raise ProblemError(
            422, "invalid-policy", "Unknown time zone.", errors=[{"field": "default_time_zone", "in": "body", "message": "not an IANA time zone"}]
        )
    await repo.save_policy(session, body.model_dump())
    return body


async def put_team_member(session: AsyncSession, name: str, active: bool) -> TeamMember:
    member = await session.get(TeamMember, name)
    if member is None:
        member = TeamMember(name=name, active=active, assigned_count=0)
        session.add(member)
    else:
        member.active = active
    await session.flush()
    return member


async def team(session: AsyncSession) -> list[TeamMember]:
    return list((await session.scalars(select(TeamMember).order_by(TeamMember.name))).all())
