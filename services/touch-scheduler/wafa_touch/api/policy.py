"""The contact-fatigue policy: `GET/PUT /v1/fatigue-policy`."""

from __future__ import annotations

from fastapi import APIRouter

from wafa_shared.auth import require
from wafa_shared.deps import RuntimeDep, SessionDep
from wafa_touch import service
from wafa_touch.schemas import FatiguePolicyIO

router = APIRouter(prefix="/v1", tags=["fatigue policy"])


@router.get("/fatigue-policy", response_model=FatiguePolicyIO, dependencies=[require("touches:read")])
async def get_policy(session: SessionDep, runtime: RuntimeDep) -> FatiguePolicyIO:
    return await service.get_policy(session, runtime.settings.default_time_zone)


@router.put(
    "/fatigue-policy",
    response_model=FatiguePolicyIO,
    dependencies=[require("touches:write")],
    summary="Replace the fatigue policy (applies to every later dispatch decision)",
)
async def put_policy(body: FatiguePolicyIO, session: SessionDep) -> FatiguePolicyIO:
    return await service.put_policy(session, body)
