"""`POST /v1/read-model/rebuild`: recompute aggregates and activity spells from the stored facts."""

from typing import Any

from fastapi import APIRouter

from wafa_analytics import service
from wafa_shared.auth import require
from wafa_shared.deps import RuntimeDep, SessionDep

router = APIRouter(prefix="/v1/read-model", tags=["read model"])


@router.post("/rebuild", dependencies=[require("analytics:write")], summary="Rebuild the daily aggregates and customer counters")
async def rebuild(session: SessionDep, runtime: RuntimeDep) -> Any:
    return await service.rebuild_aggregates(session, runtime.settings)
