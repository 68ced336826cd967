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
