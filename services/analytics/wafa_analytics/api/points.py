"""`GET /v1/points/liability`: outstanding points and what they would cost."""

from typing import Any

from fastapi import APIRouter

from wafa_analytics import points_liability, service
from wafa_analytics.api.params import PeriodDep, RfmSegmentDep, TierDep, period_out, segment_as_of
from wafa_analytics.schemas import PointsLiabilityOut
from wafa_shared.auth import require
from wafa_shared.deps import RuntimeDep, SessionDep

router = APIRouter(prefix="/v1/points", tags=["kpis"])


@router.get(
    "/liability",
    response_model=PointsLiabilityOut,
    dependencies=[require("analytics:read")],
    summary="Outstanding points and their cost, month by month",
    description="Outstanding points = earned (also pending) + referral bonuses held - revoked - redeemed - expired, "
    "over every movement before the instant; liability = points x `REWARD_POINT_COST`.",
)
async def liability(session: SessionDep, runtime: RuntimeDep, p: PeriodDep, tier: TierDep = None, rfm_segment: RfmSegmentDep = None) -> Any:
    value = runtime.settings.reward_point_cost
    members = await service.rfm_members(session, runtime.settings, rfm_segment, segment_as_of(p, runtime.clock.now()))
    out = await points_liability.liability(session, p, point_value=value, tier=tier, members=members)
    return {"period": period_out(p), "tier": tier, "rfm_segment": rfm_segment, "currency": runtime.settings.currency, "point_value": value, **out}
