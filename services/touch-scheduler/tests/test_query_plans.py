"""Every materialised touch enters each index on `touches`, so the scheduled ones have a narrow
partial index of their own: the due-time lookups must reach it, and the lookups by any other
status the (status, due_at) one, whatever the plan's parameters. Touches have no index by
customer: a customer's are found through their enrolments and the one-off index."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import ClauseElement, bindparam, func, select, update
from sqlalchemy.dialects import postgresql
from touch_testkit import first_buyer, timeline

from wafa_shared.clock import ManualClock
from wafa_shared.testing.plans import generic_plan
from wafa_touch import repository as repo
from wafa_touch.models import SCHEDULED, SKIPPED, Touch

NOW = bindparam("now", type_=postgresql.TIMESTAMP(timezone=True))
SOON = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("stmt", "index"),
    [
        (select(Touch).where(SCHEDULED, Touch.due_at <= NOW).order_by(Touch.due_at).limit(500).with_for_update(skip_locked=True), "ix_touches_due_scheduled"),
        (repo._ANNOUNCE, "ix_touches_due_scheduled"),
        (select(Touch.channel).where(SCHEDULED, Touch.due_at >= NOW), "ix_touches_due_scheduled"),
        (repo._LEASE_DELIVERIES, "ix_touches_status_due"),
        (select(Touch.reason).where(SKIPPED), "ix_touches_status_due"),
        (repo.touches_query("sent", SOON, None).order_by(Touch.due_at, Touch.id).limit(50), "ix_touches_status_due"),
        (repo.touches_query("scheduled", SOON, None).order_by(Touch.due_at, Touch.id).limit(50), "ix_touches_due_scheduled"),
    ],
    ids=["due touches", "announce", "upcoming load", "deliveries to retry", "skipped by reason", "list of sent touches", "list of scheduled touches"],
)
async def test_touch_lookups_by_status_reach_their_partial_index(wafa_service: Any, stmt: ClauseElement, index: str) -> None:
    async with wafa_service("touch-scheduler") as svc, svc.runtime.sessions() as session:
        plan = await generic_plan(session, stmt)
        assert index in plan and "Seq Scan" not in plan, plan


CUSTOMER = uuid.UUID(int=7)


@pytest.mark.parametrize(
    "stmt",
    [
        repo.timeline_query(CUSTOMER).order_by(repo.TIMELINE_ORDER, Touch.id).limit(50),
        repo.touches_query(None, None, CUSTOMER).order_by(Touch.due_at, Touch.id).limit(50),
        update(Touch).where(Touch.status.in_(("scheduled", "dispatching")), repo.of_customers([CUSTOMER])).values(status="skipped"),
    ],
    ids=["timeline", "touch list of a customer", "skip a customer's touches"],
)
async def test_a_customers_touches_are_found_through_the_enrolment_and_one_off_indexes(wafa_service: Any, stmt: ClauseElement) -> None:
    async with wafa_service("touch-scheduler") as svc, svc.runtime.sessions() as session:
        plan = await generic_plan(session, stmt)
        assert "ix_touches_enrolment" in plan and "ix_touches_one_off_customer" in plan and "Seq Scan" not in plan, plan


async def test_the_due_touches_of_some_customers_are_found_by_an_index(wafa_service: Any) -> None:
    """A detractor's service-recovery call is decided at once: its customer's due touches come
    from the due-time index or the customer ones, whichever the planner prefers."""
    stmt = select(Touch).where(SCHEDULED, Touch.due_at <= func.now(), repo.of_customers([CUSTOMER, uuid.UUID(int=8)])).with_for_update(skip_locked=True)
    async with wafa_service("touch-scheduler") as svc, svc.runtime.sessions() as session:
        plan = await generic_plan(session, stmt)
        assert "Seq Scan" not in plan, plan


async def test_the_touch_list_filters_by_status_with_the_value_inlined_safely(wafa_service: Any) -> None:
    """The status is rendered into the SQL (for the partial indexes): a quote in it is a value to
    match, never SQL."""
    t0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
    async with wafa_service("touch-scheduler", clock=ManualClock(t0)) as svc:
        cid, planned = await first_buyer(svc, t0)

        async def listed(status: str) -> list[dict[str, Any]]:
            r = await svc.client.get("/v1/touches", params={"status": status, "customer_id": str(cid), "limit": 100}, headers=svc.auth("touches:read"))
            assert r.status_code == 200, r.text
            return r.json()["items"]  # type: ignore[no-any-return]

        assert {t["id"] for t in await listed("scheduled")} == {t["id"] for t in planned if t["status"] == "scheduled"}
        assert await listed("scheduled' OR '1'='1") == []
        assert len(await timeline(svc, cid)) == 33
