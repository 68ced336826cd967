"""The local projection of customer facts (from `customer.*` events) and what consent changes
and erasure do at once to scheduled touches."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_shared.events.customer import ConsentChanged, ContactProfile
from wafa_touch import repository as repo
from wafa_touch.domain.channels import CONSENT_OF, OPT_IN
from wafa_touch.enrolment import publish_skipped
from wafa_touch.models import Touch

PII_FIELDS = ("display_name", "email", "phone", "birth_date", "custom_dates", "owner")


def profile_values(data: ContactProfile) -> dict[str, Any]:
    return {
        "display_name": data.display_name,
        "email": data.email,
        "phone": data.phone,
        "language": data.language,
        "country": (data.country or "")[:2].upper() or None,
        "time_zone": data.time_zone,
        "birth_date": data.birth_date,
        "custom_dates": {k: v.isoformat() for k, v in data.custom_dates.items()},
        "owner": data.owner,
    }


async def apply_profile(session: AsyncSession, data: ContactProfile) -> None:
    """Upsert the customer's facts; an erased customer's PII is never re-filled."""
    existing = await repo.get_profile(session, data.customer_id)
    if existing is not None and existing.erased_at is not None:
        return
    await repo.upsert_profile(session, data.customer_id, profile_values(data))


async def apply_consent(session: AsyncSession, data: ConsentChanged, now: datetime) -> int:
    """Record the consent (and preferred channel / quiet hours when given). A withdrawal skips
    at once every scheduled touch on a channel needing that consent. Returns touches skipped."""
    await repo.upsert_profile(session, data.customer_id, {})
    profile = await repo.get_profile(session, data.customer_id)
    assert profile is not None
    consents = dict(profile.consents or {})
    consents[data.channel] = data.status
    profile.consents = consents
    if data.preferred_channel is not None:
        profile.preferred_channel = data.preferred_channel
    if data.quiet_hours_start is not None and data.quiet_hours_end is not None:
        profile.quiet_start = data.quiet_hours_start
        profile.quiet_end = data.quiet_hours_end
    withdrawn = data.status == "withdrawn" or (data.status != "granted" and data.channel in OPT_IN)
    if not withdrawn:
        return 0
    channels = [c for c, needed in CONSENT_OF.items() if needed == data.channel]
    skipped = await repo.skip_scheduled(session, and_(repo.of_customers([data.customer_id]), Touch.channel.in_(channels)), f"no-consent:{data.channel}")
    await publish_skipped(session, skipped, now)
    return len(skipped)


async def erase(session: AsyncSession, customer_id: uuid.UUID, now: datetime) -> None:
    """Drop the customer's PII, skip every future touch and cancel open tasks."""
    await repo.upsert_profile(session, customer_id, {})
    profile = await repo.get_profile(session, customer_id)
    assert profile is not None
    for f in PII_FIELDS:
        setattr(profile, f, {} if f == "custom_dates" else None)
    profile.erased_at = now
    skipped = await repo.skip_scheduled(session, repo.of_customers([customer_id]), "customer-erased")
    await publish_skipped(session, skipped, now)
    await repo.cancel_open_tasks(session, customer_id)
