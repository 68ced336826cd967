"""`GET /v1/plans/effectiveness`: treated vs holdout for each touch plan."""

from typing import Any

from fastapi import APIRouter

from wafa_analytics import service
from wafa_analytics.api.params import PeriodDep, period_out
from wafa_analytics.schemas import PlansOut
from wafa_shared.auth import require
from wafa_shared.deps import RuntimeDep, SessionDep

router = APIRouter(prefix="/v1/plans", tags=["plans"])


@router.get(
    "/effectiveness",
    response_model=PlansOut,
    dependencies=[require("analytics:read")],
    summary="Plan uplift with 95 % confidence intervals",
    description="Treated: customers reached by a sent or completed touch of the plan. Holdout: customers whose touch of "
    "the plan was skipped with reason `holdout`. Retention = share who bought in the period; spend per customer; referral rate.",
)
async def effectiveness(session: SessionDep, runtime: RuntimeDep, p: PeriodDep) -> Any:
    return {"period": period_out(p), "plans": await service.plan_effectiveness(session, runtime.settings, p)}
