"""Ops endpoints every service has: dead letters (list, replay), outbox backlog and
re-publication, and running a time-driven job now. All need the `admin` scope."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select

from wafa_shared.auth import ADMIN, require
from wafa_shared.deps import PageDep, RuntimeDep, SessionDep
from wafa_shared.inbox import replay_dead_letter
from wafa_shared.observability import DLQ_SIZE
from wafa_shared.pagination import Page, keyset_page
from wafa_shared.platform_models import DeadLetter
from wafa_shared.problems import not_found
from wafa_shared.relay import outbox_stats, republish_since

router = APIRouter(prefix="/v1/ops", tags=["operations"], dependencies=[require(ADMIN)])


class DeadLetterOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    consumer: str
    topic: str
    partition: int
    offset: int
    event_id: str | None
    event_type: str | None
    error: str
    attempts: int
    status: str
    created_at: datetime
    replayed_at: datetime | None
    payload: str


class ReplayResult(BaseModel):
    id: int
    status: str


class RepublishIn(BaseModel):
    since: datetime


@router.get("/dead-letters", response_model=Page[DeadLetterOut], summary="Events consumers gave up on")
async def list_dead_letters(session: SessionDep, page: PageDep, status: Annotated[Literal["dead", "replayed"] | None, Query()] = "dead") -> Any:
    stmt = select(DeadLetter)
    if status:
        stmt = stmt.where(DeadLetter.status == status)
    items, nxt = await keyset_page(session, stmt, [DeadLetter.id], page, lambda d: [d.id])
    return Page[DeadLetterOut](items=[DeadLetterOut.model_validate(i) for i in items], next_cursor=nxt)


@router.post("/dead-letters/{dead_letter_id}/replay", response_model=ReplayResult, summary="Apply a dead letter again")
async def replay(dead_letter_id: int, runtime: RuntimeDep, session: SessionDep) -> ReplayResult:
    specs = {c.name: c for c in runtime.spec.consumers}
    try:
        status = await replay_dead_letter(runtime.sessions, specs, dead_letter_id, runtime.spec.name)
    except KeyError:
        raise not_found("Dead letter", dead_letter_id) from None
    dead = await session.scalar(select(func.count()).select_from(DeadLetter).where(DeadLetter.status == "dead"))
    DLQ_SIZE.labels(runtime.spec.name).set(dead or 0)
    return ReplayResult(id=dead_letter_id, status=status)


@router.get("/outbox", summary="Outbox backlog and retention")
async def outbox(session: SessionDep) -> dict[str, Any]:
    return await outbox_stats(session)


@router.post("/outbox/republish", summary="Publish retained events again (after a broker lost data)")
async def republish(body: RepublishIn, runtime: RuntimeDep) -> dict[str, int]:
    count = await republish_since(runtime.sessions, body.since)
    runtime.outbox_committed()
    return {"queued": count}


@router.post("/jobs/{name}/run", summary="Run a time-driven job now")
async def run_job(name: str, runtime: RuntimeDep) -> dict[str, Any]:
    job = runtime.jobs.get(name)
    if job is None:
        raise not_found("Job", name)
    result = await job.run(runtime)
    return {"job": name, "result": result}
