"""The customer's timeline and the touch list: `GET /v1/customers/{id}/touches`, `GET /v1/touches`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from wafa_shared.auth import require
from wafa_shared.deps import PageDep, SessionDep
from wafa_shared.pagination import Page, keyset_page
from wafa_touch import repository as repo
from wafa_touch.models import Touch
from wafa_touch.schemas import TouchOut

router = APIRouter(prefix="/v1", tags=["touches"])


def _key(t: Touch) -> list[Any]:
    return [(t.due_at or t.created_at).isoformat(), str(t.id)]


@router.get(
    "/customers/{customer_id}/touches",
    response_model=Page[TouchOut],
    dependencies=[require("touches:read")],
    summary="Timeline: past and future touches with status and reasons",
)
async def timeline(customer_id: uuid.UUID, session: SessionDep, page: PageDep) -> Any:
    q = repo.timeline_query(customer_id)
    items, nxt = await keyset_page(session, q, [repo.TIMELINE_ORDER, Touch.id], page, _key)
    return Page[TouchOut](items=[TouchOut.model_validate(t) for t in items], next_cursor=nxt)


@router.get("/touches", response_model=Page[TouchOut], dependencies=[require("touches:read")], summary="Touches by status and due time")
async def list_touches(
    session: SessionDep,
    page: PageDep,
    status: Annotated[str | None, Query(description="scheduled, dispatching, sent, failed, task, completed, skipped")] = None,
    due_before: Annotated[datetime | None, Query()] = None,
    customer_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Any:
    q = repo.touches_query(status, due_before, customer_id)
    items, nxt = await keyset_page(session, q, [Touch.due_at, Touch.id], page, _key)
    return Page[TouchOut](items=[TouchOut.model_validate(t) for t in items], next_cursor=nxt)
