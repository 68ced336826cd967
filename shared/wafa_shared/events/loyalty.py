"""Events of the loyalty service (topic `wafa.loyalty`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel

from wafa_shared.events.catalog import event
from wafa_shared.events.envelope import EventData

TOPIC = "wafa.loyalty"


class _Loyalty(EventData):
    topic: ClassVar[str] = TOPIC


class LineSummary(BaseModel):
    """One purchase line as carried on the bus (not an event of its own)."""

    sku: str
    category: str | None = None
    quantity: Decimal
    amount: Decimal


@event
class PurchaseRecorded(_Loyalty):
    """A purchase was accepted. `first_purchase` is true for the customer's first one."""

    event_type: ClassVar[str] = "loyalty.purchase.recorded"
    purchase_id: uuid.UUID
    customer_id: uuid.UUID
    order_id: str
    amount: Decimal
    currency: str
    occurred_at: datetime
    channel: str | None = None
    store: str | None = None
    first_purchase: bool = False
    lines: list[LineSummary] = []


@event
class PurchaseRefunded(_Loyalty):
    event_type: ClassVar[str] = "loyalty.purchase.refunded"
    purchase_id: uuid.UUID
    customer_id: uuid.UUID
    refund_id: uuid.UUID
    amount: Decimal
    currency: str
    occurred_at: datetime


@event
class PointsEarned(_Loyalty):
    event_type: ClassVar[str] = "loyalty.points.earned"
    customer_id: uuid.UUID
    points: Decimal
    rule: str | None = None
    purchase_id: uuid.UUID | None = None
    pending: bool = False
    occurred_at: datetime


@event
class PointsRedeemed(_Loyalty):
    event_type: ClassVar[str] = "loyalty.points.redeemed"
    customer_id: uuid.UUID
    points: Decimal
    redemption_id: uuid.UUID | None = None
    occurred_at: datetime


@event
class PointsExpired(_Loyalty):
    event_type: ClassVar[str] = "loyalty.points.expired"
    customer_id: uuid.UUID
    points: Decimal
    occurred_at: datetime


@event
class TierChanged(_Loyalty):
    event_type: ClassVar[str] = "loyalty.tier.changed"
    customer_id: uuid.UUID
    from_tier: str | None
    to_tier: str
    reason: str
    occurred_at: datetime


@event
class RewardRedeemed(_Loyalty):
    event_type: ClassVar[str] = "loyalty.reward.redeemed"
    customer_id: uuid.UUID
    reward_id: uuid.UUID
    redemption_id: uuid.UUID
    points: Decimal
    cost: Decimal | None = None
    currency: str | None = None
    occurred_at: datetime


@event
class ReferralBonusHeld(_Loyalty):
    """The advocate's referral bonus is pending: the referee's first purchase is inside its
    return window (`release_at`)."""

    event_type: ClassVar[str] = "loyalty.referral.bonus.held"
    referral_id: uuid.UUID
    advocate_id: uuid.UUID
    referee_id: uuid.UUID
    points: Decimal
    purchase_id: uuid.UUID
    release_at: datetime
    occurred_at: datetime


@event
class ReferralBonusReleased(_Loyalty):
    """The referee's qualifying purchase passed its return window: the bonus is redeemable."""

    event_type: ClassVar[str] = "loyalty.referral.bonus.released"
    referral_id: uuid.UUID
    advocate_id: uuid.UUID
    referee_id: uuid.UUID
    points: Decimal
    purchase_id: uuid.UUID | None = None
    occurred_at: datetime


@event
class ReferralBonusRevoked(_Loyalty):
    """The referee's qualifying purchase was refunded inside its return window: no bonus."""

    event_type: ClassVar[str] = "loyalty.referral.bonus.revoked"
    referral_id: uuid.UUID
    advocate_id: uuid.UUID
    referee_id: uuid.UUID
    points: Decimal
    reason: str
    occurred_at: datetime


@event
class CouponRedeemed(_Loyalty):
    """A single-use coupon code was redeemed (at a partner POS or online)."""

    event_type: ClassVar[str] = "loyalty.coupon.redeemed"
    code_hint: str
    customer_id: uuid.UUID | None = None
    reward_id: uuid.UUID | None = None
    points: Decimal | None = None
    redeemed_by: str | None = None
    occurred_at: datetime
