"""HTTP models of the touch scheduler."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from wafa_shared.clock import LocalTime
from wafa_touch.domain.timing import TouchDef

Trigger = Literal["manual", "first_purchase", "referral_made", "detractor_response", "at_risk"]


class PlanIn(BaseModel):
    key: str = Field(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9\-]*$", examples=["vip-thank-you"])
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    trigger: Trigger = "manual"
    repeatable: bool = False
    active: bool = True
    holdout_pct: Decimal = Field(Decimal("0"), ge=0, le=100, decimal_places=2, description="Control-group percentage (no plan touches).")
    monthly_budget: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2, description="Most a plan may spend on touches per calendar month.")
    touches: list[TouchDef] = Field(min_length=1, max_length=500)


class PlanUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    trigger: Trigger | None = None
    repeatable: bool | None = None
    active: bool | None = None
    holdout_pct: Decimal | None = Field(None, ge=0, le=100, decimal_places=2)
    monthly_budget: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    touches: list[TouchDef] | None = Field(None, min_length=1, max_length=500)


class PlanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    key: str
    name: str
    description: str
    trigger: str
    repeatable: bool
    builtin: bool
    active: bool
    holdout_pct: Decimal
    monthly_budget: Decimal | None
    touches: list[TouchDef]
    touches_per_year: int = Field(description="How many touches one enrolment materialises.")
    version: int


class EnrolIn(BaseModel):
    customer_id: uuid.UUID
    anchor_at: datetime | None = Field(None, description="Start of the plan (default: now).")


class EnrolmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    plan_id: uuid.UUID
    customer_id: uuid.UUID
    status: str
    holdout: bool
    bucket: int
    trigger: str
    anchor_at: datetime
    enrolled_at: datetime
    ended_at: datetime | None


class TouchOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    customer_id: uuid.UUID
    plan_id: uuid.UUID | None
    def_key: str
    channel: str
    content_key: str
    key_message: str
    referral_cta: bool
    cost: Decimal
    priority: int
    status: str = Field(description="scheduled, dispatching, sent, failed, task, completed or skipped")
    reason: str | None = Field(description="Why skipped or postponed.")
    due_at: datetime | None
    original_due_at: datetime | None
    sent_at: datetime | None
    completed_at: datetime | None
    delivery_status: str | None
    attempts: int


class TaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    touch_id: uuid.UUID
    customer_id: uuid.UUID
    kind: str
    assignee: str
    status: str
    due_at: datetime
    outcome: str | None
    notes: str | None
    completed_at: datetime | None
    created_at: datetime


class Referee(BaseModel):
    display_name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=40)


class TaskCompleteIn(BaseModel):
    outcome: Literal["reached", "voicemail", "no_answer", "declined", "referral_obtained", "done"]
    notes: str | None = Field(None, max_length=4000)
    referral: Referee | None = Field(None, description="Required when the outcome is referral_obtained.")


class FatiguePolicyIO(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    max_per_7d: int = Field(2, ge=1, le=100)
    max_per_30d: int = Field(6, ge=1, le=400)
    min_gap_hours: int = Field(24, ge=0, le=24 * 30)
    quiet_start: LocalTime | None = time(21, 0)
    quiet_end: LocalTime | None = time(9, 0)
    respect_preferred: bool = True
    exempt_priority: int = Field(
        100, ge=0, le=1001, description="Touches at or above this priority (service recovery) are exempt from frequency caps, never from consent."
    )
    default_time_zone: str = Field("Asia/Riyadh", min_length=1, max_length=64)


class ChannelIn(BaseModel):
    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://", examples=["https://sms-partner.example/wafa"])
    secret: str | None = Field(None, pattern=r"^whsec_[A-Za-z0-9+/=]{32,}$", description="Standard Webhooks secret; generated when absent.")


class ChannelOut(BaseModel):
    channel: str
    url: str
    secret: str


class TeamMemberIn(BaseModel):
    active: bool = True


class TeamMemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    active: bool
    assigned_count: int


class ReceiptIn(BaseModel):
    touch_id: uuid.UUID
    status: Literal["delivered", "opened", "clicked", "bounced", "replied"]
    occurred_at: datetime


class ReceiptOut(BaseModel):
    touch_id: uuid.UUID
    status: str
    delivery_status: str


class LoadRow(BaseModel):
    day: date
    channel: str
    touches: int


class OverdueRow(BaseModel):
    assignee: str
    overdue: int
    oldest_due_at: datetime


class SkippedRow(BaseModel):
    reason: str
    touches: int
