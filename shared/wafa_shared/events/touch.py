"""Events of the touch scheduler (topic `wafa.touch`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from wafa_shared.events.catalog import event
from wafa_shared.events.envelope import EventData

TOPIC = "wafa.touch"


class _Touch(EventData):
    topic: ClassVar[str] = TOPIC
    touch_id: uuid.UUID
    customer_id: uuid.UUID
    plan_id: uuid.UUID | None = None
    channel: str


@event
class TouchScheduled(_Touch):
    event_type: ClassVar[str] = "touch.scheduled"
    due_at: datetime


@event
class TouchSent(_Touch):
    event_type: ClassVar[str] = "touch.sent"
    sent_at: datetime
    cost: Decimal | None = None


@event
class TouchCompleted(_Touch):
    event_type: ClassVar[str] = "touch.completed"
    outcome: str
    completed_at: datetime
    cost: Decimal | None = None


@event
class TouchSkipped(_Touch):
    event_type: ClassVar[str] = "touch.skipped"
    reason: str
    skipped_at: datetime


@event
class TaskAssigned(_Touch):
    event_type: ClassVar[str] = "task.assigned"
    task_id: uuid.UUID
    assignee: str
    due_at: datetime
