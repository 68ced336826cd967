"""Loyalty plans its prepared statements generically (`Settings.db_plan_cache_mode`): the lot
lookups of redemption, maturation and expiry must still reach their partial indexes, which a
generic plan can use only when the index predicate is written literally in the SQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Select, bindparam, select, text
from sqlalchemy.dialects import postgresql

from wafa_loyalty.models import LOT_OPEN, LOT_PENDING, PointLot
from wafa_shared.testing.plans import generic_plan, numbered

CUSTOMER, NOW = bindparam("customer", type_=postgresql.UUID()), bindparam("now", type_=postgresql.TIMESTAMP(timezone=True))


@pytest.mark.parametrize(
    ("stmt", "index"),
    [
        (select(PointLot).where(PointLot.customer_id == CUSTOMER, PointLot.state == "available", LOT_OPEN), "ix_point_lots_customer_open"),
        (select(PointLot.customer_id).where(LOT_PENDING, PointLot.matures_at <= NOW), "ix_point_lots_matures"),
    ],
    ids=["open lots of a customer", "lots due to mature"],
)
async def test_generic_plans_reach_the_partial_indexes(wafa_service: Any, stmt: Select[Any], index: str) -> None:
    async with wafa_service("loyalty") as svc, svc.runtime.sessions() as session:
        assert (await session.scalar(text("SHOW plan_cache_mode"))) == "force_generic_plan"
        plan = await generic_plan(session, stmt)
        assert index in plan, plan


def test_a_bound_zero_would_miss_the_index() -> None:
    """Why LOT_OPEN exists: SQLAlchemy binds a plain 0, which the generic plan cannot match."""
    assert "$" in numbered(select(PointLot).where(PointLot.remaining > 0))[0].split("WHERE")[1]
    assert "$" not in numbered(select(PointLot).where(LOT_OPEN))[0].split("WHERE")[1]


async def test_locking_a_groups_members_and_their_advocates_reads_the_primary_key(wafa_service: Any) -> None:
    """The advocates join the locked set through an array (an OR with a subquery would scan
    every member on each purchase)."""
    from wafa_loyalty.repository import _LOCK_MANY

    async with wafa_service("loyalty") as svc, svc.runtime.sessions() as session:
        plan = await generic_plan(session, _LOCK_MANY.sql, len(_LOCK_MANY.names))
        assert "Seq Scan" not in plan and "pk_members" in plan and "ix_referral_bonuses_referee_id" in plan, plan
