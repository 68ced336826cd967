"""Use cases of plans and enrolments: seeding the built-in plans, enrolling customers (with the
deterministic holdout) and materialising their touches, unenrolling.

Enrolment is idempotent: a second trigger for a customer already in a (non-repeatable) plan
changes nothing. Holdout customers are recorded and get no plan touches.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wafa_shared.events.touch import PlanEnrolled, TouchScheduled, TouchSkipped
from wafa_touch import repository as repo
from wafa_touch.domain.builtin_plans import BUILTIN_PLANS
from wafa_touch.domain.fatigue import Policy
from wafa_touch.domain.holdout import bucket, in_holdout
from wafa_touch.domain.timing import Facts, TouchDef, materialise
from wafa_touch.models import CustomerProfile, Plan, Touch
from wafa_touch.outbox_batch import publish_many
from wafa_touch.policy import load_policy

_DEFS_CACHE: dict[tuple[uuid.UUID, int], list[TouchDef]] = {}


async def seed_builtin_plans(session: AsyncSession) -> None:
    """Insert the built-in plans that are missing (never overwrites an edited one)."""
    rows = []
    for p in BUILTIN_PLANS:
        touches = [TouchDef.model_validate(t).model_dump(mode="json") for t in p["touches"]]
        rows.append(
            {
                "id": uuid.uuid4(),
                "key": p["key"],
                "name": p["name"],
                "description": p["description"],
                "trigger": p["trigger"],
                "repeatable": p.get("repeatable", False),
                "builtin": True,
                "active": True,
                "holdout_pct": p["holdout_pct"],
                "monthly_budget": None,
                "touches": touches,
                "version": 1,
            }
        )
    await repo.insert_plans_if_missing(session, rows)


def plan_defs(plan: Plan) -> list[TouchDef]:
    key = (plan.id, plan.version)
    defs = _DEFS_CACHE.get(key)
    if defs is None:
        defs = [TouchDef.model_validate(t) for t in plan.touches]
        _DEFS_CACHE[key] = defs
    return defs


def facts_of(profile: CustomerProfile | None, policy: Policy | None = None) -> Facts:
    """The customer's facts; quiet hours fall back to the policy's when the customer set none."""
    qs, qe = (policy.quiet_start, policy.quiet_end) if policy is not None else (None, None)
    if profile is None:
        return Facts(quiet_start=qs, quiet_end=qe)
    if profile.quiet_start is not None and profile.quiet_end is not None:
        qs, qe = profile.quiet_start, profile.quiet_end
    custom = {k: date.fromisoformat(v) for k, v in (profile.custom_dates or {}).items() if isinstance(v, str)}
    return Facts(
        time_zone=profile.time_zone,
        country=profile.country,
        birth_date=profile.birth_date,
        custom_dates=custom,
        quiet_start=qs,
        quiet_end=qe,
    )


@dataclass(frozen=True)
class EnrolRequest:
    customer_id: uuid.UUID
    anchor_at: datetime
    trigger: str
    trigger_ref: str | None = None  # makes each trigger of a repeatable plan its own enrolment
    payload: dict[str, Any] | None = None


@dataclass(frozen=True)
class EnrolResult:
    enrolment_id: uuid.UUID
    customer_id: uuid.UUID
    holdout: bool
    touches: int


async def enrol_many(
    session: AsyncSession,
    plan: Plan,
    requests: list[EnrolRequest],
    now: datetime,
    *,
    default_tz: str,
    default_country: str | None,
    profiles: dict[uuid.UUID, CustomerProfile] | None = None,
) -> list[EnrolResult]:
    """Enrol customers in `plan` and materialise their next 12 months of touches, set-based.
    Erased customers and those already enrolled are left out."""
    if profiles is None:
        profiles = await repo.profiles(session, {r.customer_id for r in requests})
    policy = await load_policy(session, default_tz)
    defs = plan_defs(plan)
    by_key = {d.key: d for d in defs}
    rows: list[dict[str, Any]] = []
    meta: dict[uuid.UUID, EnrolRequest] = {}
    for r in requests:
        prof = profiles.get(r.customer_id)
        if prof is not None and prof.erased_at is not None:
            continue
        ref = f":{r.trigger_ref}" if plan.repeatable and r.trigger_ref else ""
        eid = uuid.uuid4()
        hold = in_holdout(plan.key, r.customer_id, plan.holdout_pct)
        rows.append(
            {
                "id": eid,
                "plan_id": plan.id,
                "customer_id": r.customer_id,
                "dedupe_key": f"{plan.id}:{r.customer_id}{ref}",
                "status": "holdout" if hold else "active",
                "holdout": hold,
                "bucket": bucket(plan.key, r.customer_id),
                "trigger": r.trigger,
                "anchor_at": r.anchor_at,
                "enrolled_at": now,
                "ended_at": None,
            }
        )
        meta[eid] = r
    inserted = await repo.insert_enrolments(session, rows)
    touches: list[dict[str, Any]] = []
    events: list[tuple[Any, object]] = []
    results: list[EnrolResult] = []
    for row in rows:
        eid = row["id"]
        if eid not in inserted:
            continue
        r = meta[eid]
        events.append(
            (
                PlanEnrolled(
                    enrolment_id=eid, customer_id=r.customer_id, plan_id=plan.id, plan_key=plan.key, holdout=row["holdout"], trigger=r.trigger, enrolled_at=now
                ),
                r.customer_id,
            )
        )
        if row["holdout"]:
            results.append(EnrolResult(eid, r.customer_id, True, 0))
            continue
        planned = materialise(
            defs, facts_of(profiles.get(r.customer_id), policy), r.anchor_at, default_tz=policy.default_time_zone, default_country=default_country
        )
        for p in planned:
            d = by_key[p.def_key]
            tid = uuid.uuid4()
            touches.append(
                {
                    "id": tid,
                    "customer_id": r.customer_id,
                    "plan_id": plan.id,
                    "enrolment_id": eid,
                    "def_key": d.key,
                    "seq": p.seq,
                    "channel": d.channel,
                    "content_key": d.content_key,
                    "key_message": d.key_message,
                    "referral_cta": d.referral_cta,
                    "cost": d.cost,
                    "priority": d.priority,
                    "sla_hours": d.sla_hours,
                    "status": "scheduled" if p.due_at else "skipped",
                    "reason": p.skip_reason,
                    "due_at": p.due_at,
                    "original_due_at": p.due_at,
                    "window_end": p.window_end,
                    "sent_at": None,
                    "completed_at": None,
                    "attempts": 0,
                    "next_attempt_at": None,
                    "delivery_status": None,
                    "payload": r.payload or {},
                }
            )
            if p.due_at is not None:
                events.append(
                    (
                        TouchScheduled(touch_id=tid, customer_id=r.customer_id, plan_id=plan.id, channel=d.channel, due_at=p.due_at),
                        r.customer_id,
                    )
                )
            else:
                events.append(
                    (
                        TouchSkipped(touch_id=tid, customer_id=r.customer_id, plan_id=plan.id, channel=d.channel, reason=p.skip_reason or "", skipped_at=now),
                        r.customer_id,
                    )
                )
        results.append(EnrolResult(eid, r.customer_id, False, len(planned)))
    await repo.insert_touches(session, touches)
    await publish_many(session, events, time=now)
    return results


async def enrol(session: AsyncSession, plan: Plan, request: EnrolRequest, now: datetime, *, default_tz: str, default_country: str | None) -> EnrolResult | None:
    results = await enrol_many(session, plan, [request], now, default_tz=default_tz, default_country=default_country)
    return results[0] if results else None


async def unenrol(session: AsyncSession, plan: Plan, customer_id: uuid.UUID, now: datetime) -> int:
    """End the customer's enrolment in `plan`: its future touches are skipped (`unenrolled`).
    Returns how many touches were skipped; raises nothing when not enrolled (404 is the caller's)."""
    enrolment = await repo.active_enrolment(session, plan.id, customer_id)
    if enrolment is None:
        return -1
    enrolment.status = "unenrolled"
    enrolment.ended_at = now
    enrolment.dedupe_key = None
    skipped = await repo.skip_scheduled(session, (Touch.enrolment_id == enrolment.id), "unenrolled")
    await publish_skipped(session, skipped, now)
    return len(skipped)


async def publish_skipped(session: AsyncSession, touches: list[Touch], now: datetime) -> None:
    await publish_many(
        session,
        [
            (TouchSkipped(touch_id=t.id, customer_id=t.customer_id, plan_id=t.plan_id, channel=t.channel, reason=t.reason or "", skipped_at=now), t.customer_id)
            for t in touches
        ],
        time=now,
    )


FACT_REASONS = ("no-birth-date", "no-personal-date", "holiday-not-observed", "no-country")


async def refresh_fact_touches(session: AsyncSession, customer_id: uuid.UUID, now: datetime, *, default_tz: str, default_country: str | None) -> int:
    """Re-date the touches that depend on the customer's facts (birthday, personal dates,
    country holidays) after those facts changed or arrived late: a touch skipped for a missing
    birth date is scheduled once the birth date is known; a changed birthday moves its card.
    Only future, not-yet-dispatched touches change. Returns how many touches changed."""
    enrolments = [e for e in await repo.customer_enrolments(session, customer_id) if e.status == "active"]
    if not enrolments:
        return 0
    profile = await repo.get_profile(session, customer_id)
    policy = await load_policy(session, default_tz)
    facts = facts_of(profile, policy)
    plans = await repo.plans_by_id(session, {e.plan_id for e in enrolments})
    changed: list[dict[str, Any]] = []
    events: list[tuple[Any, object]] = []
    for e in enrolments:
        plan = plans[e.plan_id]
        defs = [d for d in plan_defs(plan) if d.timing.kind in ("personal_date", "holiday")]
        if not defs:
            continue
        touches = {(t.def_key, t.seq): t for t in await repo.fact_touches(session, e.id, [d.key for d in defs], FACT_REASONS)}
        for p in materialise(defs, facts, e.anchor_at, default_tz=policy.default_time_zone, default_country=default_country):
            t = touches.get((p.def_key, p.seq))
            if t is None or (p.due_at == t.due_at and p.skip_reason == t.reason):
                continue
            if p.due_at is not None and p.due_at > now:
                changed.append({"id": t.id, "status": "scheduled", "reason": None, "due_at": p.due_at, "original_due_at": p.due_at, "window_end": p.window_end})
                events.append((TouchScheduled(touch_id=t.id, customer_id=customer_id, plan_id=plan.id, channel=t.channel, due_at=p.due_at), customer_id))
            elif t.status == "scheduled":
                reason = p.skip_reason or "date-passed"
                changed.append({"id": t.id, "status": "skipped", "reason": reason})
                events.append(
                    (TouchSkipped(touch_id=t.id, customer_id=customer_id, plan_id=plan.id, channel=t.channel, reason=reason, skipped_at=now), customer_id)
                )
    await repo.bulk_update_touches(session, changed)
    await publish_many(session, events, time=now)
    return len(changed)
