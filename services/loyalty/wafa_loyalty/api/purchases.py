"""`/v1/purchases`: record purchases (single, batch) and refunds."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import Response

from wafa_loyalty import purchases
from wafa_loyalty.purchase_queue import PurchaseQueue
from wafa_loyalty.schemas import BatchIn, BatchItemOut, BatchOut, PurchaseIn, PurchaseOut, RefundIn, RefundOut
from wafa_shared import collector
from wafa_shared.auth import Principal, require
from wafa_shared.deps import RuntimeDep, SessionDep
from wafa_shared.idempotency import IdempotencyKeyHeader, idempotent
from wafa_shared.lifecycle import Runtime
from wafa_shared.problems import ProblemError

router = APIRouter(prefix="/v1/purchases", tags=["purchases"])


def program_cache(runtime: Runtime) -> dict[Any, Any]:
    """Programs and tiers cached per process for a few seconds (`purchases.PROGRAM_TTL_S`)."""
    cache: dict[Any, Any] = runtime.state.setdefault("program_cache", {})
    return cache


def purchase_queue(runtime: Runtime) -> PurchaseQueue:
    queue = runtime.state.get("purchase_queue")
    if queue is None:
        queue = runtime.state["purchase_queue"] = PurchaseQueue(runtime, program_cache(runtime), lanes=runtime.settings.purchase_lanes)
    return queue  # type: ignore[no-any-return]


@router.post(
    "",
    status_code=201,
    response_model=PurchaseOut,
    dependencies=[require("loyalty:write")],
    responses={
        200: {"model": PurchaseOut, "description": "The order was already recorded; its first result."},
        409: {"description": "Order id reused with other content."},
    },
)
async def record_purchase(body: PurchaseIn, runtime: RuntimeDep) -> Any:
    """Record a purchase and earn its points (idempotent on `order_id`). Points stay pending
    through the return window. 422 for an unknown customer, an unknown currency or one that is
    not the program's, and for non-positive quantities or prices. Purchases arriving together
    are committed together (`purchase_queue`); each answer comes after its commit."""
    status, out, problem = await purchase_queue(runtime).record(body)
    if problem is not None:
        raise problem
    assert out is not None
    return Response(out.model_dump_json(), status_code=status, media_type="application/json")


@router.post(
    "/batch",
    response_model=BatchOut,
    dependencies=[require("loyalty:write")],
    responses={413: {"description": "More purchases than `MAX_BATCH_PURCHASES` in one call."}},
)
async def record_batch(body: BatchIn, session: SessionDep, runtime: RuntimeDep) -> Any:
    """Up to 10,000 purchases (e.g. a historical import); each item gets its own result
    (201 created, 200 already recorded, or its problem) and bad items do not stop the others."""
    if len(body.purchases) > runtime.settings.max_batch_purchases:
        raise ProblemError(413, "batch-too-large", f"At most {runtime.settings.max_batch_purchases} purchases per call.")
    results = await purchases.record_batch(session, body.purchases, runtime.clock.now(), program_cache(runtime))
    with collector.paused():  # thousands of items, all alive until serialised
        items = [BatchItemOut(index=i, status=status, purchase=out, error=err and err.to_dict()) for i, (status, out, err) in enumerate(results)]
        out = BatchOut(
            created=sum(1 for i in items if i.status == 201),
            replayed=sum(1 for i in items if i.status == 200),
            failed=sum(1 for i in items if i.status >= 400),
            items=items,
        )
        # serialised once by pydantic (not validated again against `response_model`)
        return Response(out.model_dump_json(), media_type="application/json")


@router.get("/{purchase_id}", response_model=PurchaseOut, dependencies=[require("loyalty:read")])
async def get_purchase(purchase_id: uuid.UUID, session: SessionDep) -> Any:
    return await purchases.get_purchase(session, purchase_id)


@router.post("/{purchase_id}/refund", status_code=201, response_model=RefundOut)
async def refund(
    purchase_id: uuid.UUID,
    body: RefundIn,
    session: SessionDep,
    runtime: RuntimeDep,
    caller: Annotated[Principal, require("loyalty:write")],
    key: IdempotencyKeyHeader = None,
) -> Any:
    """Refund part or all of a purchase: its points and tier-qualifying credit are reversed in
    proportion, even if the points were spent (then the balance goes negative, or the shortfall
    is written off, per the program). Send an `Idempotency-Key` to retry safely."""

    async def create() -> tuple[int, Any]:
        return 201, await purchases.refund(session, purchase_id, body, runtime.clock.now())

    return await idempotent(session, scope=f"refunds:{caller.subject}:{purchase_id}", key=key, body=body, create=create)
