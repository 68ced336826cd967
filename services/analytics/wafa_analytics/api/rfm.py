"""`GET /v1/rfm`: RFM quintile scores and segments as of an instant."""

from collections import Counter
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from wafa_analytics import service
from wafa_analytics.api.params import TierDep
from wafa_analytics.schemas import RfmGridOut, RfmOut
from wafa_shared.auth import require
from wafa_shared.deps import PageDep, RuntimeDep, SessionDep
from wafa_shared.pagination import decode_cursor, encode_cursor

router = APIRouter(prefix="/v1", tags=["rfm"])


@router.get("/rfm", response_model=RfmOut, dependencies=[require("analytics:read")], summary="RFM scores and segments")
async def get_rfm(
    session: SessionDep,
    runtime: RuntimeDep,
    page: PageDep,
    as_of: Annotated[datetime | None, Query(description="default: now")] = None,
    segment: Annotated[str | None, Query(description="only customers of this segment")] = None,
) -> Any:
    when = as_of or runtime.clock.now()
    rows = sorted(await service.rfm_scores(session, runtime.settings, when), key=lambda r: str(r["customer_id"]))
    counts = Counter(r["segment"] for r in rows)
    if segment:
        rows = [r for r in rows if r["segment"] == segment]
    if page.cursor:
        after = decode_cursor(page.cursor, 1)[0]
        rows = [r for r in rows if str(r["customer_id"]) > after]
    items = rows[: page.limit]
    nxt = encode_cursor([str(items[-1]["customer_id"])]) if len(rows) > page.limit else None
    return {"as_of": when, "currency": runtime.settings.currency, "segments": dict(counts), "items": items, "next_cursor": nxt}


@router.get(
    "/rfm/grid",
    response_model=RfmGridOut,
    dependencies=[require("analytics:read")],
    summary="Customers per (recency, frequency) score cell, with their segment and mean spend",
    description="Scores are computed over all customers (as in `GET /v1/rfm`); `tier` only narrows whom the cells count.",
)
async def get_rfm_grid(
    session: SessionDep, runtime: RuntimeDep, tier: TierDep = None, as_of: Annotated[datetime | None, Query(description="default: now")] = None
) -> Any:
    when = as_of or runtime.clock.now()
    return {"as_of": when, "tier": tier, "currency": runtime.settings.currency, **await service.rfm_grid(session, runtime.settings, when, tier=tier)}
