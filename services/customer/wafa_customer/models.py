"""Tables of the customer service.

`customers` is the system of record of who the customers are (persons, companies and
intermediaries). Behavioural facts (spend, purchases, tier, NPS band) are copies kept current
by consuming loyalty and survey events, so segments can be evaluated in one SQL statement.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    Time,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from wafa_shared.db import new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="person")
    lifecycle: Mapped[str] = mapped_column(String(20), default="customer")
    owner: Mapped[str | None] = mapped_column(String(100))
    company_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("customers.id"))

    given_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    display_name: Mapped[str | None] = mapped_column(String(300))
    search_name: Mapped[str | None] = mapped_column(String(400))
    email: Mapped[str | None] = mapped_column(String(320))
    email_canonical: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[str | None] = mapped_column(String(35))
    country: Mapped[str | None] = mapped_column(String(2))
    city: Mapped[str | None] = mapped_column(String(200))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    birth_date: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(20))
    age_band: Mapped[str | None] = mapped_column(String(20))
    income_band: Mapped[str | None] = mapped_column(String(20))
    household_size: Mapped[int | None] = mapped_column(Integer)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    custom_dates: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list, server_default=text("'{}'"))

    preferred_channel: Mapped[str | None] = mapped_column(String(10))
    quiet_hours_start: Mapped[time | None] = mapped_column(Time)
    quiet_hours_end: Mapped[time | None] = mapped_column(Time)

    referral_code: Mapped[str] = mapped_column(String(16))
    referred_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    first_purchase_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_purchase_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    purchase_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    total_spend: Mapped[Decimal] = mapped_column(Numeric(18, 4), default=Decimal(0), server_default="0")
    tier: Mapped[str | None] = mapped_column(String(50))
    nps_band: Mapped[str | None] = mapped_column(String(20))

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("uq_customers_email", "email", unique=True),
        Index("uq_customers_referral_code", "referral_code", unique=True),
        Index("ix_customers_email_canonical", "email_canonical"),
        Index("ix_customers_phone", "phone", postgresql_ops={"phone": "text_pattern_ops"}),
        Index("ix_customers_search_name", "search_name", postgresql_ops={"search_name": "text_pattern_ops"}),
        Index("ix_customers_email_prefix", "email", postgresql_ops={"email": "text_pattern_ops"}),
        Index("ix_customers_created", "created_at", "id"),
        Index("ix_customers_company", "company_id"),
        Index("ix_customers_lifecycle_owner", "lifecycle", "owner"),
    )


class ExternalId(Base):
    """An id of the customer in another system (POS, e-commerce, CRM); unique per source."""

    __tablename__ = "customer_external_ids"

    source: Mapped[str] = mapped_column(String(50), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("customers.id", ondelete="CASCADE"), index=True)


class EndCustomer(Base):
    """An intermediary (retailer, reseller) and one of the end customers it serves: the
    intermediary is the direct customer, the end customer is who uses the product."""

    __tablename__ = "end_customers"

    intermediary_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = _now()


class LifecycleChange(Base):
    __tablename__ = "lifecycle_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Consent(Base):
    """The current consent of a customer for one channel."""

    __tablename__ = "consents"

    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    status: Mapped[str] = mapped_column(String(10))
    source: Mapped[str | None] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConsentChange(Base):
    """Audit of every consent change (never updated or deleted, except by erasure of the source text)."""

    __tablename__ = "consent_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    source: Mapped[str | None] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    changed_by: Mapped[str | None] = mapped_column(String(200))


class FieldDefinition(Base):
    """A custom attribute the business defined; `attributes` of profiles are validated against these."""

    __tablename__ = "field_definitions"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(10))  # string | number | boolean | date | enum
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    options: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list, server_default=text("'{}'"))
    description: Mapped[str | None] = mapped_column(String(500))


class Referral(Base):
    """Who referred whom, or a referral attempt the fraud checks refused (status `rejected`, with reason)."""

    __tablename__ = "referrals"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    advocate_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("customers.id", ondelete="CASCADE"))
    referee_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("customers.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20))  # made | converted | rejected
    reason: Mapped[str | None] = mapped_column(String(50))
    detail: Mapped[str | None] = mapped_column(Text)
    referee_name: Mapped[str | None] = mapped_column(String(300))
    referee_email: Mapped[str | None] = mapped_column(String(320))
    referee_phone: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    converted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_referrals_advocate_created", "advocate_id", "created_at"),
        Index("ix_referrals_referee", "referee_id"),
        Index("ix_referrals_status_created", "status", "created_at", "id"),
    )


class TeamMember(Base):
    """A team member leads are routed to. A member with `countries`/`languages` only gets
    matching leads first (rule); among the candidates, the least recently assigned (round-robin)."""

    __tablename__ = "team_members"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    countries: Mapped[list[str]] = mapped_column(ARRAY(String(2)), default=list, server_default=text("'{}'"))
    languages: Mapped[list[str]] = mapped_column(ARRAY(String(35)), default=list, server_default=text("'{}'"))
    assigned_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_assigned_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Segment(Base):
    __tablename__ = "segments"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # dynamic | static
    rule: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    description: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SegmentMember(Base):
    """Members of a static (manual) segment."""

    __tablename__ = "segment_members"

    segment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True, index=True)
    added_at: Mapped[datetime] = _now()


class ImportJob(Base):
    """A bulk import: its progress while it runs and its per-row error report after."""

    __tablename__ = "import_jobs"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    format: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))  # running | completed | failed
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default=text("'[]'::jsonb"))
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
