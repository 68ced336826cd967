"""The rewards catalogue and redemption.

Redemption is atomic: the member row and the reward row are locked (`FOR UPDATE`) in that
order, so concurrent redemptions never overdraw a balance nor oversell stock; points,
stock, the coupon and both events change in one transaction or not at all.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_loyalty import coupons
from wafa_loyalty import points_ledger as ledger
from wafa_loyalty.models import Program, Redemption, Reward, Tier
from wafa_loyalty.programs import default_program
from wafa_loyalty.schemas import RedemptionIn, RedemptionOut, RewardIn, RewardOut
from wafa_shared.events.loyalty import PointsRedeemed, RewardRedeemed
from wafa_shared.outbox import publish
from wafa_shared.problems import ProblemError


async def create_reward(session: AsyncSession, body: RewardIn) -> RewardOut:
    program = await default_program(session)
    if program is None:
        raise ProblemError(409, "no-program", "Create a program before its rewards.")
    rank = None
    if body.min_tier is not None:
        tier = (await session.scalars(select(Tier).where(Tier.program_id == program.id, Tier.name == body.min_tier))).first()
        if tier is None:
            raise ProblemError(
                422, "unknown-tier", f"Tier {body.min_tier} does not exist", errors=[{"field": "min_tier", "in": "body", "message": "unknown tier"}]
            )
        rank = tier.rank
    reward = Reward(id=uuid.uuid4(), program_id=program.id, min_tier_rank=rank, **body.model_dump(exclude={"min_tier"}))
    session.add(reward)
    await session.flush()
    return RewardOut.model_validate(reward)


async def get_reward(session: AsyncSession, reward_id: uuid.UUID, *, lock: bool = False) -> Reward:
    stmt = select(Reward).where(Reward.id == reward_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    reward = (await session.scalars(stmt)).first()
    if reward is None:
        raise ProblemError(404, "not-found", f"Reward {reward_id} does not exist")
    return reward


async def redeem(session: AsyncSession, body: RedemptionIn, now: datetime) -> RedemptionOut:
    """Spend points on a reward. 409 `insufficient-points`, `out-of-stock`, `limit-reached`;
    422 `reward-not-available` (outside validity) or `tier-required`; 404 unknown member/reward."""
    member = await ledger.lock_member(session, body.customer_id)
    if member is None or member.erased:
        raise ProblemError(404, "not-found", f"Member {body.customer_id} does not exist")
    reward = await get_reward(session, body.reward_id, lock=True)
    if (reward.valid_from and now < reward.valid_from) or (reward.valid_until and now >= reward.valid_until):
        raise ProblemError(422, "reward-not-available", "The reward is outside its validity window.")
    if reward.min_tier_rank is not None and (member.tier_rank is None or member.tier_rank < reward.min_tier_rank):
        raise ProblemError(422, "tier-required", "The member's tier does not give access to this reward.")
    if reward.stock is not None and reward.stock <= 0:
        raise ProblemError(409, "out-of-stock", "The reward is out of stock.")
    if reward.per_customer_limit is not None:
        taken = await session.scalar(select(func.count()).where(Redemption.customer_id == member.customer_id, Redemption.reward_id == reward.id))
        if (taken or 0) >= reward.per_customer_limit:
            raise ProblemError(409, "limit-reached", f"The member already redeemed this reward {taken} times (limit {reward.per_customer_limit}).")
    redemption_id = uuid.uuid4()
    await ledger.spend(session, member, reward.cost_points, now, kind="redeem", rule="reward", redemption_id=redemption_id, reason=reward.name)
    if reward.stock is not None:
        reward.stock -= 1
    code, valid_until = None, None
    if reward.coupon_source != "none":
        valid_until = now + timedelta(days=reward.coupon_valid_days)
        code = await coupons.issue_for_redemption(session, reward, member.customer_id, redemption_id, now, valid_until)
    session.add(
        Redemption(
            id=redemption_id,
            customer_id=member.customer_id,
            reward_id=reward.id,
            points=reward.cost_points,
            cost=reward.cost,
            coupon_code=code,
            occurred_at=now,
        )
    )
    program = await session.get(Program, reward.program_id)
    await publish(
        session,
        PointsRedeemed(customer_id=member.customer_id, points=reward.cost_points, redemption_id=redemption_id, occurred_at=now),
        subject=member.customer_id,
    )
    await publish(
        session,
        RewardRedeemed(
            customer_id=member.customer_id,
            reward_id=reward.id,
            redemption_id=redemption_id,
            points=reward.cost_points,
            cost=reward.cost,
            currency=program.currency if program else None,
            occurred_at=now,
        ),
        subject=member.customer_id,
    )
    return RedemptionOut(
        id=redemption_id,
        customer_id=member.customer_id,
        reward_id=reward.id,
        points=reward.cost_points,
        balance_after=member.available,
        coupon_code=code,
        coupon_valid_until=valid_until,
        occurred_at=now,
    )
