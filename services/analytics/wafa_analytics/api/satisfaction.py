"""`GET /v1/satisfaction/trend`: NPS, CSAT, CES and CSI per week or month."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from wafa_analytics import service
from wafa_analytics.api.params import PeriodDep, TierDep, period_out
from wafa_analytics.schemas import SatisfactionTrendOut
from wafa_shared.auth import require
from wafa_shared.deps import SessionDep

router = APIRouter(prefix="/v1/satisfaction", tags=["kpis"])


@router.get("/trend", response_model=SatisfactionTrendOut, dependencies=[require("analytics:read")], summary="Satisfaction per week or month")
async def trend(session: SessionDep, p: PeriodDep, tier: TierDep = None, bucket: Annotated[Literal["week", "month"], Query()] = "month") -> Any:
    return {"period": period_out(p), "tier": tier, "bucket": bucket, "points": await service.satisfaction_series(session, p, tier=tier, unit=bucket)}
