"""`GET /v1/cohorts`: retention matrix by first-purchase month."""

from typing import Any

from fastapi import APIRouter

from wafa_analytics import service
from wafa_analytics.api.params import PeriodDep, period_out
from wafa_analytics.schemas import CohortsOut
from wafa_shared.auth import require
from wafa_shared.deps import SessionDep

router = APIRouter(prefix="/v1", tags=["cohorts"])


@router.get("/cohorts", response_model=CohortsOut, dependencies=[require("analytics:read")], summary="Retention by first-purchase month")
async def get_cohorts(session: SessionDep, p: PeriodDep) -> Any:
    return {"period": period_out(p), "cohorts": await service.cohorts(session, p)}
