"""HTTP models of the loyalty service (money and points are exact decimals, never floats)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from wafa_shared.money import Currency

# Upper bounds on what a client may send, so an absurd value is a 422 naming its field instead of
# a number PostgreSQL cannot store (NUMERIC(20, 4) and INTEGER columns), with room left for the
# arithmetic on it (amount x earn rate x multipliers). Found by tests/test_fuzz.py.
MAX_MONEY = Decimal(10**12)  # a unit price, a refund, a point's value, a reward's cost (currency units)
MAX_POINTS = Decimal(10**12)  # a bonus, a cap, a tier threshold, an adjustment, a reward's price
MAX_RATE = Decimal(10**4)  # points per currency unit; a multiplier
MAX_QUANTITY = Decimal(10**6)
MAX_INT = 2**31 - 1  # INTEGER columns: stock, limits


class MultiplierRule(BaseModel):
    match: str = Field(min_length=1, max_length=100, description="The SKU or category the rule applies to.")
    multiplier: Decimal = Field(gt=0, le=MAX_RATE, examples=["2"])
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None


class EarningRules(BaseModel):
    category_multipliers: list[MultiplierRule] = []
    sku_multipliers: list[MultiplierRule] = Field([], description="A SKU rule wins over a category rule for the same line.")
    birthday_multiplier: Decimal | None = Field(None, gt=0, le=MAX_RATE, description="Applied to purchases in the member's birth month.")
    first_purchase_bonus: Decimal | None = Field(None, ge=0, le=MAX_POINTS, description="Flat points on a member's first purchase.")
    referral_bonus: Decimal | None = Field(
        None, ge=0, le=MAX_POINTS, description="Points to the advocate, pending until the referee's first purchase passes its return window."
    )
    survey_bonus: Decimal | None = Field(None, ge=0, le=MAX_POINTS, description="Points for a completed survey (`survey.response.submitted`).")
    caps: dict[Literal["base_spend", "first_purchase", "referral", "survey_completion"], Annotated[Decimal, Field(ge=0, le=MAX_POINTS)]] = Field(
        {}, description='Per-customer cap on the points a rule may earn per calendar year, e.g. {"survey_completion": 100}.'
    )


class TierIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    threshold: Decimal = Field(ge=0, le=MAX_POINTS, description="Qualifying credit needed (points, spend or purchases, per the program's basis).")
    earn_multiplier: Decimal = Field(Decimal(1), gt=0, le=MAX_RATE)
    paid: bool = Field(False, description="A paid-membership tier: held by subscription (start/end), never earned by credit.")


class TierOut(TierIn):
    model_config = ConfigDict(from_attributes=True)
    rank: int


class ProgramIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, examples=["Wafa Rewards"])
    points_name: str = Field("points", min_length=1, max_length=100, examples=["نقاط"])
    currency: Currency = Field(examples=["SAR"])
    earn_rate: Decimal = Field(gt=0, le=MAX_RATE, description="Points per currency unit spent.", examples=["1"])
    rounding: Literal["down", "half_even", "up"] = "down"
    point_value: Decimal = Field(ge=0, le=MAX_MONEY, description="Currency value of one point (for the liability).", examples=["0.05"])
    pending_days: int = Field(0, ge=0, le=365, description="Return window: earned points stay pending this many days.")
    expiry_mode: Literal["none", "fixed", "inactivity"] = "none"
    expiry_months: int | None = Field(None, ge=1, le=120)
    qualification_basis: Literal["points", "spend", "count"] = "points"
    qualification_period: Literal["rolling_12m", "calendar_year"] = "rolling_12m"
    downgrade_grace_days: int = Field(0, ge=0, le=365)
    negative_balance: Literal["allow", "forfeit"] = Field("allow", description="A refund after spending: go negative, or write the shortfall off.")
    rules: EarningRules = EarningRules()
    tiers: list[TierIn] = Field([], description="In ascending order of threshold; the first is usually threshold 0.")
    is_default: bool = Field(True, description="New customers are enrolled into the default program.")


class ProgramOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    points_name: str
    currency: str
    earn_rate: Decimal
    rounding: str
    point_value: Decimal
    pending_days: int
    expiry_mode: str
    expiry_months: int | None
    qualification_basis: str
    qualification_period: str
    downgrade_grace_days: int
    negative_balance: str
    rules: dict[str, Any]
    is_default: bool
    tiers: list[TierOut] = []


class LineIn(BaseModel):
    sku: str = Field(min_length=1, max_length=100)
    category: str | None = Field(None, max_length=100)
    quantity: Decimal = Field(gt=0, le=MAX_QUANTITY)
    unit_price: Decimal = Field(gt=0, le=MAX_MONEY)


class PurchaseIn(BaseModel):
    customer_id: uuid.UUID
    order_id: str = Field(min_length=1, max_length=200, description="The partner's order id; recording it again returns the first result.")
    occurred_at: AwareDatetime = Field(description="When the purchase happened; historical purchases are earned as of then.")
    currency: Currency
    lines: list[LineIn] = Field(min_length=1, max_length=1000)
    channel: str | None = Field(None, max_length=50)
    store: str | None = Field(None, max_length=100)


class PurchaseOut(BaseModel):
    id: uuid.UUID
    order_id: str
    customer_id: uuid.UUID
    amount: Decimal
    refunded_amount: Decimal
    currency: str
    occurred_at: datetime
    points: Decimal
    qualifying: Decimal
    first_purchase: bool
    pending_until: datetime | None = None


class BatchIn(BaseModel):
    purchases: list[PurchaseIn] = Field(min_length=1, max_length=10_000)


class BatchItemOut(BaseModel):
    index: int
    status: int
    purchase: PurchaseOut | None = None
    error: dict[str, Any] | None = None


class BatchOut(BaseModel):
    created: int
    replayed: int
    failed: int
    items: list[BatchItemOut]


class RefundIn(BaseModel):
    amount: Decimal = Field(gt=0, le=MAX_MONEY, description="Refunded amount in the purchase's currency; points are reversed in proportion.")
    reason: str | None = Field(None, max_length=500)
    occurred_at: AwareDatetime | None = None


class RefundOut(BaseModel):
    id: uuid.UUID
    purchase_id: uuid.UUID
    amount: Decimal
    points_reversed: Decimal
    qualifying_reversed: Decimal
    occurred_at: datetime


class QualifyingOut(BaseModel):
    basis: str
    credit: Decimal
    window_start: datetime
    window_end: datetime


class NextTierOut(BaseModel):
    name: str
    needed: Decimal
    by: datetime
    message: str


class ExpiringOut(BaseModel):
    points: Decimal
    before: datetime


class MemberOut(BaseModel):
    customer_id: uuid.UUID
    program_id: uuid.UUID
    points_name: str
    currency: str
    available: Decimal = Field(description="Redeemable points (may be negative after a refund of spent points).")
    pending: Decimal = Field(description="Points inside their return window.")
    tier: str | None
    tier_since: datetime | None
    tier_review_at: datetime | None = Field(description="When the tier is next reviewed for a downgrade (period end + grace).")
    subscription_tier: str | None = None
    subscription_ends_at: datetime | None = None
    qualifying: QualifyingOut
    next_tier: NextTierOut | None
    expiring_soon: ExpiringOut


class MemberIn(BaseModel):
    customer_id: uuid.UUID
    birth_date: date | None = None


class LedgerEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    points: Decimal
    pending_delta: Decimal
    balance_after: Decimal
    pending_after: Decimal
    rule: str | None
    purchase_id: uuid.UUID | None
    redemption_id: uuid.UUID | None
    reason: str | None
    detail: dict[str, Any] | None
    occurred_at: datetime


class AdjustmentIn(BaseModel):
    points: Decimal = Field(ge=-MAX_POINTS, le=MAX_POINTS, description="Signed: positive credits, negative debits (never beyond the balance).")
    reason: str = Field(min_length=1, max_length=500)


class RewardIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["discount_voucher", "free_product", "gift", "charity_donation"]
    cost_points: Decimal = Field(gt=0, le=MAX_POINTS)
    cost: Decimal | None = Field(None, ge=0, le=MAX_MONEY, description="What one redemption costs the business, in the program currency.")
    stock: int | None = Field(None, ge=0, le=MAX_INT)
    per_customer_limit: int | None = Field(None, ge=1, le=MAX_INT)
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    min_tier: str | None = Field(None, description="Only members of this tier or higher may redeem.")
    coupon_source: Literal["none", "generated", "pool"] = Field("none", description="Issue a unique code per redemption, or draw one from an imported pool.")
    coupon_valid_days: int = Field(90, ge=1, le=3650)


class RewardOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    kind: str
    cost_points: Decimal
    cost: Decimal | None
    stock: int | None
    per_customer_limit: int | None
    valid_from: datetime | None
    valid_until: datetime | None
    min_tier_rank: int | None
    coupon_source: str
    coupon_valid_days: int


class RedemptionIn(BaseModel):
    customer_id: uuid.UUID
    reward_id: uuid.UUID


class RedemptionOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    reward_id: uuid.UUID
    points: Decimal
    balance_after: Decimal
    coupon_code: str | None
    coupon_valid_until: datetime | None = None
    occurred_at: datetime


class CouponOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    reward_id: uuid.UUID | None
    points: Decimal | None
    state: str
    customer_id: uuid.UUID | None
    valid_from: datetime | None
    valid_until: datetime | None
    redeemed_at: datetime | None


class CouponHistoryOut(BaseModel):
    state: str
    actor: str | None
    at: datetime


class CouponDetailOut(CouponOut):
    history: list[CouponHistoryOut]


class CouponRedeemIn(BaseModel):
    customer_id: uuid.UUID | None = Field(None, description="Required for bonus-points codes: the member credited.")
    store: str | None = Field(None, max_length=100)


class PoolImportIn(BaseModel):
    codes: list[str] = Field(min_length=1, max_length=100_000)
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None


class PoolImportOut(BaseModel):
    imported: int


class CouponBatchIn(BaseModel):
    count: int = Field(ge=1, le=1_000_000)
    reward_id: uuid.UUID | None = None
    points: Decimal | None = Field(None, gt=0, le=MAX_POINTS, description="Bonus points each code credits when redeemed (promotion codes).")
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None


class CouponBatchOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    requested: int
    generated: int
    status: str
    progress: float = 0.0


class ReferralBonusOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    referral_id: uuid.UUID
    advocate_id: uuid.UUID
    referee_id: uuid.UUID | None
    points: Decimal
    state: str
    reason: str | None
    purchase_id: uuid.UUID | None
    release_at: datetime | None


class EconomicsOut(BaseModel):
    program_id: uuid.UUID
    currency: str
    outstanding_points: Decimal
    pending_points: Decimal
    liability: Decimal = Field(description="(available + pending points) x point value, in the program currency.")
    points_earned: Decimal
    points_redeemed: Decimal
    points_expired: Decimal
    breakage_rate: Decimal = Field(description="Expired / earned points, lifetime.")
    tier_distribution: dict[str, int]
    period_from: datetime | None
    period_to: datetime | None
    redemptions_in_period: int
    points_redeemed_in_period: Decimal
    reward_cost_in_period: Decimal


class SubscriptionIn(BaseModel):
    tier: str = Field(description="A paid-membership tier of the member's program.")
    ends_at: AwareDatetime
