"""Use cases of referrals and leads: refer someone by code (with the fraud checks of issue 12),
route leads to team members, and convert a lead on its first purchase."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wafa_customer import repository as repo
from wafa_customer.domain import contact
from wafa_customer.domain.lead_routing import Member, choose_owner
from wafa_customer.domain.referral_checks import Person, Rejection, check_referral
from wafa_customer.models import Customer, Referral
from wafa_customer.schemas import CustomerIn
from wafa_customer.service import contact_profile, create_customer, invalid, normalize_phone_field, record_lifecycle
from wafa_shared.events.customer import CustomerUpdated, LeadAssigned, LeadConverted, ReferralMade, ReferralRejected
from wafa_shared.outbox import publish
from wafa_shared.problems import ProblemError


async def route_lead(session: AsyncSession, *, country: str | None, language: str | None, now: datetime) -> str | None:
    """The team member a new lead goes to (rule, then round-robin), marked as assigned now."""
    members = await repo.active_team_members(session)
    owner = choose_owner([Member(m.id, m.countries, m.languages, m.last_assigned_seq) for m in members], country=country, language=language)
    if owner is not None:
        await repo.mark_assigned(session, owner, now)
    return owner


async def announce_assignment(session: AsyncSession, lead: Customer, now: datetime) -> None:
    if lead.owner:
        await publish(session, LeadAssigned(customer_id=lead.id, owner=lead.owner, assigned_at=now), subject=lead.id)


async def register(session: AsyncSession, body: CustomerIn, *, now: datetime, default_country: str) -> Customer:
    """Create a customer; a lead without an owner is routed to a team member (`lead.assigned`)."""
    if body.lifecycle == "lead" and body.owner is None:
        owner = await route_lead(session, country=body.country, language=body.language, now=now)
        body = body.model_copy(update={"owner": owner})
        c = await create_customer(session, body, now=now, default_country=default_country)
        await announce_assignment(session, c, now)
        return c
    return await create_customer(session, body, now=now, default_country=default_country)


async def assign_lead(session: AsyncSession, lead: Customer, owner: str, now: datetime) -> None:
    if lead.owner == owner:
        return
    lead.owner = owner
    lead.updated_at = now
    await repo.mark_assigned(session, owner, now)
    await session.flush()
    await announce_assignment(session, lead, now)
    await publish(session, CustomerUpdated(**contact_profile(lead), changed=["owner"], updated_at=now), subject=lead.id)


class Refused(ProblemError):
    """A referral the fraud checks refused; the refusal itself is recorded (see `refer`)."""


def _refusal(rejection: Rejection, referral_id: uuid.UUID, existing: uuid.UUID | None) -> Refused:
    slug = rejection.reason.replace("_", "-")
    ext: dict[str, Any] = {"reason": rejection.reason, "referral_id": str(referral_id)}
    if existing is not None:
        ext["existing_customer_id"] = str(existing)
    return Refused(rejection.status, slug, rejection.detail, **ext)


async def record_rejection(
    sessions: async_sessionmaker[AsyncSession],
    *,
    advocate_id: uuid.UUID,
    rejection: Rejection,
    referee_name: str | None,
    referee_email: str | None,
    referee_phone: str | None,
    existing: uuid.UUID | None,
    now: datetime,
) -> uuid.UUID:
    """Record a refused referral and publish `referral.rejected`, in its own transaction: the
    request that caused it is answered with an error and changes nothing else."""
    rid = uuid.uuid4()
    async with sessions() as s, s.begin():
        s.add(
            Referral(
                id=rid,
                advocate_id=advocate_id,
                status="rejected",
                reason=rejection.reason,
                detail=rejection.detail,
                referee_name=referee_name,
                referee_email=referee_email,
                referee_phone=referee_phone,
                created_at=now,
            )
        )
        await s.flush()
        await publish(
            s,
            ReferralRejected(
                referral_id=rid, advocate_id=advocate_id, reason=rejection.reason, detail=rejection.detail, existing_customer_id=existing, rejected_at=now
            ),
            subject=advocate_id,
        )
    return rid


async def refer(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    *,
    code: str,
    referee: CustomerIn,
    now: datetime,
    default_country: str,
    limit: int,
    period_days: int,
) -> tuple[Referral, Customer]:
    """Refer `referee` with the advocate's `code`: the referee becomes a lead (routed to a team
    member), the referral is recorded, `referral.made` (and `lead.assigned`) are published.

    Errors: 404 `unknown-referral-code`; 422 when neither email nor phone is given; refusals by the
    fraud checks (422 self-referral, 409 already known, 429 advocate limit) are recorded with
    their reason and published as `referral.rejected`, and nothing else changes.
    """
    advocate = await repo.customer_by_referral_code(session, code, for_update=True)
    if advocate is None or advocate.erased_at is not None:
        raise ProblemError(404, "unknown-referral-code", f"No customer has the referral code {code!r}.")
    if referee.email is None and not referee.phone:
        raise invalid("referee", "give the referee's email or phone so they can be contacted")
    phone = normalize_phone_field(referee.phone, referee.country or advocate.country, default_country, field="referee.phone")
    email_canonical = contact.canonical_email(referee.email) if referee.email else None
    matches = await repo.customers_matching_contact(session, email_canonical, phone)
    others = [m for m in matches if m.id != advocate.id]
    existing = next((m for m in others if m.lifecycle in ("customer", "former")), others[0] if others else None)
    recent = await repo.count_referrals_since(session, advocate.id, now - timedelta(days=period_days))
    rejection = check_referral(
        Person(advocate.email_canonical, advocate.phone),
        Person(email_canonical, phone),
        existing_lifecycle=existing.lifecycle if existing else None,
        recent_referrals=recent,
        limit=limit,
        period_days=period_days,
    )
    if rejection is not None:
        advocate_id, existing_id = advocate.id, existing.id if existing else None
        await session.rollback()  # release the advocate's lock; nothing of this request stays
        name = " ".join(p for p in (referee.given_name, referee.family_name) if p) or None
        rid = await record_rejection(
            sessions,
            advocate_id=advocate_id,
            rejection=rejection,
            referee_name=name,
            referee_email=referee.email,
            referee_phone=phone,
            existing=existing_id,
            now=now,
        )
        raise _refusal(rejection, rid, existing_id)
    lead_in = referee.model_copy(update={"lifecycle": "lead", "kind": "person", "phone": phone, "country": referee.country or advocate.country})
    if lead_in.owner is None:
        lead_in = lead_in.model_copy(update={"owner": await route_lead(session, country=lead_in.country, language=lead_in.language, now=now)})
    lead = await create_customer(session, lead_in, now=now, default_country=default_country, referred_by=advocate.id, lifecycle_reason="referral")
    referral = Referral(
        id=uuid.uuid4(),
        advocate_id=advocate.id,
        referee_id=lead.id,
        status="made",
        referee_name=lead.display_name,
        referee_email=lead.email,
        referee_phone=lead.phone,
        created_at=now,
    )
    session.add(referral)
    await session.flush()
    await publish(
        session,
        ReferralMade(referral_id=referral.id, advocate_id=advocate.id, referee_id=lead.id, made_at=now, referral_code=advocate.referral_code),
        subject=lead.id,
    )
    await announce_assignment(session, lead, now)
    return referral, lead


async def convert_on_purchase(session: AsyncSession, c: Customer, when: datetime) -> None:
    """A lead or prospect that buys becomes a customer: `lead.converted`, naming the referral
    that brought them (if any), which is marked converted."""
    if c.lifecycle not in ("lead", "prospect") or c.erased_at is not None:
        return
    await record_lifecycle(session, c, "customer", "first purchase", when)
    referral = await repo.referral_of_referee(session, c.id)
    if referral is not None and referral.status == "made":
        referral.status = "converted"
        referral.converted_at = when
    await session.flush()
    await publish(
        session,
        LeadConverted(
            customer_id=c.id,
            referral_id=referral.id if referral else None,
            advocate_id=referral.advocate_id if referral else None,
            converted_at=when,
        ),
        subject=c.id,
    )
