"""One-off touches outside any plan: survey invitations created by the survey service, and the
advocate's "your referral became a customer" update. Idempotent: the touch id derives from
the source event's business id."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wafa_shared.events.customer import LeadConverted
from wafa_shared.events.survey import InvitationCreated
from wafa_shared.events.touch import TouchScheduled
from wafa_shared.outbox import publish
from wafa_touch import repository as repo
from wafa_touch.definitions import Definition, definition_ids

INVITATION_PRIORITY = 60
LEAD_UPDATE_PRIORITY = 50
INVITATION = Definition("survey-invitation", "survey-invitation", referral_cta=False)
LEAD_UPDATE = Definition("referred-lead-converted", "referred-lead-update", referral_cta=True)
DEFINITIONS = (INVITATION, LEAD_UPDATE)


async def schedule_one_off(
    session: AsyncSession,
    *,
    touch_id: uuid.UUID,
    customer_id: uuid.UUID,
    definition: Definition,
    channel: str,
    priority: int,
    at: datetime,
    window_end: datetime,
    payload: dict[str, Any],
) -> None:
    [definition_id] = await definition_ids(session, [definition])
    row = {
        "id": touch_id,
        "customer_id": customer_id,
        "plan_id": None,
        "enrolment_id": None,
        "definition_id": definition_id,
        "seq": 0,
        "channel": channel,
        "priority": priority,
        "status": "scheduled",
        "reason": None,
        "due_at": at,
        "original_due_at": at,
        "window_end": window_end,
        "sent_at": None,
        "completed_at": None,
        "attempts": 0,
        "next_attempt_at": None,
        "delivery_status": None,
        "payload": payload,
        "scheduled_announced_at": at,  # due at once: announced now, not by the look-ahead job
    }
    await repo.insert_touches(session, [row])
    await publish(session, TouchScheduled(touch_id=touch_id, customer_id=customer_id, channel=channel, due_at=at), subject=customer_id, time=at)


async def schedule_invitation(session: AsyncSession, data: InvitationCreated, at: datetime) -> None:
    """One `survey_invite` touch due at once; the fatigue policy may postpone it at most until
    the invitation expires (or a week)."""
    await schedule_one_off(
        session,
        touch_id=uuid.uuid5(uuid.NAMESPACE_URL, f"wafa:survey-invitation:{data.invitation_id}"),
        customer_id=data.customer_id,
        definition=INVITATION,
        channel="survey_invite",
        priority=INVITATION_PRIORITY,
        at=at,
        window_end=min(data.expires_at, at + timedelta(days=7)),
        payload={"invitation_id": str(data.invitation_id), "survey_id": str(data.survey_id), "url": data.url, "expires_at": data.expires_at.isoformat()},
    )


async def schedule_lead_update(session: AsyncSession, data: LeadConverted) -> None:
    """Tell the advocate their referral became a customer (Advocate Appreciation: "updates on
    the referred lead"), by email, within two weeks."""
    if data.advocate_id is None:
        return
    await schedule_one_off(
        session,
        touch_id=uuid.uuid5(uuid.NAMESPACE_URL, f"wafa:lead-converted:{data.customer_id}"),
        customer_id=data.advocate_id,
        definition=LEAD_UPDATE,
        channel="email",
        priority=LEAD_UPDATE_PRIORITY,
        at=data.converted_at,
        window_end=data.converted_at + timedelta(days=14),
        payload={"referee_id": str(data.customer_id), "referral_id": str(data.referral_id) if data.referral_id else None},
    )
