"""Tables of the touch scheduler service."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text, Time, func, literal_column, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, foreign, mapped_column, relationship

from wafa_shared.db import new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()


class CustomerProfile(Base):
    """Local projection of the customer facts contacts need (from `customer.*` events).
    PII (name, email, phone, birth and custom dates) is dropped on `customer.erased`."""

    __tablename__ = "customer_profiles"
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    birth_date: Mapped[date | None] = mapped_column(Date)
    custom_dates: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    owner: Mapped[str | None] = mapped_column(String(200))
    consents: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    preferred_channel: Mapped[str | None] = mapped_column(String(20))
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Plan(Base):
    __tablename__ = "plans"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    trigger: Mapped[str] = mapped_column(String(40), default="manual")
    repeatable: Mapped[bool] = mapped_column(Boolean, default=False)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    holdout_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    monthly_budget: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    touches: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Enrolment(Base):
    """A customer in a plan (or in its holdout, getting nothing). `dedupe_key` makes triggers
    idempotent: one active enrolment per plan and customer, or per trigger for repeatable plans."""

    __tablename__ = "enrolments"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    plan_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("plans.id"))
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    # MD5 of "plan:customer[:trigger ref]" as a uuid (`enrolment.dedupe_key`): a 16-byte unique key.
    dedupe_key: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), unique=True)
    status: Mapped[str] = mapped_column(String(20))  # active | holdout | unenrolled
    holdout: Mapped[bool] = mapped_column(Boolean, default=False)
    bucket: Mapped[int] = mapped_column(Integer)
    trigger: Mapped[str] = mapped_column(String(60))
    anchor_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    enrolled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TouchDefinition(Base):
    """What a touch says and costs: its plan definition's key, content, referral call to action,
    cost and task SLA. Touches share one row per distinct definition (`digest`, see
    `definitions.digest`) instead of repeating these columns: a year of touches for 100k
    enrolments is 3.3M rows, and each column left out of them is PostgreSQL CPU saved when they
    are written. Rows are never changed or deleted (an edited plan adds new ones)."""

    __tablename__ = "touch_definitions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    def_key: Mapped[str] = mapped_column(String(80))
    content_key: Mapped[str] = mapped_column(String(80))
    key_message: Mapped[str] = mapped_column(Text)
    referral_cta: Mapped[bool] = mapped_column(Boolean)
    cost: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    sla_hours: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Touch(Base):
    """One dated contact. Status: scheduled -> dispatching -> sent | failed; scheduled -> task ->
    completed; or skipped with a reason. `sent_at` set means the customer was contacted (it is
    what the fatigue policy counts)."""

    __tablename__ = "touches"
    __table_args__ = (
        # Scheduled touches by due time (dispatch, announce, upcoming load): a narrow key, and the
        # only index a newly materialised touch enters besides the id and enrolment ones.
        Index("ix_touches_due_scheduled", "due_at", postgresql_where=text("status = 'scheduled'")),
        Index("ix_touches_status_due", "status", "due_at", postgresql_where=text("status <> 'scheduled'")),
        # A customer's touches are found through their enrolments (enrolment ids are time-ordered,
        # so a year of new touches lands on the index's right edge), and one-off touches, which
        # have no enrolment, by customer. An index of every touch by customer cost 2.8 s of
        # PostgreSQL CPU per 3.3M touches written (random places); these two about 1.5 s.
        Index("ix_touches_enrolment", "enrolment_id", postgresql_where=text("enrolment_id IS NOT NULL")),
        Index("ix_touches_one_off_customer", "customer_id", postgresql_where=text("enrolment_id IS NULL")),
        Index("ix_touches_customer_sent", "customer_id", "sent_at", postgresql_where=text("sent_at IS NOT NULL")),
    )
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    plan_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    enrolment_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # None: a one-off touch
    # No foreign key: it would cost a lookup per written touch; definitions are never deleted.
    definition_id: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    channel: Mapped[str] = mapped_column(String(20))  # the definition's, or the customer's preferred one
    priority: Mapped[int] = mapped_column(Integer, default=10)
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    original_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    window_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivery_status: Mapped[str | None] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # When `touch.scheduled` was published: once the touch is due within the look-ahead window
    # (`announce_window_days`), or as it is written when it is due by the announce horizon.
    # NULL: not announced yet.
    scheduled_announced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Loaded with the touches of each query (one more SELECT of their few distinct definitions).
    definition: Mapped[TouchDefinition] = relationship(primaryjoin=lambda: foreign(Touch.definition_id) == TouchDefinition.id, lazy="selectin", viewonly=True)

    @property
    def def_key(self) -> str:
        return self.definition.def_key

    @property
    def content_key(self) -> str:
        return self.definition.content_key

    @property
    def key_message(self) -> str:
        return self.definition.key_message

    @property
    def referral_cta(self) -> bool:
        return self.definition.referral_cta

    @property
    def cost(self) -> Decimal:
        return self.definition.cost

    @property
    def sla_hours(self) -> int:
        return self.definition.sla_hours


# Status tests written literally, so that a generic plan can prove the partial indexes'
# predicates (it cannot from `status = $1`).
SCHEDULED = Touch.status == literal_column("'scheduled'")
SKIPPED = Touch.status == literal_column("'skipped'")


class AnnounceHorizon(Base):
    """The instant the look-ahead job has announced touches up to (one row). The job reads only
    touches due after it; a touch written or re-dated due on or before it is announced as it is
    written. NULL: the job has not run yet."""

    __tablename__ = "announce_horizon"
    __table_args__ = (CheckConstraint("id = 1", name="ck_announce_horizon_single_row"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    horizon: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Task(Base):
    """A phone call, letter or card for a team member, with a due date from the touch's SLA."""

    __tablename__ = "tasks"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    touch_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("touches.id"), unique=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    assignee: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | completed | cancelled
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TeamMember(Base):
    __tablename__ = "team_members"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    assigned_count: Mapped[int] = mapped_column(BigInteger, default=0)


class ChannelEndpoint(Base):
    """The channel partner endpoint of a message channel and the secret our messages are
    signed with (Standard Webhooks); partners sign their delivery receipts with it too."""

    __tablename__ = "channel_endpoints"
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FatiguePolicyRow(Base):
    __tablename__ = "fatigue_policy"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    max_per_7d: Mapped[int] = mapped_column(Integer)
    max_per_30d: Mapped[int] = mapped_column(Integer)
    min_gap_hours: Mapped[int] = mapped_column(Integer)
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)
    respect_preferred: Mapped[bool] = mapped_column(Boolean)
    exempt_priority: Mapped[int] = mapped_column(Integer)
    default_time_zone: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DispatchAttempt(Base):
    __tablename__ = "dispatch_attempts"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    touch_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DeliveryReceipt(Base):
    __tablename__ = "delivery_receipts"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    touch_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("touches.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    webhook_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
