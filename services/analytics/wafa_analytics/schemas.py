"""HTTP models of the analytics service."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wafa_analytics.domain.kpi import GOAL_KPIS


class PeriodOut(BaseModel):
    from_: date = Field(alias="from")
    to: date
    model_config = ConfigDict(populate_by_name=True)


class KpiValues(BaseModel):
    customers_at_start: int = Field(description="S: customers active (bought within the activity window) at the start")
    customers_at_end: int = Field(description="E: customers active at the end")
    new_customers: int = Field(description="N: customers whose first purchase is in the period")
    retention_rate: Decimal | None = Field(description="CRR = (E - N) / S x 100")
    churn_rate: Decimal | None
    acquisitions: int
    customer_base_growth: Decimal | None = Field(description="(E - S) / S x 100")
    orders: int
    buyers: int
    repeat_purchase_rate: Decimal | None
    purchase_frequency: Decimal | None
    revenue: Decimal | None
    refunds: Decimal | None
    average_order_value: Decimal | None
    referral_rate: Decimal | None
    nps: Decimal | None
    csat: Decimal | None
    ces: Decimal | None
    csi: Decimal | None
    survey_responses: int
    survey_invitations: int
    survey_response_rate: Decimal | None
    cost_to_serve: Decimal | None
    cost_to_serve_per_customer: Decimal | None
    churned_customers: int
    revenue_lost_to_churn: Decimal | None
    value_of_one_retention_point: Decimal | None
    expected_lifetime_periods: Decimal | None = Field(description="1 / churn, in periods of the query's length")


class TrendPoint(BaseModel):
    month: str
    responses: int
    nps: Decimal | None
    csat: Decimal | None
    ces: Decimal | None
    csi: Decimal | None


class KpisOut(BaseModel):
    period: PeriodOut
    segment: str | None
    rfm_segment: str | None = None
    currency: str
    active_window_days: int
    kpis: KpiValues
    satisfaction_trend: list[TrendPoint]


class CohortRow(BaseModel):
    cohort: str = Field(description="first-purchase month, YYYY-MM")
    size: int
    active: list[int] = Field(description="customers of the cohort buying in month k after it (k = 0, 1, ...)")
    retention: list[Decimal | None] = Field(description="active[k] / size x 100")


class CohortsOut(BaseModel):
    period: PeriodOut
    cohorts: list[CohortRow]


class RfmRow(BaseModel):
    customer_id: uuid.UUID
    recency_days: float
    frequency: int
    monetary: Decimal
    r: int
    f: int
    m: int
    segment: str


class RfmOut(BaseModel):
    as_of: datetime
    currency: str
    segments: dict[str, int]
    items: list[RfmRow]
    next_cursor: str | None = None


class ClvFitIn(BaseModel):
    as_of: datetime = Field(description="observation end: purchases before it are used")
    horizon_months: int = Field(12, ge=1, le=120)
    annual_discount_rate: Decimal = Field(Decimal("0.10"), ge=0, le=1)

    @field_validator("as_of")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("must carry a time zone")
        return v


class ClvFitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    status: str
    progress: float
    as_of: datetime
    horizon_months: int
    annual_discount_rate: Decimal
    currency: str
    params: dict[str, Any] | None
    summary: dict[str, Any] | None
    error: str | None
    created_at: datetime | None = None
    finished_at: datetime | None


class ClvCustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    fit_id: uuid.UUID
    customer_id: uuid.UUID
    x: int = Field(description="repeat purchases (days with a purchase after the first)")
    t_x: float = Field(description="weeks from first to last purchase")
    t_obs: float = Field(description="weeks from first purchase to as_of (T)")
    monetary: float = Field(description="mean value of repeat purchases")
    p_alive: float
    expected_purchases: float = Field(description="over the fit's horizon")
    expected_spend: float = Field(description="Gamma-Gamma expected value per purchase")
    clv: float = Field(description="discounted value over the fit's horizon")
    loyalty_index: float


class WhalePoint(BaseModel):
    rank: int
    customers_pct: Decimal
    cumulative_profit: Decimal
    cumulative_profit_pct: Decimal | None


class ProfitGroup(BaseModel):
    group: str
    customers: int
    revenue: Decimal
    cost_to_serve: Decimal
    profit: Decimal


class WhaleCurveOut(BaseModel):
    period: PeriodOut
    currency: str
    customers: int
    total_profit: Decimal
    unprofitable_customers: int
    peak: WhalePoint | None
    points: list[WhalePoint]
    by_tier: list[ProfitGroup]
    by_segment: list[ProfitGroup]


class CustomerProfit(BaseModel):
    customer_id: uuid.UUID
    tier: str | None
    revenue: Decimal
    refunds: Decimal
    product_cost: Decimal
    cost_to_serve: Decimal
    profit: Decimal


class CustomerProfitsOut(BaseModel):
    period: PeriodOut
    currency: str
    items: list[CustomerProfit]
    next_cursor: str | None = None


class ComparisonOut(BaseModel):
    treated: float | None
    holdout: float | None
    uplift: float | None
    ci_low: float | None
    ci_high: float | None


class PlanEffect(BaseModel):
    plan_id: uuid.UUID
    plan_key: str | None = Field(None, description="the plan's key, from its enrolment events")
    treated: int
    holdout: int
    retention: ComparisonOut
    spend: ComparisonOut
    referral_rate: ComparisonOut


class PlansOut(BaseModel):
    period: PeriodOut
    plans: list[PlanEffect]


class GoalIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kpi: str = Field(description=f"one of {', '.join(GOAL_KPIS)}")
    period_from: date
    period_to: date
    mode: Literal["absolute", "relative"] = "absolute"
    target: Decimal = Field(ge=-(10**15), le=10**15, description="value to reach (absolute) or % change against the previous period (relative)")
    segment: str | None = Field(None, max_length=50)

    @field_validator("kpi")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in GOAL_KPIS:
            raise ValueError(f"unknown KPI; one of {', '.join(GOAL_KPIS)}")
        return v


class GoalProgress(BaseModel):
    baseline: Decimal | None
    current: Decimal | None
    target_value: Decimal | None
    progress_pct: Decimal | None
    achieved: bool | None
    measured_to: date | None


class GoalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    kpi: str
    period_from: date
    period_to: date
    mode: str
    target: Decimal
    segment: str | None
    created_at: datetime | None = None
    progress: GoalProgress | None = None


class SatisfactionPoint(BaseModel):
    start: date = Field(description="first day of the week (Monday) or month, UTC")
    responses: int
    nps: Decimal | None = Field(description="% promoters (9-10) - % detractors (0-6)")
    csat: Decimal | None
    ces: Decimal | None
    csi: Decimal | None


class SatisfactionTrendOut(BaseModel):
    period: PeriodOut
    tier: str | None
    rfm_segment: str | None = None
    bucket: Literal["week", "month"]
    points: list[SatisfactionPoint]


class TierShare(BaseModel):
    tier: str = Field(description="current loyalty tier; `none` for customers without one")
    customers: int
    share: Decimal | None = Field(description="% of customers")
    buyers: int = Field(description="customers of the tier who bought in the period")
    revenue: Decimal = Field(description="their revenue in the period (reporting currency)")


class TierDistributionOut(BaseModel):
    period: PeriodOut
    currency: str
    customers: int
    tiers: list[TierShare]


class ChannelSeries(BaseModel):
    channel: str
    touches: list[int] = Field(description="scheduled touches per day, aligned with `days`")


class UpcomingTouchesOut(BaseModel):
    from_: datetime = Field(alias="from")
    to: datetime
    tier: str | None
    rfm_segment: str | None = None
    days: list[date]
    channels: list[str]
    series: list[ChannelSeries]
    total: int
    model_config = ConfigDict(populate_by_name=True)


class OverdueTask(BaseModel):
    task_id: uuid.UUID
    touch_id: uuid.UUID
    customer_id: uuid.UUID
    channel: str
    assignee: str
    due_at: datetime
    days_overdue: int


class OverdueTasksOut(BaseModel):
    as_of: datetime
    tier: str | None
    rfm_segment: str | None = None
    total: int
    by_channel: dict[str, int]
    by_assignee: dict[str, int]
    oldest_due_at: datetime | None
    items: list[OverdueTask] = Field(description="the oldest overdue tasks, oldest first (at most `limit`)")


class LiabilityMonth(BaseModel):
    month: str
    added: Decimal = Field(description="points earned (also pending) and referral bonuses held")
    taken: Decimal = Field(description="points redeemed, expired and bonuses revoked")
    outstanding_points: Decimal = Field(description="at the end of the month")
    liability: Decimal


class PointsLiabilityOut(BaseModel):
    period: PeriodOut
    tier: str | None
    rfm_segment: str | None = None
    currency: str
    point_value: Decimal = Field(description="cost of one point (REWARD_POINT_COST)")
    opening_points: Decimal
    opening_liability: Decimal
    outstanding_points: Decimal = Field(description="at the end of the period")
    liability: Decimal = Field(description="outstanding points x point value")
    movements: dict[str, Decimal] = Field(description="points by movement kind in the period: earned, held, revoked, redeemed, expired")
    months: list[LiabilityMonth]


class ConsumerHealth(BaseModel):
    consumer: str
    group_id: str
    lag: int | None
    error: str | None = None


class ServiceHealth(BaseModel):
    service: str
    url: str
    reachable: bool
    error: str | None
    outbox_backlog: int | None
    oldest_unpublished_at: datetime | None
    dead_letters: int | None
    webhooks_retrying: int | None
    webhooks_dead: int | None
    consumer_lag: int | None
    consumers: list[ConsumerHealth]


class HealthTotals(BaseModel):
    unreachable: int
    outbox_backlog: int
    dead_letters: int
    webhook_failures: int = Field(description="deliveries retrying after a failure plus dead ones")
    consumer_lag: int


class PlatformHealthOut(BaseModel):
    checked_at: datetime
    services: list[ServiceHealth]
    totals: HealthTotals


class RfmCell(BaseModel):
    r: int
    f: int
    segment: str
    customers: int
    mean_monetary: Decimal | None


class RfmGridOut(BaseModel):
    as_of: datetime
    tier: str | None
    currency: str
    customers: int
    cells: list[RfmCell] = Field(description="all 25 (R, F) cells, R and F from 1 to 5")
    segments: dict[str, int]
