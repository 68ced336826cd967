"""Touch definitions are stored once and shared by the touches made from them."""

from __future__ import annotations

import importlib.util
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import text
from touch_testkit import register, timeline, wait_profile

from wafa_shared.clock import ManualClock
from wafa_touch.definitions import Definition

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
MIGRATION = Path(__file__).parents[1] / "wafa_touch/migrations/versions/touch_scheduler_0007_touch_definitions.py"


def migration_digest_sql() -> str:
    spec = importlib.util.spec_from_file_location("touch_scheduler_0007", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.digest("t")  # type: ignore[no-any-return]


async def test_the_migrations_digest_of_an_existing_touch_is_the_one_a_new_touch_computes(wafa_service: Any) -> None:
    """Migration 0007 computed the digests of existing touches in SQL; a new enrolment must meet
    the same rows, or every definition would be stored twice."""
    definitions = [
        Definition("birthday-card", "birthday-card", "عيد ميلاد سعيد", True, Decimal("1.5"), 72),
        Definition("call", "check-in-call", "", False, Decimal("0"), 24),
        Definition("gift", "useful-give-away", "a line;\twith, odd characters", True, Decimal("12.25"), 1440),
    ]
    row = (
        "SELECT CAST(:def_key AS varchar(80)) AS def_key, CAST(:content_key AS varchar(80)) AS content_key, CAST(:key_message AS text) AS key_message, "
        "CAST(:referral_cta AS boolean) AS referral_cta, CAST(:cost AS numeric(12, 2)) AS cost, CAST(:sla_hours AS integer) AS sla_hours"
    )
    async with wafa_service("touch-scheduler") as svc, svc.runtime.sessions() as session:
        for d in definitions:
            assert await session.scalar(text(f"SELECT {migration_digest_sql()} FROM ({row}) t"), d.__dict__) == d.digest


async def test_touches_share_their_definitions_and_an_edited_plan_leaves_earlier_touches_as_they_were(wafa_service: Any) -> None:
    async with wafa_service("touch-scheduler", clock=ManualClock(T0)) as svc:
        touch = {
            "key": "hello",
            "channel": "email",
            "content_key": "monthly-newsletter",
            "key_message": "Welcome",
            "cost": "0.40",
            "timing": {"kind": "cadence", "offset_days": 1, "every_days": 1, "count": 3},
        }
        body = {"key": "three", "name": "Three", "holdout_pct": "0", "touches": [touch]}
        pid = (await svc.client.post("/v1/plans", json=body, headers=svc.auth("touches:write"))).json()["id"]
        async with svc.runtime.sessions() as session:  # stored with the plan: enrolments only look it up
            assert await session.scalar(text("SELECT key_message FROM touch_definitions WHERE def_key = 'hello'")) == "Welcome"
        first, second = uuid.uuid4(), uuid.uuid4()
        for cid in (first, second):
            await register(svc, cid, T0)
            await wait_profile(svc, cid, 5)
        r = await svc.client.post(f"/v1/plans/{pid}/enrolments", json={"customer_id": str(first)}, headers=svc.auth("touches:write"))
        assert r.status_code == 201
        edited = {"touches": [{**touch, "key_message": "Welcome back", "cost": "0.55"}]}
        assert (await svc.client.put(f"/v1/plans/{pid}", json=edited, headers=svc.auth("touches:write"))).status_code == 200
        r = await svc.client.post(f"/v1/plans/{pid}/enrolments", json={"customer_id": str(second)}, headers=svc.auth("touches:write"))
        assert r.status_code == 201

        before = await timeline(svc, first)
        after = await timeline(svc, second)
        assert {(t["def_key"], t["content_key"], t["key_message"], t["cost"], t["referral_cta"]) for t in before} == {
            ("hello", "monthly-newsletter", "Welcome", "0.40", True)
        }
        assert {(t["key_message"], t["cost"]) for t in after} == {("Welcome back", "0.55")}
        assert len(before) == len(after) == 3
        async with svc.runtime.sessions() as session:
            stored = (await session.execute(text("SELECT key_message, cost FROM touch_definitions WHERE def_key = 'hello' ORDER BY id"))).all()
            shared = await session.scalar(text("SELECT count(DISTINCT definition_id) FROM touches"))
        assert [(m, str(c)) for m, c in stored] == [("Welcome", "0.40"), ("Welcome back", "0.55")]
        assert shared == 2
