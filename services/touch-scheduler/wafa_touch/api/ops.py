"""Ops views: upcoming load, overdue tasks, skipped touches (admin)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from wafa_shared.auth import require
from wafa_shared.deps import RuntimeDep, SessionDep
from wafa_touch import repository as repo
from wafa_touch.schemas import LoadRow, OverdueRow, SkippedRow

router = APIRouter(prefix="/v1/ops", tags=["operations"], dependencies=[require("admin")])


@router.get("/touch-load", response_model=list[LoadRow], summary="Scheduled touches per UTC day and channel")
async def load(session: SessionDep, runtime: RuntimeDep, days: Annotated[int, Query(ge=1, le=366)] = 30) -> list[LoadRow]:
    now = runtime.clock.now()
    rows = await repo.load_per_day(session, now, now + timedelta(days=days))
    return [LoadRow(day=d.date(), channel=c, touches=n) for d, c, n in rows]


@router.get("/overdue-tasks", response_model=list[OverdueRow], summary="Open tasks past due, per team member")
async def overdue(session: SessionDep, runtime: RuntimeDep) -> list[OverdueRow]:
    return [OverdueRow(assignee=a, overdue=n, oldest_due_at=d) for a, n, d in await repo.overdue_tasks(session, runtime.clock.now())]


@router.get("/skipped-touches", response_model=list[SkippedRow], summary="Skipped touches by reason")
async def skipped(session: SessionDep, since: Annotated[datetime | None, Query()] = None) -> list[SkippedRow]:
    return [SkippedRow(reason=r, touches=n) for r, n in await repo.skipped_by_reason(session, since)]
