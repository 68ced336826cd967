"""Tables of the survey service.

A survey has numbered versions; a published version is immutable (its questions are the
contract responses are validated against). Invitations point at the version they invite to;
responses keep their raw answers (JSONB) plus one row per scored item in `response_values`
so results are computed set-based in SQL.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from wafa_shared.db import new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()


class Survey(Base):
    __tablename__ = "surveys"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # transactional | relationship
    objective: Mapped[str | None] = mapped_column(Text, nullable=True)
    target: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    trigger: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    invitation_ttl_days: Mapped[int] = mapped_column(Integer, default=14)
    reminder_after_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_reminders: Mapped[int] = mapped_column(Integer, default=1)
    fatigue_days: Mapped[int] = mapped_column(Integer, default=30)
    latest_version: Mapped[int] = mapped_column(Integer, default=1)
    published_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SurveyVersion(Base):
    __tablename__ = "survey_versions"
    __table_args__ = (UniqueConstraint("survey_id", "number", name="uq_survey_versions_survey_number"),)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    survey_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # draft | published | superseded
    title: Mapped[dict[str, str]] = mapped_column(JSONB)
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SamplingPlan(Base):
    __tablename__ = "sampling_plans"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    survey_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(20))  # simple | stratified
    confidence: Mapped[Decimal] = mapped_column(Numeric(6, 4))
    margin_of_error: Mapped[Decimal] = mapped_column(Numeric(6, 4))
    expected_response_rate: Mapped[Decimal] = mapped_column(Numeric(6, 4))
    population_size: Mapped[int] = mapped_column(Integer)
    required_responses: Mapped[int] = mapped_column(Integer)
    invitations_needed: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(BigInteger)
    allocation: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict)
    selected: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Invitation(Base):
    __tablename__ = "invitations"
    __table_args__ = (
        Index("ix_invitations_customer_created", "customer_id", "created_at"),
        Index("ix_invitations_survey_status", "survey_id", "status"),
        UniqueConstraint("survey_id", "source_event", name="uq_invitations_survey_source_event"),
    )
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    survey_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("survey_versions.id"))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    status: Mapped[str] = mapped_column(String(20))  # scheduled | sent | started | completed | expired
    segment: Mapped[str | None] = mapped_column(String(100), nullable=True)
    trigger: Mapped[str | None] = mapped_column(String(100), nullable=True)
    source_event: Mapped[str | None] = mapped_column(String(100), nullable=True)
    sampling_plan_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    send_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_contact_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Response(Base):
    __tablename__ = "responses"
    __table_args__ = (Index("ix_responses_survey_status_submitted", "survey_id", "status", "submitted_at"),)
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    survey_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("survey_versions.id"))
    version_number: Mapped[int] = mapped_column(Integer)
    invitation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("invitations.id"), nullable=True, unique=True)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(20))  # partial | completed
    language: Mapped[str] = mapped_column(String(10))
    segment: Mapped[str | None] = mapped_column(String(100), nullable=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSONB)
    demographics: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict)
    nps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    csat: Mapped[Decimal | None] = mapped_column(Numeric(6, 3), nullable=True)
    ces: Mapped[Decimal | None] = mapped_column(Numeric(6, 3), nullable=True)
    erased: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ResponseValue(Base):
    """One scored item of a completed response: a numeric answer (`num`) or a chosen option
    (`choice`); attribute questions give two rows (`part` = satisfaction / importance)."""

    __tablename__ = "response_values"
    __table_args__ = (Index("ix_response_values_survey_question", "survey_id", "question_id"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    response_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), index=True)
    survey_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    question_id: Mapped[str] = mapped_column(String(100))
    part: Mapped[str] = mapped_column(String(20), default="value")
    num: Mapped[Decimal | None] = mapped_column(Numeric(18, 6), nullable=True)
    choice: Mapped[str | None] = mapped_column(String(200), nullable=True)


class FatigueMark(Base):
    """Last invitation time per customer, the survey-fatigue throttle's lock point."""

    __tablename__ = "fatigue_marks"
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    last_invited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CustomerTier(Base):
    """The loyalty tier of each customer (from `loyalty.tier.changed`): the default segment of
    an invitation, so results can be filtered and cross-tabbed by tier."""

    __tablename__ = "customer_tiers"
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    tier: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
