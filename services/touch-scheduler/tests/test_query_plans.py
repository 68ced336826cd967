"""Every materialised touch enters each index on `touches`, so the scheduled ones have a narrow
partial index of their own: the due-time lookups must reach it, and the lookups by any other
status the (status, due_at) one, whatever the plan's parameters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import ClauseElement, bindparam, select
from sqlalchemy.dialects import postgresql

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
