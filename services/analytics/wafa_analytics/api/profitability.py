"""`GET /v1/profitability/whale-curve`: customer profit (activity-based costing) and its curve."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from wafa_analytics import repository, service
from wafa_analytics.api.params import PeriodDep, period_out
from wafa_analytics.schemas import CustomerProfitsOut, WhaleCurveOut
from wafa_shared.auth import require
from wafa_shared.deps import PageDep, RuntimeDep, SessionDep
from wafa_shared.pagination import decode_cursor, encode_cursor

router = APIRouter(prefix="/v1/profitability", tags=["profitability"])


@router.get(
    "/whale-curve",
    response_model=WhaleCurveOut,
    dependencies=[require("analytics:read")],
    summary="Whale curve and profit by tier and RFM segment",
    description="Profit = revenue - refunds - product cost (revenue x product_cost_rate) - cost to serve "
    "(delivered touches by channel, service calls, refunds handled, rewards redeemed).",
)
async def whale_curve(session: SessionDep, runtime: RuntimeDep, p: PeriodDep, points: Annotated[int, Query(ge=2, le=1000)] = 101) -> Any:
    return {"period": period_out(p), "currency": runtime.settings.currency, **await service.profitability(session, runtime.settings, p, max_points=points)}


@router.get(
    "/customers",
    response_model=CustomerProfitsOut,
    dependencies=[require("analytics:read")],
    summary="Customers ranked by profit (most profitable first)",
)
async def customer_profits(session: SessionDep, runtime: RuntimeDep, p: PeriodDep, page: PageDep) -> Any:
    rows = await repository.customer_profits(session, p.start, p.end, currency=runtime.settings.currency, rates=service.rates(runtime.settings))
    rows.sort(key=lambda r: (-r["profit"], str(r["customer_id"])))
    if page.cursor:
        skip = int(decode_cursor(page.cursor, 1)[0])
        rows = rows[skip:]
    else:
        skip = 0
    items = rows[: page.limit]
    nxt = encode_cursor([skip + page.limit]) if len(rows) > page.limit else None
    return {"period": period_out(p), "currency": runtime.settings.currency, "items": items, "next_cursor": nxt}
