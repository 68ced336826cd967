"""Ops endpoints every service has: dead letters (list, replay), outbox backlog and
re-publication, and running a time-driven job now (all need the `admin` scope), and a read-only
health summary (`GET /v1/ops/summary`, scope `ops:read`) that dashboards poll."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal

from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, text

from wafa_shared.auth import ADMIN, require
from wafa_shared.deps import PageDep, RuntimeDep, SessionDep
from wafa_shared.inbox import InboxConsumer, replay_dead_letter
from wafa_shared.lifecycle import Runtime
from wafa_shared.observability import DLQ_SIZE
from wafa_shared.pagination import Page, keyset_page
from wafa_shared.platform_models import DeadLetter
from wafa_shared.problems import not_found
from wafa_shared.relay import outbox_stats, republish_since

OPS_READ = "ops:read"
router = APIRouter(prefix="/v1/ops", tags=["operations"])
_admin = APIRouter(dependencies=[require(ADMIN)])


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


@_admin.get("/dead-letters", response_model=Page[DeadLetterOut], summary="Events consumers gave up on")
async def list_dead_letters(session: SessionDep, page: PageDep, status: Annotated[Literal["dead", "replayed"] | None, Query()] = "dead") -> Any:
    stmt = select(DeadLetter)
    if status:
        stmt = stmt.where(DeadLetter.status == status)
    items, nxt = await keyset_page(session, stmt, [DeadLetter.id], page, lambda d: [d.id])
    return Page[DeadLetterOut](items=[DeadLetterOut.model_validate(i) for i in items], next_cursor=nxt)


@_admin.post("/dead-letters/{dead_letter_id}/replay", response_model=ReplayResult, summary="Apply a dead letter again")
async def replay(dead_letter_id: Annotated[int, Path(ge=1, le=2**63 - 1)], runtime: RuntimeDep, session: SessionDep) -> ReplayResult:
    specs = {c.name: c for c in runtime.spec.consumers}
    try:
        status = await replay_dead_letter(runtime.sessions, specs, dead_letter_id, runtime.spec.name)
    except KeyError:
        raise not_found("Dead letter", dead_letter_id) from None
    dead = await session.scalar(select(func.count()).select_from(DeadLetter).where(DeadLetter.status == "dead"))
    DLQ_SIZE.labels(runtime.spec.name).set(dead or 0)
    return ReplayResult(id=dead_letter_id, status=status)


@_admin.get("/outbox", summary="Outbox backlog and retention")
async def outbox(session: SessionDep) -> dict[str, Any]:
    return await outbox_stats(session)


@_admin.post("/outbox/republish", summary="Publish retained events again (after a broker lost data)")
async def republish(body: RepublishIn, runtime: RuntimeDep) -> dict[str, int]:
    count = await republish_since(runtime.sessions, body.since)
    runtime.outbox_committed()
    return {"queued": count}


@_admin.post("/jobs/{name}/run", summary="Run a time-driven job now")
async def run_job(name: str, runtime: RuntimeDep) -> dict[str, Any]:
    job = runtime.jobs.get(name)
    if job is None:
        raise not_found("Job", name)
    result = await job.run(runtime)
    return {"job": name, "result": result}


class ConsumerLagOut(BaseModel):
    consumer: str
    group_id: str
    lag: int | None = Field(description="messages on its topics not yet committed by the group (None: the broker did not answer)")
    error: str | None = None


class OpsSummaryOut(BaseModel):
    service: str
    outbox_backlog: int = Field(description="events committed but not yet published")
    oldest_unpublished_at: datetime | None
    dead_letters: int = Field(description="events consumers gave up on, waiting for a decision")
    webhooks_retrying: int = Field(description="outbound deliveries that failed at least once and will be retried")
    webhooks_dead: int = Field(description="outbound deliveries that exhausted their retries")
    consumers: list[ConsumerLagOut]


_SUMMARY = text(
    """
    SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL) AS backlog,
           (SELECT min(created_at) FROM outbox WHERE published_at IS NULL) AS oldest,
           (SELECT count(*) FROM dead_letters WHERE status = 'dead') AS dead_letters,
           (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' AND attempts > 0) AS retrying,
           (SELECT count(*) FROM webhook_deliveries WHERE status = 'dead') AS dead
    """
)


async def group_lag(bootstrap: str, group_id: str, topics: list[str], timeout_s: float = 5.0) -> int:
    """Messages on `topics` past the group's committed offsets, read from the broker (so it is
    right even while the consumer is idle or down). A partition the group never committed
    counts from its beginning. The reader names the group to fetch its offsets but never joins
    it (no subscription), so the running consumers are not rebalanced. (The admin client's
    OffsetFetch fails against Tansu 0.6; the consumer's works. Tansu 0.6 also reports a
    partition's end as its last record batch's base offset + 1, so there a lag is undercounted
    when batches hold several records; a caught-up group still reads 0.)"""

    async def read() -> int:
        reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False, request_timeout_ms=int(timeout_s * 1000))
        await reader.start()
        try:
            known = await reader.topics()
            parts = [TopicPartition(t, p) for t in topics if t in known for p in sorted(reader.partitions_for_topic(t) or ())]
            if not parts:
                return 0
            ends = await reader.end_offsets(parts)
            begins = await reader.beginning_offsets(parts)
            lag = 0
            for tp in parts:
                done = await reader.committed(tp)
                lag += max(0, ends[tp] - (done if done is not None and done >= 0 else begins[tp]))
            return lag
        finally:
            await reader.stop()

    return await asyncio.wait_for(read(), timeout_s)


async def consumer_lags(consumers: list[InboxConsumer], bootstrap: str) -> list[ConsumerLagOut]:
    out = []
    for c in consumers:
        try:
            out.append(ConsumerLagOut(consumer=c.name, group_id=c.group_id, lag=await group_lag(bootstrap, c.group_id, c.topics)))
        except Exception as exc:  # noqa: BLE001 - a broker outage is a health finding, not an error of this endpoint
            out.append(ConsumerLagOut(consumer=c.name, group_id=c.group_id, lag=None, error=repr(exc)[:300]))
    return out


async def summary_of(session: SessionDep, runtime: Runtime) -> OpsSummaryOut:
    row = (await session.execute(_SUMMARY)).one()
    return OpsSummaryOut(
        service=runtime.spec.name,
        outbox_backlog=row.backlog,
        oldest_unpublished_at=row.oldest,
        dead_letters=row.dead_letters,
        webhooks_retrying=row.retrying,
        webhooks_dead=row.dead,
        consumers=await consumer_lags(runtime.consumers, runtime.settings.kafka_bootstrap_servers),
    )


@router.get(
    "/summary",
    response_model=OpsSummaryOut,
    dependencies=[require(OPS_READ)],
    summary="Outbox backlog, dead letters, failing webhooks and consumer lag of this service",
    description="Read-only, for dashboards (scope `ops:read`; `admin` has it). Consumer lag is read from the broker: "
    "the end offsets of the consumer's topics minus its group's committed offsets.",
)
async def summary(session: SessionDep, runtime: RuntimeDep) -> OpsSummaryOut:
    return await summary_of(session, runtime)


router.include_router(_admin)
