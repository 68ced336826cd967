"""Events the touch scheduler consumes: customer facts (projection, consent, erasure) and the
triggers that enrol customers in plans. Handlers are deterministic given the event and the
database (times come from the event, never from the wall clock), so a retried batch does the
same thing; enrolment is idempotent on its dedupe key."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wafa_shared.events import Event
from wafa_shared.events.analytics import CustomerAtRisk
from wafa_shared.events.customer import ConsentChanged, CustomerErased, CustomerRegistered, CustomerUpdated, LeadConverted, ReferralMade
from wafa_shared.events.loyalty import PurchaseRecorded
from wafa_shared.events.survey import InvitationCreated, ResponseSubmitted
from wafa_shared.inbox import ConsumerSpec, Handlers
from wafa_shared.lifecycle import runtime_of
from wafa_touch import repository as repo
from wafa_touch.dispatch import decide_due
from wafa_touch.enrolment import EnrolRequest, enrol_many, refresh_fact_touches
from wafa_touch.one_off import schedule_invitation, schedule_lead_update
from wafa_touch.profiles import apply_consent, apply_profile, erase
from wafa_touch.settings import Settings

handlers = Handlers()


def settings(session: AsyncSession) -> Settings:
    """Defaults of the running service, from the runtime that made the handler's session."""
    return runtime_of(session).settings  # type: ignore[return-value]


def is_unhappy(data: ResponseSubmitted) -> bool:
    """A detractor (NPS 0-6) or a CSAT of 2 or less."""
    if data.nps_category == "detractor" or (data.nps is not None and data.nps <= 6):
        return True
    return data.csat is not None and data.csat <= Decimal("2")


async def trigger(session: AsyncSession, trigger_name: str, customer_id: uuid.UUID, at: datetime, ref: str, payload: dict[str, Any] | None = None) -> None:
    await trigger_many(session, trigger_name, [EnrolRequest(customer_id, at, trigger_name, ref, payload)])


async def trigger_many(session: AsyncSession, trigger_name: str, requests: list[EnrolRequest]) -> None:
    """Enrol in every plan the trigger starts, all requests in one set-based enrolment; each
    is anchored, and recorded as enrolled, at its own trigger time."""
    plans = await repo.plans_for_trigger(session, trigger_name)
    s = settings(session)
    now = max(r.anchor_at for r in requests)
    clock_now = runtime_of(session).clock.now()
    for plan in plans:
        await enrol_many(session, plan, requests, now, default_tz=s.default_time_zone, default_country=s.default_country, at_anchor=True, clock_now=clock_now)


@handlers.on("customer.registered")
async def on_registered(session: AsyncSession, event: Event, data: CustomerRegistered) -> None:
    await apply_profile(session, data)
    # A first purchase may have been consumed before the registration (different topics).
    s = settings(session)
    await refresh_fact_touches(session, data.customer_id, data.registered_at, default_tz=s.default_time_zone, default_country=s.default_country)


@handlers.on("customer.updated")
async def on_updated(session: AsyncSession, event: Event, data: CustomerUpdated) -> None:
    await apply_profile(session, data)
    if {"birth_date", "custom_dates", "country", "time_zone"} & set(data.changed):
        s = settings(session)
        await refresh_fact_touches(session, data.customer_id, data.updated_at or event.time, default_tz=s.default_time_zone, default_country=s.default_country)


@handlers.on("customer.consent.changed")
async def on_consent(session: AsyncSession, event: Event, data: ConsentChanged) -> None:
    await apply_consent(session, data, data.changed_at)


@handlers.on("customer.erased")
async def on_erased(session: AsyncSession, event: Event, data: CustomerErased) -> None:
    await erase(session, data.customer_id, data.erased_at)


@handlers.on_batch("loyalty.purchase.recorded")
async def on_purchases(session: AsyncSession, batch: list[tuple[Event, Any]]) -> None:
    """A first purchase enrols the customer; a batch of them is one enrolment of all (an import
    of historical purchases brings thousands at once)."""
    firsts = [d for _, d in batch if isinstance(d, PurchaseRecorded) and d.first_purchase]
    if firsts:
        await trigger_many(session, "first_purchase", [EnrolRequest(d.customer_id, d.occurred_at, "first_purchase", str(d.purchase_id)) for d in firsts])


@handlers.on("referral.made")
async def on_referral(session: AsyncSession, event: Event, data: ReferralMade) -> None:
    await trigger(session, "referral_made", data.advocate_id, data.made_at, str(data.referral_id), {"referee_id": str(data.referee_id)})


@handlers.on("lead.converted")
async def on_lead_converted(session: AsyncSession, event: Event, data: LeadConverted) -> None:
    await schedule_lead_update(session, data)


@handlers.on_batch("survey.response.submitted")
async def on_responses(session: AsyncSession, batch: list[tuple[Event, Any]]) -> None:
    """The unhappy responses enrol their customers in service recovery, all in one enrolment;
    the recovery calls are decided at the end of the batch (`decide_recovery_calls`)."""
    requests = [
        EnrolRequest(
            d.customer_id,
            d.submitted_at,
            "detractor_response",
            str(d.response_id),
            {"response_id": str(d.response_id), "survey_id": str(d.survey_id), "nps": d.nps, "csat": str(d.csat) if d.csat is not None else None},
        )
        for _, d in unhappy(batch)
        if d.customer_id is not None
    ]
    if requests:
        await trigger_many(session, "detractor_response", requests)


def unhappy(batch: list[tuple[Event, Any]]) -> list[tuple[Event, ResponseSubmitted]]:
    return [(e, d) for e, d in batch if isinstance(d, ResponseSubmitted) and d.customer_id is not None and is_unhappy(d)]


@handlers.after_handlers
async def decide_recovery_calls(session: AsyncSession, batch: list[tuple[Event, Any]]) -> None:
    """Reaction: the recovery calls of the batch's unhappy responses become tasks at once, not
    at the next dispatch run, in one decision at the latest response's time. It runs last and
    once, so it locks the customers, then the team members, each set in one statement, as a
    dispatch run does: decided response by response, between other handlers that wait on
    touches a dispatch run holds, they deadlocked against it. A customer whose facts (consents)
    have not arrived yet is left to the dispatch job, a moment later."""
    responses = [d for _, d in unhappy(batch)]
    if not responses:
        return
    known = await repo.profiles(session, {d.customer_id for d in responses if d.customer_id is not None})
    if not known:
        return
    s = settings(session)
    now = max(d.submitted_at for d in responses)
    await decide_due(session, now, limit=100 * len(known), default_tz=s.default_time_zone, default_assignee=s.default_assignee, customer_ids=sorted(known))


@handlers.on("analytics.customer.at_risk")
async def on_at_risk(session: AsyncSession, event: Event, data: CustomerAtRisk) -> None:
    await trigger(session, "at_risk", data.customer_id, data.detected_at, data.detected_at.date().isoformat(), {"reason": data.reason})


@handlers.on("survey.invitation.created")
async def on_invitation(session: AsyncSession, event: Event, data: InvitationCreated) -> None:
    await schedule_invitation(session, data, event.time)


CONSUMERS: list[ConsumerSpec] = [ConsumerSpec("triggers", ["wafa.customer", "wafa.loyalty", "wafa.survey", "wafa.analytics"], handlers)]
