"""Plans through the API: built-ins listed and editable, custom plans validated (impossible
rules are a 422 problem naming the field, and change nothing), auth, ops views."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from touch_testkit import register, wait_profile

from wafa_shared.clock import ManualClock

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
GOOD_TOUCH = {"key": "hello", "channel": "email", "content_key": "monthly-newsletter", "timing": {"kind": "cadence", "offset_days": 1}}


def plan(**touch: Any) -> dict[str, Any]:
    return {"key": "custom", "name": "Custom", "touches": [{**GOOD_TOUCH, **touch}]}


async def plan_keys(svc: Any) -> list[str]:
    r = await svc.client.get("/v1/plans", headers=svc.auth("touches:read"))
    return [p["key"] for p in r.json()["items"]]


async def test_built_in_plans_are_listed_with_their_touch_counts(wafa_service) -> None:
    async with wafa_service("touch-scheduler", clock=ManualClock(T0)) as svc:
        r = await svc.client.get("/v1/plans", headers=svc.auth("touches:read"))
        plans = {p["key"]: p for p in r.json()["items"]}
        assert {k: p["touches_per_year"] for k, p in plans.items()} == {
            "advocate-appreciation": 33,
            "client-for-life": 33,
            "service-recovery": 3,
            "win-back": 5,
        }
        assert all(p["builtin"] for p in plans.values())
        assert plans["client-for-life"]["trigger"] == "first_purchase" and plans["client-for-life"]["holdout_pct"] == "10.00"


async def test_impossible_plans_are_rejected_with_the_failing_field_and_create_nothing(wafa_service) -> None:
    async with wafa_service("touch-scheduler", clock=ManualClock(T0)) as svc:
        cases = [
            (plan(timing={"kind": "cadence", "offset_days": -3}), "touches.0.timing.offset_days"),
            (plan(channel="carrier-pigeon"), "touches.0.channel"),
            (plan(content_key="no-such-template"), "touches.0.content_key"),
            (plan(timing={"kind": "holiday", "holiday": "Eid al-Fitr", "calendar": "XX"}), "touches.0.timing.calendar"),
            (plan(timing={"kind": "fixed_date", "month": 2, "day": 30}), "touches.0.timing"),
            (plan(cost="-1"), "touches.0.cost"),
        ]
        for body, field in cases:
            r = await svc.client.post("/v1/plans", json=body, headers=svc.auth("touches:write"))
            assert r.status_code == 422, (field, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert any(e["field"].endswith(field) or e["field"] == field for e in r.json()["errors"]), (field, r.json())
        assert "custom" not in await plan_keys(svc)


async def test_a_custom_plan_can_be_created_edited_and_needs_the_write_scope(wafa_service) -> None:
    async with wafa_service("touch-scheduler", clock=ManualClock(T0)) as svc:
        r = await svc.client.post("/v1/plans", json=plan(), headers=svc.auth("touches:read"))
        assert r.status_code == 403
        r = await svc.client.post("/v1/plans", json=plan(), headers={**svc.auth("touches:write"), "Idempotency-Key": "k1"})
        assert r.status_code == 201
        again = await svc.client.post("/v1/plans", json=plan(), headers={**svc.auth("touches:write"), "Idempotency-Key": "k1"})
        assert again.json()["id"] == r.json()["id"]
        pid = r.json()["id"]
        r = await svc.client.put(f"/v1/plans/{pid}", json={"holdout_pct": "25", "monthly_budget": "100.00"}, headers=svc.auth("touches:write"))
        assert r.status_code == 200 and (r.json()["holdout_pct"], r.json()["monthly_budget"], r.json()["version"]) == ("25.00", "100.00", 2)
        bad = await svc.client.put(f"/v1/plans/{pid}", json={"touches": [{**GOOD_TOUCH, "content_key": "nope"}]}, headers=svc.auth("touches:write"))
        assert bad.status_code == 422
        r = await svc.client.get(f"/v1/plans/{pid}", headers=svc.auth("touches:read"))
        assert r.json()["version"] == 2 and r.json()["touches"][0]["content_key"] == "monthly-newsletter"
        assert (await svc.client.get("/v1/plans")).status_code == 401


async def test_manual_enrol_then_unenrol_skips_the_future_touches_and_ops_views_count_them(wafa_service) -> None:
    async with wafa_service("touch-scheduler", clock=ManualClock(T0)) as svc:
        body = {
            "key": "two",
            "name": "Two",
            "holdout_pct": "0",
            "touches": [{**GOOD_TOUCH, "timing": {"kind": "cadence", "offset_days": 1, "every_days": 1, "count": 2}}],
        }
        pid = (await svc.client.post("/v1/plans", json=body, headers=svc.auth("touches:write"))).json()["id"]
        cid = uuid.uuid4()
        await register(svc, cid, T0)
        await wait_profile(svc, cid, 5)
        r = await svc.client.post(f"/v1/plans/{pid}/enrolments", json={"customer_id": str(cid)}, headers=svc.auth("touches:write"))
        assert r.status_code == 201 and r.json()["status"] == "active"
        dup = await svc.client.post(f"/v1/plans/{pid}/enrolments", json={"customer_id": str(cid)}, headers=svc.auth("touches:write"))
        assert dup.status_code == 409
        load = (await svc.client.get("/v1/ops/touch-load", params={"days": 7}, headers=svc.auth())).json()
        assert load == [{"day": "2026-01-11", "channel": "email", "touches": 1}, {"day": "2026-01-12", "channel": "email", "touches": 1}]
        r = await svc.client.delete(f"/v1/plans/{pid}/enrolments/{cid}", headers=svc.auth("touches:write"))
        assert r.json() == {"skipped": 2}
        skipped = (await svc.client.get("/v1/ops/skipped-touches", headers=svc.auth())).json()
        assert skipped == [{"reason": "unenrolled", "touches": 2}]
        assert (await svc.client.get("/v1/ops/touch-load", headers=svc.auth())).json() == []
        assert (await svc.client.delete(f"/v1/plans/{pid}/enrolments/{cid}", headers=svc.auth("touches:write"))).status_code == 404
        r = await svc.client.post(f"/v1/plans/{pid}/enrolments", json={"customer_id": str(cid)}, headers=svc.auth("touches:write"))
        assert r.status_code == 201  # re-enrolment after unenrolment is allowed


async def test_overdue_tasks_are_counted_per_team_member(wafa_service) -> None:
    clock = ManualClock(T0)
    async with wafa_service("touch-scheduler", clock=clock) as svc:
        body = {
            "key": "calls",
            "name": "Calls",
            "touches": [{"key": "c", "channel": "phone", "content_key": "check-in-call", "sla_hours": 24, "timing": {"kind": "after_event"}}],
        }
        pid = (await svc.client.post("/v1/plans", json=body, headers=svc.auth("touches:write"))).json()["id"]
        for name in ("amal", "badr"):
            await svc.client.put(f"/v1/team-members/{name}", json={"active": True}, headers=svc.auth("touches:write"))
        cids = [uuid.uuid4() for _ in range(3)]
        for cid in cids:
            await register(svc, cid, T0)
        for cid in cids:
            await wait_profile(svc, cid, 5)
            await svc.client.post(f"/v1/plans/{pid}/enrolments", json={"customer_id": str(cid)}, headers=svc.auth("touches:write"))
        await svc.client.post("/v1/ops/jobs/dispatch/run", headers=svc.auth())
        clock.advance(timedelta(hours=25))
        r = await svc.client.get("/v1/ops/overdue-tasks", headers=svc.auth())
        rows = {row["assignee"]: row["overdue"] for row in r.json()}
        assert rows == {"amal": 2, "badr": 1}  # round robin


async def test_the_fatigue_policy_rejects_contradictions_and_keeps_the_old_one(wafa_service) -> None:
    async with wafa_service("touch-scheduler", clock=ManualClock(T0)) as svc:
        r = await svc.client.put("/v1/fatigue-policy", json={"max_per_7d": 5, "max_per_30d": 3}, headers=svc.auth("touches:write"))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "max_per_30d"
        r = await svc.client.put("/v1/fatigue-policy", json={"max_per_7d": 0}, headers=svc.auth("touches:write"))
        assert r.status_code == 422
        r = await svc.client.get("/v1/fatigue-policy", headers=svc.auth("touches:read"))
        assert (r.json()["max_per_7d"], r.json()["max_per_30d"], r.json()["min_gap_hours"]) == (2, 6, 24)
