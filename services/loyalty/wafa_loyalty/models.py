"""Tables of the loyalty service.

The points ledger is three things kept in step inside one transaction, always under a
`SELECT ... FOR UPDATE` of the member row:
- `members` holds the running balances (available, pending) — the row that is locked;
- `point_lots` holds what is left of each earning, so expiry and redemption consume the oldest
  points first (FIFO) and a refund can find the points its purchase produced;
- `ledger_entries` is the append-only history, each entry with the balances after it.
Tier-qualifying credit is separate (`qualifying_credits`): redemption and expiry never touch it.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, false, func, literal_column
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from wafa_shared.db import new_metadata

POINTS = Numeric(20, 4)
MONEY = Numeric(20, 4)


class Base(DeclarativeBase):
    metadata = new_metadata()


class Program(Base):
    __tablename__ = "programs"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    points_name: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    earn_rate: Mapped[Decimal] = mapped_column(POINTS)
    rounding: Mapped[str] = mapped_column(String(20))
    point_value: Mapped[Decimal] = mapped_column(MONEY)
    pending_days: Mapped[int] = mapped_column(Integer)
    expiry_mode: Mapped[str] = mapped_column(String(20))
    expiry_months: Mapped[int | None] = mapped_column(Integer)
    qualification_basis: Mapped[str] = mapped_column(String(20))
    qualification_period: Mapped[str] = mapped_column(String(20))
    downgrade_grace_days: Mapped[int] = mapped_column(Integer)
    negative_balance: Mapped[str] = mapped_column(String(20))
    rules: Mapped[dict[str, Any]] = mapped_column(JSONB)
    is_default: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Tier(Base):
    __tablename__ = "tiers"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    program_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("programs.id"))
    name: Mapped[str] = mapped_column(String(100))
    rank: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[Decimal] = mapped_column(MONEY)
    earn_multiplier: Mapped[Decimal] = mapped_column(POINTS)
    paid: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    __table_args__ = (
        UniqueConstraint("program_id", "rank", name="uq_tiers_program_rank"),
        UniqueConstraint("program_id", "name", name="uq_tiers_program_name"),
    )


class Member(Base):
    __tablename__ = "members"
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    program_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("programs.id"))
    birth_date: Mapped[date | None] = mapped_column(Date)
    tier: Mapped[str | None] = mapped_column(String(100))
    tier_rank: Mapped[int | None] = mapped_column(Integer)
    tier_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    tier_review_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    subscription_tier: Mapped[str | None] = mapped_column(String(100))
    subscription_ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    available: Mapped[Decimal] = mapped_column(POINTS, default=Decimal(0))
    pending: Mapped[Decimal] = mapped_column(POINTS, default=Decimal(0))
    purchases: Mapped[int] = mapped_column(Integer, default=0)
    last_activity_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    erased: Mapped[bool] = mapped_column(Boolean, default=False)
    enrolled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        Index("ix_members_subscription_ends_at", "subscription_ends_at", postgresql_where="subscription_ends_at IS NOT NULL"),
        Index("ix_members_tier_review_at", "tier_review_at", postgresql_where="tier_review_at IS NOT NULL"),
    )


class LedgerEntry(Base):
    """Append-only: never updated, never deleted. `points` is signed for the redeemable balance;
    `pending_delta` for the pending one; the balances after the entry are recorded."""

    __tablename__ = "ledger_entries"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(String(20))  # earn pending mature redeem expire reverse adjust revoke
    points: Mapped[Decimal] = mapped_column(POINTS)
    pending_delta: Mapped[Decimal] = mapped_column(POINTS)
    balance_after: Mapped[Decimal] = mapped_column(POINTS)
    pending_after: Mapped[Decimal] = mapped_column(POINTS)
    rule: Mapped[str | None] = mapped_column(String(50))
    purchase_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    redemption_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    __table_args__ = (Index("ix_ledger_entries_customer", "customer_id", "id"),)


class PointLot(Base):
    """What remains of one earning. State: pending -> available -> (consumed | expired);
    `remaining` falls as points are redeemed, expired or reversed (FIFO by `expires_at`, `id`)."""

    __tablename__ = "point_lots"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    purchase_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    rule: Mapped[str] = mapped_column(String(50))
    points: Mapped[Decimal] = mapped_column(POINTS)
    remaining: Mapped[Decimal] = mapped_column(POINTS)
    state: Mapped[str] = mapped_column(String(20))  # pending | available
    earned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    matures_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        Index("ix_point_lots_customer_open", "customer_id", "state", "expires_at", "id", postgresql_where="remaining > 0"),
        Index("ix_point_lots_matures", "matures_at", postgresql_where="state = 'pending'"),
        Index("ix_point_lots_purchase", "purchase_id"),
    )


# The partial indexes' predicates, written literally: loyalty plans generically
# (`Settings.db_plan_cache_mode`), and a generic plan cannot prove `remaining > $1` implies
# `remaining > 0`, so a bound 0 would turn a lot lookup into a table scan.
LOT_OPEN = PointLot.remaining > literal_column("0")
LOT_PENDING = PointLot.state == literal_column("'pending'")


class QualifyingCredit(Base):
    """Tier-qualifying credit (points, spend or purchase count, per the program's basis),
    dated at the purchase; refunds add negative credit dated at the same purchase."""

    __tablename__ = "qualifying_credits"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    purchase_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    amount: Mapped[Decimal] = mapped_column(POINTS)
    credited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_qualifying_customer_at", "customer_id", "credited_at"),)


class Purchase(Base):
    __tablename__ = "purchases"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(200), unique=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    refunded_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(3))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    channel: Mapped[str | None] = mapped_column(String(50))
    store: Mapped[str | None] = mapped_column(String(100))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    points: Mapped[Decimal] = mapped_column(POINTS)
    qualifying: Mapped[Decimal] = mapped_column(POINTS)
    first_purchase: Mapped[bool] = mapped_column(Boolean)
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Refund(Base):
    __tablename__ = "refunds"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    purchase_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("purchases.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    points_reversed: Mapped[Decimal] = mapped_column(POINTS)
    qualifying_reversed: Mapped[Decimal] = mapped_column(POINTS)
    reason: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Reward(Base):
    __tablename__ = "rewards"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    program_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("programs.id"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))  # discount_voucher free_product gift charity_donation
    cost_points: Mapped[Decimal] = mapped_column(POINTS)
    cost: Mapped[Decimal | None] = mapped_column(MONEY)
    stock: Mapped[int | None] = mapped_column(Integer)
    per_customer_limit: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    min_tier_rank: Mapped[int | None] = mapped_column(Integer)
    coupon_source: Mapped[str] = mapped_column(String(20))  # none | generated | pool
    coupon_valid_days: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Redemption(Base):
    __tablename__ = "redemptions"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    reward_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rewards.id"))
    points: Mapped[Decimal] = mapped_column(POINTS)
    cost: Mapped[Decimal | None] = mapped_column(MONEY)
    coupon_code: Mapped[str | None] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_redemptions_customer_reward", "customer_id", "reward_id"), Index("ix_redemptions_at", "occurred_at"))


class Coupon(Base):
    """A single-use code: issued -> redeemed | expired | voided. Either a reward's voucher
    (generated or drawn from an imported pool) or a bonus-points code (`points`)."""

    __tablename__ = "coupons"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    reward_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("rewards.id"))
    batch_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    points: Mapped[Decimal | None] = mapped_column(POINTS)
    state: Mapped[str] = mapped_column(String(20))  # available (pool, unassigned) issued redeemed expired voided
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    redemption_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    valid_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    redeemed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    redeemed_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    __table_args__ = (Index("ix_coupons_pool", "reward_id", "state"),)


class CouponEvent(Base):
    """History of a code's states (append-only)."""

    __tablename__ = "coupon_events"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    state: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CouponBatch(Base):
    __tablename__ = "coupon_batches"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    reward_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    points: Mapped[Decimal | None] = mapped_column(POINTS)
    requested: Mapped[int] = mapped_column(Integer)
    generated: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20))  # running done failed
    valid_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ReferralBonus(Base):
    """The advocate's referral bonus: awaiting_purchase -> pending (the referee's qualifying
    purchase is inside its return window) -> released | revoked (that purchase was refunded);
    or rejected (the customer service's fraud checks refused the referral, with its reason)."""

    __tablename__ = "referral_bonuses"
    referral_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    advocate_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    referee_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    points: Mapped[Decimal] = mapped_column(POINTS)
    state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    purchase_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    release_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    made_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
