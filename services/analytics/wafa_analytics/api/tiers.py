"""`GET /v1/tiers/distribution`: customers per loyalty tier."""

from typing import Any

from fastapi import APIRouter

from wafa_analytics import service
from wafa_analytics.api.params import PeriodDep, period_out
from wafa_analytics.schemas import TierDistributionOut
from wafa_shared.auth import require
from wafa_shared.deps import RuntimeDep, SessionDep

router = APIRouter(prefix="/v1/tiers", tags=["kpis"])


@router.get(
    "/distribution",
    response_model=TierDistributionOut,
    dependencies=[require("analytics:read")],
    summary="Customers per current tier, with the period's buyers and revenue",
)
async def distribution(session: SessionDep, runtime: RuntimeDep, p: PeriodDep) -> Any:
    return {"period": period_out(p), "currency": runtime.settings.currency, **await service.tier_distribution(session, runtime.settings, p)}
