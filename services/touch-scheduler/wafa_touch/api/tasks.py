"""Call, letter and card tasks for the team: `GET /v1/tasks`, `POST /v1/tasks/{id}/complete`."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from wafa_shared.auth import require
from wafa_shared.deps import PageDep, RuntimeDep, SessionDep
from wafa_shared.pagination import Page, keyset_page
from wafa_touch import repository as repo
from wafa_touch import service
from wafa_touch.models import Task
from wafa_touch.schemas import TaskCompleteIn, TaskOut, TeamMemberIn, TeamMemberOut

router = APIRouter(prefix="/v1", tags=["tasks"])


@router.get("/tasks", response_model=Page[TaskOut], dependencies=[require("touches:read")], summary="Tasks, soonest due first")
async def list_tasks(
    session: SessionDep,
    page: PageDep,
    status: Annotated[str | None, Query(description="open, completed or cancelled")] = None,
    assignee: Annotated[str | None, Query()] = None,
    customer_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Any:
    items, nxt = await keyset_page(
        session, repo.tasks_query(status, assignee, customer_id), [Task.due_at, Task.id], page, lambda t: [t.due_at.isoformat(), str(t.id)]
    )
    return Page[TaskOut](items=[TaskOut.model_validate(t) for t in items], next_cursor=nxt)


@router.post("/tasks/{task_id}/complete", response_model=TaskOut, dependencies=[require("touches:write")], summary="Record a task's outcome (once)")
async def complete_task(task_id: uuid.UUID, body: TaskCompleteIn, session: SessionDep, runtime: RuntimeDep) -> Any:
    return TaskOut.model_validate(await service.complete_task(session, task_id, body, runtime.clock.now()))


@router.get("/team-members", response_model=list[TeamMemberOut], dependencies=[require("touches:read")])
async def list_team(session: SessionDep) -> Any:
    return [TeamMemberOut.model_validate(m) for m in await service.team(session)]


@router.put(
    "/team-members/{name}",
    response_model=TeamMemberOut,
    dependencies=[require("touches:write")],
    summary="Add or (de)activate a team member for round-robin assignment",
)
async def put_member(name: str, body: TeamMemberIn, session: SessionDep) -> Any:
    return TeamMemberOut.model_validate(await service.put_team_member(session, name, body.active))
