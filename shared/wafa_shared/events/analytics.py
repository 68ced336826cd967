"""Events of the analytics service (topic `wafa.analytics`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from wafa_shared.events.catalog import event
from wafa_shared.events.envelope import EventData

TOPIC = "wafa.analytics"


@event
class CustomerAtRisk(EventData):
    """A customer looks likely to lapse; the touch scheduler starts a win-back plan."""

    event_type: ClassVar[str] = "analytics.customer.at_risk"
    topic: ClassVar[str] = TOPIC
    customer_id: uuid.UUID
    reason: str
    probability_alive: Decimal | None = None
    detected_at: datetime
