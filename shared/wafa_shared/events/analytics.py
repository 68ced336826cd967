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
    """A customer looks likely to lapse; the touch scheduler starts a win-back plan.

    Published once per customer and reason. `reason` is `low-p-alive` (a CLV fit estimated
    P(alive) below the threshold; `probability_alive`, `clv` and `fit_id` are set) or
    `valuable-detractor` (a customer with high lifetime revenue answered NPS 0-6; `nps` is set)."""

    event_type: ClassVar[str] = "analytics.customer.at_risk"
    topic: ClassVar[str] = TOPIC
    customer_id: uuid.UUID
    reason: str
    probability_alive: Decimal | None = None
    detected_at: datetime
    nps: int | None = None
    clv: Decimal | None = None
    fit_id: uuid.UUID | None = None
