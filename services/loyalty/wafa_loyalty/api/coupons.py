"""`/v1/coupons`: redeem at the POS, look up, void, import pools, generate in bulk."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from wafa_loyalty import coupons
from wafa_loyalty.schemas import CouponBatchIn, CouponBatchOut, CouponDetailOut, CouponOut, CouponRedeemIn, PoolImportIn, PoolImportOut
from wafa_shared.auth import Principal, require
from wafa_shared.deps import RuntimeDep, SessionDep
from wafa_shared.idempotency import IdempotencyKeyHeader, idempotent
from wafa_shared.lifecycle import Runtime
from wafa_shared.problems import ProblemError

router = APIRouter(prefix="/v1", tags=["coupons"])


def _limiter(runtime: Runtime) -> coupons.FailureLimiter:
    limiter = runtime.state.get("coupon_limiter")
    if limiter is None:
        limiter = runtime.state["coupon_limiter"] = coupons.FailureLimiter(runtime.settings.coupon_failure_limit, runtime.settings.coupon_failure_window_s)
    return limiter  # type: ignore[no-any-return]


@router.post("/coupons/{code}/redeem", response_model=CouponOut)
async def redeem_coupon(
    code: str,
    session: SessionDep,
    runtime: RuntimeDep,
    caller: Annotated[Principal, require("loyalty:write")],
    key: IdempotencyKeyHeader = None,
    body: CouponRedeemIn | None = None,
) -> Any:
    """Redeem a code once (partner POS). Atomic under concurrent requests: one succeeds, the rest
    get 409 `coupon-already-redeemed`. 404 `coupon-not-found`, 409 `coupon-voided`, 422
    `coupon-expired`; repeated failures from one caller get 429. With an `Idempotency-Key`, a
    retry of a successful redemption returns its first result."""
    payload = body or CouponRedeemIn()
    limiter = _limiter(runtime)

    async def create() -> tuple[int, Any]:
        return 200, await coupons.redeem_code(session, code, payload, caller.subject, runtime.clock.now(), limiter)

    return await idempotent(session, scope=f"coupon:{caller.subject}:{code}", key=key, body=payload, create=create)


@router.get("/coupons/{code}", response_model=CouponDetailOut, dependencies=[require("loyalty:read")])
async def get_coupon(code: str, session: SessionDep) -> Any:
    """A code's state and its history (issued, redeemed, expired, voided)."""
    return await coupons.detail(session, code)


@router.post("/coupons/{code}/void", response_model=CouponOut)
async def void_coupon(code: str, session: SessionDep, runtime: RuntimeDep, caller: Annotated[Principal, require("loyalty:write")]) -> Any:
    return await coupons.void(session, code, caller.subject, runtime.clock.now())


@router.post("/rewards/{reward_id}/coupons/import", status_code=201, response_model=PoolImportOut)
async def import_pool(
    reward_id: uuid.UUID, body: PoolImportIn, session: SessionDep, runtime: RuntimeDep, caller: Annotated[Principal, require("loyalty:write")]
) -> Any:
    """Import a partner's pool of codes for a reward (all or nothing; duplicates are a 422)."""
    return PoolImportOut(imported=await coupons.import_pool(session, reward_id, body, caller.subject, runtime.clock.now()))


@router.post("/coupons/batches", status_code=202, response_model=CouponBatchOut, dependencies=[require("loyalty:write")])
async def create_batch(body: CouponBatchIn, session: SessionDep, runtime: RuntimeDep) -> Any:
    """Generate N unique codes in the background; follow `progress` on `GET /v1/coupons/batches/{id}`."""
    batch = await coupons.create_batch(session, body)
    out = coupons.batch_out(batch)
    await session.commit()
    tasks: set[asyncio.Task[None]] = runtime.state.setdefault("coupon_tasks", set())
    task = asyncio.create_task(coupons.generate_batch(runtime.sessions, batch.id, runtime.clock.now()))
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return out


@router.get("/coupons/batches/{batch_id}", response_model=CouponBatchOut, dependencies=[require("loyalty:read")])
async def get_batch(batch_id: uuid.UUID, session: SessionDep) -> Any:
    from wafa_loyalty.models import CouponBatch

    batch = await session.get(CouponBatch, batch_id)
    if batch is None:
        raise ProblemError(404, "not-found", f"Batch {batch_id} does not exist")
    return coupons.batch_out(batch)


@router.get("/coupons/batches/{batch_id}/codes", response_model=list[str], dependencies=[require("loyalty:read")])
async def get_batch_codes(
    batch_id: uuid.UUID, session: SessionDep, limit: Annotated[int, Query(ge=1, le=10_000)] = 1000, after: Annotated[str | None, Query()] = None
) -> Any:
    """The generated codes (to hand out), in code order; page with `after` = the last code."""
    return await coupons.batch_codes(session, batch_id, limit, after)
