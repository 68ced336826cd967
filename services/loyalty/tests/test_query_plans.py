"""Loyalty plans its prepared statements generically (`Settings.db_plan_cache_mode`): the lot
lookups of redemption, maturation and expiry must still reach their partial indexes, which a
generic plan can use only when the index predicate is written literally in the SQL."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import Select, bindparam, select, text
from sqlalchemy.dialects import postgresql

from wafa_loyalty.models import LOT_OPEN, LOT_PENDING, PointLot
from wafa_shared.db import driver


def _numbered(stmt: Select[Any]) -> str:
    """The statement's SQL with `$n` placeholders, as asyncpg prepares it."""
    sql = str(stmt.compile(dialect=postgresql.dialect()))
    names: list[str] = []

    def number(m: re.Match[str]) -> str:
        if m.group(1) not in names:
            names.append(m.group(1))
        return f"${names.index(m.group(1)) + 1}"

    return re.sub(r"%\((\w+)\)s", number, sql)


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
        conn = await driver(session)
        await conn.execute(f"SET LOCAL enable_seqscan = off; PREPARE lots AS {_numbered(stmt)}")
        nulls = ", ".join(["NULL"] * len(stmt.compile().params))
        plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN EXECUTE lots({nulls})"))
        assert index in plan, plan


def test_a_bound_zero_would_miss_the_index() -> None:
    """Why LOT_OPEN exists: SQLAlchemy binds a plain 0, which the generic plan cannot match."""
    assert "$" in _numbered(select(PointLot).where(PointLot.remaining > 0)).split("WHERE")[1]
    assert "$" not in _numbered(select(PointLot).where(LOT_OPEN)).split("WHERE")[1]


async def test_locking_a_groups_members_and_their_advocates_reads_the_primary_key(wafa_service: Any) -> None:
    """The advocates join the locked set through an array (an OR with a subquery would scan
    every member on each purchase)."""
    from wafa_loyalty.repository import _LOCK_MANY

    async with wafa_service("loyalty") as svc, svc.runtime.sessions() as session:
        conn = await driver(session)
        await conn.execute(f"SET LOCAL enable_seqscan = off; PREPARE lock_many AS {_LOCK_MANY.sql}")
        plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN EXECUTE lock_many({', '.join(['NULL'] * len(_LOCK_MANY.names))})"))
        assert "Seq Scan" not in plan and "pk_members" in plan and "ix_referral_bonuses_referee_id" in plan, plan
