"""`GET /v1/satisfaction/trend`: NPS, CSAT, CES and CSI per week or month."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from wafa_analytics import service
from wafa_analytics.api.params import PeriodDep, RfmSegmentDep, TierDep, period_out, segment_as_of
from wafa_analytics.schemas import SatisfactionTrendOut
from wafa_shared.auth import require
from wafa_shared.deps import RuntimeDep, SessionDep

router = APIRouter(prefix="/v1/satisfaction", tags=["kpis"])


@router.get("/trend", response_model=SatisfactionTrendOut, dependencies=[require("analytics:read")], summary="Satisfaction per week or month")
async def trend(
    session: SessionDep,
    runtime: RuntimeDep,
    p: PeriodDep,
    tier: TierDep = None,
    rfm_segment: RfmSegmentDep = None,
    bucket: Annotated[Literal["week", "month"], Query()] = "month",
) -> Any:
    members = await service.rfm_members(session, runtime.settings, rfm_segment, segment_as_of(p, runtime.clock.now()))
    points = await service.satisfaction_series(session, p, tier=tier, unit=bucket, members=members)
    return {"period": period_out(p), "tier": tier, "rfm_segment": rfm_segment, "bucket": bucket, "points": points}
