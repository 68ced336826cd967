"""`GET /v1/platform/health`: every service's outbox backlog, dead letters, failing webhooks and consumer lag."""

from typing import Any

from fastapi import APIRouter

from wafa_analytics import platform_health
from wafa_analytics.schemas import PlatformHealthOut
from wafa_shared.auth import require
from wafa_shared.deps import RuntimeDep, SessionDep
from wafa_shared.ops import OPS_READ

router = APIRouter(prefix="/v1/platform", tags=["platform health"])


@router.get(
    "/health",
    response_model=PlatformHealthOut,
    dependencies=[require(OPS_READ)],
    summary="Health of the five services, gathered from their ops summaries",
    description="Calls `GET /v1/ops/summary` of each service at `WAFA_SERVICE_URLS` (default: dev ports). "
    "A service that does not answer is listed with `reachable: false` and the error.",
)
async def health(session: SessionDep, runtime: RuntimeDep) -> Any:
    return await platform_health.health(session, runtime, runtime.settings.platform_health_timeout_s)  # type: ignore[attr-defined]
