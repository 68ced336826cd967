"""`/v1/rewards` (the catalogue) and `/v1/redemptions` (spending points on a reward)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from sqlalchemy import select

from wafa_loyalty import rewards
from wafa_loyalty.models import Reward
from wafa_loyalty.schemas import RedemptionIn, RedemptionOut, RewardIn, RewardOut
from wafa_shared.auth import Principal, require
from wafa_shared.deps import PageDep, RuntimeDep, SessionDep
from wafa_shared.idempotency import IdempotencyKeyHeader, idempotent
from wafa_shared.pagination import Page, keyset_page

router = APIRouter(prefix="/v1", tags=["rewards"])


@router.post("/rewards", status_code=201, response_model=RewardOut, dependencies=[require("loyalty:write")])
async def create_reward(body: RewardIn, session: SessionDep) -> Any:
    return await rewards.create_reward(session, body)


@router.get("/rewards", response_model=Page[RewardOut], dependencies=[require("loyalty:read")])
async def list_rewards(session: SessionDep, page: PageDep) -> Any:
    items, nxt = await keyset_page(session, select(Reward), [Reward.created_at, Reward.id], page, lambda r: [r.created_at.isoformat(), str(r.id)])
    return Page[RewardOut](items=[RewardOut.model_validate(r) for r in items], next_cursor=nxt)


@router.post("/redemptions", status_code=201, response_model=RedemptionOut)
async def redeem(
    body: RedemptionIn, session: SessionDep, runtime: RuntimeDep, caller: Annotated[Principal, require("loyalty:write")], key: IdempotencyKeyHeader = None
) -> Any:
    """Spend points on a reward, atomically: never beyond the balance (409 `insufficient-points`)
    or the stock (409 `out-of-stock`); a coupon code is issued when the reward has one."""

    async def create() -> tuple[int, Any]:
        return 201, await rewards.redeem(session, body, runtime.clock.now())

    return await idempotent(session, scope=f"redemptions:{caller.subject}", key=key, body=body, create=create)
