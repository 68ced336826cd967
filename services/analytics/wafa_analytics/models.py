"""Tables of the analytics service: a read model fed by the other services' events, keyed by
the producers' natural ids (so a re-published event changes nothing), daily aggregates kept
current on ingestion, and what analytics computes itself (CLV fits, alerts, goals)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Float, Index, Integer, Numeric, String, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from wafa_shared.db import new_metadata

MONEY = Numeric(18, 4)


class Base(DeclarativeBase):
    metadata = new_metadata()


class Customer(Base):
    """One customer as analytics sees it. `display_name`/`email` are PII, dropped on erasure."""

    __tablename__ = "a_customers"
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[str | None] = mapped_column(String(20))
    registered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    referred_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    display_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    tier: Mapped[str | None] = mapped_column(String(50))
    tier_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_purchase_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    last_purchase_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    purchase_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    revenue: Mapped[Decimal] = mapped_column(MONEY, default=0, server_default="0")


class Purchase(Base):
    __tablename__ = "a_purchases"
    purchase_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    channel: Mapped[str | None] = mapped_column(String(50))
    # The customer's previous two purchases (order: time, then id), maintained on ingestion, so
    # "buyers" and "repeat buyers" of a period are counts over one index range, not a group-by.
    prev_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    prev2_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        Index("ix_a_purchases_occurred_at", "occurred_at", postgresql_include=["customer_id", "currency", "amount", "prev_at", "prev2_at"]),
        Index("ix_a_purchases_customer_occurred", "customer_id", "occurred_at"),
    )


class Spell(Base):
    """A run of activity: a customer is active at t (bought in the `active_window_days` before t)
    exactly when start_at < t <= end_at for one of his spells. Purchases closer than the window
    merge into one spell (start = first purchase, end = last purchase + window). Counting active
    customers at an instant reads spells, not purchases."""

    __tablename__ = "a_spells"
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    start_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    end_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_a_spells_start_at", "start_at", postgresql_include=["end_at"]),)


class Refund(Base):
    __tablename__ = "a_refunds"
    refund_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    purchase_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class DailyAggregate(Base):
    """Orders, revenue and refunds per UTC day and currency, updated as events arrive."""

    __tablename__ = "a_daily"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    orders: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    revenue: Mapped[Decimal] = mapped_column(MONEY, default=0, server_default="0")
    refunds: Mapped[Decimal] = mapped_column(MONEY, default=0, server_default="0")


class Response(Base):
    __tablename__ = "a_responses"
    response_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    survey_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    survey_kind: Mapped[str] = mapped_column(String(50))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    nps: Mapped[int | None] = mapped_column(Integer)
    csat: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    ces: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    csi: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Invitation(Base):
    __tablename__ = "a_invitations"
    invitation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    survey_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Touch(Base):
    """A touch's latest known state. `status` only moves forward (scheduled < sent < done)."""

    __tablename__ = "a_touches"
    touch_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    plan_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    channel: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20))
    rank: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(200))
    cost: Mapped[Decimal | None] = mapped_column(MONEY)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Enrolment(Base):
    """A customer's entry into a touch plan, or into its control group (`holdout`)."""

    __tablename__ = "a_enrolments"
    enrolment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    plan_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    plan_key: Mapped[str | None] = mapped_column(String(100))
    holdout: Mapped[bool] = mapped_column(Boolean)
    enrolled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Referral(Base):
    __tablename__ = "a_referrals"
    referral_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    advocate_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    referee_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    made_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Redemption(Base):
    __tablename__ = "a_redemptions"
    redemption_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    points: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    cost: Mapped[Decimal | None] = mapped_column(MONEY)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Task(Base):
    """A call-centre task (phone, letter, card touch) from `task.assigned`; it is done when its
    touch is completed or skipped."""

    __tablename__ = "a_tasks"
    task_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    touch_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    channel: Mapped[str] = mapped_column(String(50))
    assignee: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class PointsMovement(Base):
    """A change of customers' outstanding points, keyed by its event id: earned (+, also while
    pending), referral bonus held (+) or revoked (-), redeemed (-), expired (-)."""

    __tablename__ = "a_points"
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(String(20))
    delta: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_a_points_occurred_at", "occurred_at", postgresql_include=["delta", "kind"]),)


class ClvFit(Base):
    """A CLV model fit: requested, then run by the `clv-fit` job with progress; results stored."""

    __tablename__ = "a_clv_fits"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    status: Mapped[str] = mapped_column(String(20))  # queued | running | done | failed
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    horizon_months: Mapped[int] = mapped_column(Integer)
    annual_discount_rate: Mapped[Decimal] = mapped_column(Numeric(8, 6))
    currency: Mapped[str] = mapped_column(String(3))
    params: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ClvCustomer(Base):
    __tablename__ = "a_clv_customers"
    fit_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    x: Mapped[int] = mapped_column(Integer)
    t_x: Mapped[float] = mapped_column(Float)
    t_obs: Mapped[float] = mapped_column(Float)
    monetary: Mapped[float] = mapped_column(Float)
    p_alive: Mapped[float] = mapped_column(Float)
    expected_purchases: Mapped[float] = mapped_column(Float)
    expected_spend: Mapped[float] = mapped_column(Float)
    clv: Mapped[float] = mapped_column(Float)
    loyalty_index: Mapped[float] = mapped_column(Float)


class AtRisk(Base):
    """An at-risk signal already published (once per customer and reason)."""

    __tablename__ = "a_at_risk"
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    reason: Mapped[str] = mapped_column(String(50), primary_key=True)
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Goal(Base):
    __tablename__ = "a_goals"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    kpi: Mapped[str] = mapped_column(String(50))
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    mode: Mapped[str] = mapped_column(String(20))  # absolute | relative
    target: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    segment: Mapped[str | None] = mapped_column(String(50))
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
