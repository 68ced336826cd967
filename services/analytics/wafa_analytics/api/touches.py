"""Touch outlook: `GET /v1/touches/upcoming` (per day and channel) and `GET /v1/tasks/overdue`."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from wafa_analytics import service, touch_outlook
from wafa_analytics.api.params import RfmSegmentDep, TierDep
from wafa_analytics.schemas import OverdueTasksOut, UpcomingTouchesOut
from wafa_shared.auth import require
from wafa_shared.deps import RuntimeDep, SessionDep

router = APIRouter(prefix="/v1", tags=["touch outlook"])


@router.get(
    "/touches/upcoming",
    response_model=UpcomingTouchesOut,
    dependencies=[require("analytics:read")],
    summary="Scheduled touches per day and channel from now",
    description="From `touch.scheduled` events, which the touch scheduler announces only within its look-ahead window "
    "(`WAFA_TOUCH_SCHEDULER_ANNOUNCE_WINDOW_DAYS`, 7 by default): days beyond it show nothing yet.",
)
async def upcoming(
    session: SessionDep, runtime: RuntimeDep, tier: TierDep = None, rfm_segment: RfmSegmentDep = None, days: Annotated[int, Query(ge=1, le=31)] = 7
) -> Any:
    now = runtime.clock.now()
    members = await service.rfm_members(session, runtime.settings, rfm_segment, now)
    return {"tier": tier, "rfm_segment": rfm_segment, **await touch_outlook.upcoming(session, now, days, tier=tier, members=members)}


@router.get(
    "/tasks/overdue",
    response_model=OverdueTasksOut,
    dependencies=[require("analytics:read")],
    summary="Call-centre tasks past their due time",
    description="A task (`task.assigned`) is overdue while its touch is neither completed nor skipped after the task's due time.",
)
async def overdue(
    session: SessionDep, runtime: RuntimeDep, tier: TierDep = None, rfm_segment: RfmSegmentDep = None, limit: Annotated[int, Query(ge=0, le=500)] = 20
) -> Any:
    now = runtime.clock.now()
    members = await service.rfm_members(session, runtime.settings, rfm_segment, now)
    return {"tier": tier, "rfm_segment": rfm_segment, **await touch_outlook.overdue_tasks(session, now, tier=tier, limit=limit, members=members)}
