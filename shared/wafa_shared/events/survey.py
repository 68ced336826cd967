"""Events of the survey service (topic `wafa.survey`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from wafa_shared.events.catalog import event
from wafa_shared.events.envelope import EventData

TOPIC = "wafa.survey"


class _Survey(EventData):
    topic: ClassVar[str] = TOPIC


@event
class InvitationCreated(_Survey):
    """An invitation exists; the touch scheduler delivers it through the customer's channel."""

    event_type: ClassVar[str] = "survey.invitation.created"
    invitation_id: uuid.UUID
    survey_id: uuid.UUID
    customer_id: uuid.UUID
    url: str
    expires_at: datetime
    trigger: str | None = None
    survey_kind: str | None = None


@event
class InvitationReminderDue(_Survey):
    """An invitation is still unanswered after the survey's reminder delay; the touch scheduler
    re-sends the link it got with `survey.invitation.created` (same `invitation_id`)."""

    event_type: ClassVar[str] = "survey.invitation.reminder_due"
    invitation_id: uuid.UUID
    survey_id: uuid.UUID
    customer_id: uuid.UUID
    reminder: int
    expires_at: datetime


@event
class ResponseSubmitted(_Survey):
    """A completed response with its computed scores (absent scores were not asked)."""

    event_type: ClassVar[str] = "survey.response.submitted"
    response_id: uuid.UUID
    survey_id: uuid.UUID
    survey_kind: str
    customer_id: uuid.UUID | None = None
    nps: int | None = None
    nps_category: str | None = None
    csat: Decimal | None = None
    ces: Decimal | None = None
    attributes: dict[str, dict[str, Decimal]] = {}
    submitted_at: datetime
    survey_version: int | None = None
    invitation_id: uuid.UUID | None = None
    segment: str | None = None
