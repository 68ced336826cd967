"""`/v1/segments`: dynamic (rule) and static (manual) segments, members and export."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from wafa_customer import segments
from wafa_customer.models import Customer, Segment
from wafa_customer.schemas import CountOut, CustomerSummary, MembersIn, RulePreviewIn, SegmentIn, SegmentOut
from wafa_shared.auth import require
from wafa_shared.deps import PageDep, RuntimeDep, SessionDep
from wafa_shared.pagination import Page, keyset_page

router = APIRouter(prefix="/v1/segments", tags=["segments"])
READ = require("customers:read")
WRITE = require("customers:write")


@router.post("", status_code=201, response_model=SegmentOut, dependencies=[WRITE], summary="Create a dynamic or static segment")
async def create_segment(body: SegmentIn, session: SessionDep, runtime: RuntimeDep) -> Any:
    """422 `invalid-segment-rule` names the part of the rule that is wrong."""
    now = runtime.clock.now()
    seg = await segments.create_segment(
        session, name=body.name, kind=body.kind, rule=body.rule, description=body.description, members=body.customer_ids, now=now
    )
    out = SegmentOut.model_validate(seg)
    out.member_count = await segments.count_members(session, seg, now)
    return out


@router.get("", response_model=Page[SegmentOut], dependencies=[READ], summary="Segments")
async def list_segments(session: SessionDep, page: PageDep) -> Any:
    items, nxt = await keyset_page(session, select(Segment), [Segment.created_at, Segment.id], page, lambda s: [s.created_at.isoformat(), str(s.id)])
    return Page[SegmentOut](items=[SegmentOut.model_validate(s) for s in items], next_cursor=nxt)


@router.post("/preview", response_model=CountOut, dependencies=[READ], summary="How many customers a rule selects now")
async def preview(body: RulePreviewIn, session: SessionDep, runtime: RuntimeDep) -> Any:
    return CountOut(count=await segments.preview(session, body.rule, runtime.clock.now()))


@router.get("/{segment_id}", response_model=SegmentOut, dependencies=[READ], summary="A segment and its member count now")
async def get_segment(segment_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep) -> Any:
    seg = await segments.get_segment(session, segment_id)
    out = SegmentOut.model_validate(seg)
    out.member_count = await segments.count_members(session, seg, runtime.clock.now())
    return out


@router.get("/{segment_id}/members", response_model=Page[CustomerSummary], dependencies=[READ], summary="Current members, evaluated in SQL")
async def list_members(segment_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep, page: PageDep) -> Any:
    seg = await segments.get_segment(session, segment_id)
    stmt = segments.members_statement(seg, runtime.clock.now())
    items, nxt = await keyset_page(session, stmt, [Customer.id], page, lambda c: [str(c.id)])
    return Page[CustomerSummary](items=[CustomerSummary.model_validate(c) for c in items], next_cursor=nxt)


@router.post("/{segment_id}/members", response_model=CountOut, dependencies=[WRITE], summary="Add customers to a static segment")
async def add_members(segment_id: uuid.UUID, body: MembersIn, session: SessionDep) -> Any:
    seg = await segments.get_segment(session, segment_id)
    return CountOut(count=await segments.add_members(session, seg, body.customer_ids))


@router.post("/{segment_id}/members/remove", status_code=204, dependencies=[WRITE], summary="Remove customers from a static segment")
async def remove_members(segment_id: uuid.UUID, body: MembersIn, session: SessionDep) -> None:
    seg = await segments.get_segment(session, segment_id)
    await segments.remove_members(session, seg, body.customer_ids)


@router.get("/{segment_id}/export", dependencies=[READ], summary="Members as CSV (streamed)", response_class=StreamingResponse)
async def export_members(segment_id: uuid.UUID, runtime: RuntimeDep, session: SessionDep) -> StreamingResponse:
    seg = await segments.get_segment(session, segment_id)
    now = runtime.clock.now()

    async def body() -> AsyncIterator[str]:
        async with runtime.sessions() as s:
            buf = io.StringIO()
            writer = csv.writer(buf)
            writer.writerow(segments.EXPORT_COLUMNS)
            n = 0
            async for row in segments.export_rows(s, seg, now):
                writer.writerow(row)
                n += 1
                if n % 1000 == 0:
                    yield buf.getvalue()
                    buf.seek(0)
                    buf.truncate()
            yield buf.getvalue()

    return StreamingResponse(body(), media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="segment-{seg.id}.csv"'})
