"""Events the loyalty service consumes (its handlers); what it publishes is in
`wafa_shared.events.loyalty`.

All handlers are deterministic given the event and the database (the inbox applies each
event once; a replay changes nothing): "now" is the time the event states (registered_at,
made_at, converted_at, submitted_at), never the wall clock; maturation is left to the job.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from wafa_loyalty import members, programs, referrals
from wafa_loyalty import points_ledger as ledger
from wafa_loyalty.models import Program
from wafa_shared.events import Event
from wafa_shared.events.customer import CustomerErased, CustomerRegistered, CustomerUpdated, LeadConverted, ReferralMade, ReferralRejected
from wafa_shared.events.loyalty import PointsEarned
from wafa_shared.events.survey import ResponseSubmitted
from wafa_shared.inbox import ConsumerSpec, Handlers
from wafa_shared.outbox import publish

handlers = Handlers()


@handlers.on("customer.registered")
async def on_registered(session: AsyncSession, event: Event, data: CustomerRegistered) -> None:
    """Auto-enrolment into the default program, keeping the birth date for birthday multipliers."""
    await programs.enrol(session, data.customer_id, data.birth_date, data.registered_at)


@handlers.on("customer.updated")
async def on_updated(session: AsyncSession, event: Event, data: CustomerUpdated) -> None:
    if "birth_date" in data.changed:
        await programs.update_birth_date(session, data.customer_id, data.birth_date)


@handlers.on("customer.erased")
async def on_erased(session: AsyncSession, event: Event, data: CustomerErased) -> None:
    await members.erase(session, data.customer_id)


@handlers.on("referral.made")
async def on_referral(session: AsyncSession, event: Event, data: ReferralMade) -> None:
    await referrals.on_referral(session, data.referral_id, data.advocate_id, data.referee_id, data.made_at, data.made_at)


@handlers.on("referral.rejected")
async def on_referral_rejected(session: AsyncSession, event: Event, data: ReferralRejected) -> None:
    await referrals.on_rejected(session, data.referral_id, data.advocate_id, data.reason, data.detail, data.rejected_at)


@handlers.on("lead.converted")
async def on_lead_converted(session: AsyncSession, event: Event, data: LeadConverted) -> None:
    if data.referral_id is not None and data.advocate_id is not None:
        await referrals.on_referral(session, data.referral_id, data.advocate_id, data.customer_id, data.converted_at, data.converted_at)


@handlers.on("survey.response.submitted")
async def on_survey_response(session: AsyncSession, event: Event, data: ResponseSubmitted) -> None:
    """The survey-completion bonus (if the program has one), redeemable at once."""
    if data.customer_id is None:
        return
    member = await ledger.lock_member(session, data.customer_id)
    if member is None or member.erased:
        return
    program = await session.get(Program, member.program_id)
    bonus = program.rules.get("survey_bonus") if program else None
    if program is None or not bonus:
        return
    points = await ledger.capped(session, member.customer_id, "survey_completion", Decimal(str(bonus)), data.submitted_at, program.rules.get("caps") or {})
    if points <= 0:
        return
    ledger.earn(
        session,
        member,
        program,
        points,
        rule="survey_completion",
        earned_at=data.submitted_at,
        now=data.submitted_at,
        pending_days=0,
        reason=f"survey {data.survey_id}",
    )
    await publish(
        session,
        PointsEarned(customer_id=member.customer_id, points=points, rule="survey_completion", occurred_at=data.submitted_at),
        subject=member.customer_id,
    )


CONSUMERS: list[ConsumerSpec] = [ConsumerSpec("members", ["wafa.customer", "wafa.survey"], handlers)]
