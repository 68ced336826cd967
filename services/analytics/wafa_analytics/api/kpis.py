"""`GET /v1/kpis`: retention, growth, purchase, referral, satisfaction and cost KPIs of a period."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from wafa_analytics import service
from wafa_analytics.api.params import PeriodDep, RfmSegmentDep, period_out, segment_as_of
from wafa_analytics.schemas import KpisOut
from wafa_shared.auth import require
from wafa_shared.deps import RuntimeDep, SessionDep

router = APIRouter(prefix="/v1", tags=["kpis"])


@router.get("/kpis", response_model=KpisOut, dependencies=[require("analytics:read")], summary="KPIs of a period")
async def get_kpis(
    session: SessionDep,
    runtime: RuntimeDep,
    p: PeriodDep,
    segment: Annotated[str | None, Query(max_length=50, description="a loyalty tier")] = None,
    rfm_segment: RfmSegmentDep = None,
) -> Any:
    settings = runtime.settings
    members = await service.rfm_members(session, settings, rfm_segment, segment_as_of(p, runtime.clock.now()))
    return {
        "period": period_out(p),
        "segment": segment,
        "rfm_segment": rfm_segment,
        "currency": settings.currency,
        "active_window_days": settings.active_window_days,
        "kpis": await service.kpis(session, settings, p, segment=segment, members=members),
        "satisfaction_trend": await service.satisfaction_trend(session, p, segment=segment, members=members),
    }
