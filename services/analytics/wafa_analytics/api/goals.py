"""Goals: `POST /v1/goals` sets a target on a KPI for a period; `GET` tracks progress."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter
from sqlalchemy import select

from wafa_analytics import goals
from wafa_analytics.models import Goal
from wafa_analytics.schemas import GoalIn, GoalOut, GoalProgress
from wafa_shared.auth import Principal, require
from wafa_shared.deps import PageDep, RuntimeDep, SessionDep
from wafa_shared.idempotency import IdempotencyKeyHeader, idempotent
from wafa_shared.pagination import Page, keyset_page
from wafa_shared.problems import ProblemError, not_found

router = APIRouter(prefix="/v1/goals", tags=["goals"])


async def _out(session: SessionDep, runtime: RuntimeDep, goal: Goal) -> GoalOut:
    out = GoalOut.model_validate(goal)
    out.progress = GoalProgress(**await goals.progress(session, runtime.settings, goal, runtime.clock.now().date()))
    return out


@router.post("", status_code=201, response_model=GoalOut, summary="Set a target on a KPI for a period")
async def post_goal(
    body: GoalIn, session: SessionDep, runtime: RuntimeDep, caller: Annotated[Principal, require("analytics:write")], key: IdempotencyKeyHeader = None
) -> Any:
    if body.period_to < body.period_from:
        raise ProblemError(
            422, "invalid-period", "period_to is before period_from", errors=[{"field": "period_to", "in": "body", "message": "must not be before period_from"}]
        )

    async def create() -> tuple[int, Any]:
        goal = Goal(id=uuid.uuid4(), currency=runtime.settings.currency, **body.model_dump())
        session.add(goal)
        await session.flush()
        await session.refresh(goal)
        return 201, await _out(session, runtime, goal)

    return await idempotent(session, scope=f"goals:{caller.subject}", key=key, body=body, create=create)


@router.get("", response_model=Page[GoalOut], dependencies=[require("analytics:read")], summary="Goals with their progress")
async def list_goals(session: SessionDep, runtime: RuntimeDep, page: PageDep) -> Any:
    items, nxt = await keyset_page(session, select(Goal), [Goal.created_at, Goal.id], page, lambda g: [g.created_at.isoformat(), str(g.id)])
    return Page[GoalOut](items=[await _out(session, runtime, g) for g in items], next_cursor=nxt)


@router.get("/{goal_id}", response_model=GoalOut, dependencies=[require("analytics:read")], summary="A goal and its progress")
async def get_goal(goal_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep) -> Any:
    goal = await session.get(Goal, goal_id)
    if goal is None:
        raise not_found("Goal", goal_id)
    return await _out(session, runtime, goal)
