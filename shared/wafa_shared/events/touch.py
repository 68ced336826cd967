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


@event
class PlanEnrolled(EventData):
    """A customer entered a plan, or its control group (`holdout`: no plan touches), so
    analytics can measure the plan's uplift against the holdout."""

    event_type: ClassVar[str] = "touch.plan.enrolled"
    topic: ClassVar[str] = TOPIC
    enrolment_id: uuid.UUID
    customer_id: uuid.UUID
    plan_id: uuid.UUID
    plan_key: str
    holdout: bool
    trigger: str
    enrolled_at: datetime


@event
class ReferralObtained(_Touch):
    """A call task ended with a referral; the customer service creates the referral and lead."""

    event_type: ClassVar[str] = "touch.referral.obtained"
    task_id: uuid.UUID
    referee_name: str
    referee_email: str | None = None
    referee_phone: str | None = None
    obtained_at: datetime
