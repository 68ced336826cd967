"""Dispatch: messages go to channel partners as Standard Webhooks (verified with the
`standardwebhooks` package), calls become tasks, the fatigue policy postpones, a dead partner
is retried without blocking others, receipts are verified."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from standardwebhooks.webhooks import Webhook
from touch_testkit import customer_id, register, timeline, wait_profile

from wafa_shared.clock import ManualClock
from wafa_shared.testing.events import read_events
from wafa_shared.testing.webhook_sink import webhook_sink
from wafa_shared.webhooks import signing

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)  # 12:00 in Riyadh

PLAN = {
    "key": "dispatch-test",
    "name": "Dispatch test",
    "touches": [
        {"key": "hello", "channel": "email", "content_key": "monthly-newsletter", "timing": {"kind": "after_event", "offset_hours": 1}},
        {"key": "tip", "channel": "sms", "content_key": "sms-tip", "timing": {"kind": "after_event", "offset_days": 2}},
        {
            "key": "call",
            "channel": "phone",
            "content_key": "check-in-call",
            "priority": 50,
            "sla_hours": 48,
            "timing": {"kind": "after_event", "offset_days": 3},
        },
    ],
}


async def setup(svc: Any, url: str, *, sms_url: str | None = None) -> tuple[str, dict[str, str], uuid.UUID]:
    secrets = {}
    for channel, u in (("email", url), ("sms", sms_url or url)):
        r = await svc.client.put(f"/v1/channels/{channel}", json={"url": u}, headers=svc.auth())
        assert r.status_code == 200, r.text
        secrets[channel] = r.json()["secret"]
    r = await svc.client.post("/v1/plans", json=PLAN, headers=svc.auth("touches:write"))
    assert r.status_code == 201, r.text
    plan_id = r.json()["id"]
    r = await svc.client.put("/v1/team-members/amal", json={"active": True}, headers=svc.auth("touches:write"))
    assert r.status_code == 200
    cid = customer_id("dispatch-test", pct="0")
    await register(svc, cid, T0)
    await wait_profile(svc, cid, 5)
    r = await svc.client.post(f"/v1/plans/{plan_id}/enrolments", json={"customer_id": str(cid)}, headers=svc.auth("touches:write"))
    assert r.status_code == 201, r.text
    return plan_id, secrets, cid


async def run_dispatch(svc: Any) -> dict[str, int]:
    r = await svc.client.post("/v1/ops/jobs/dispatch/run", headers=svc.auth())
    assert r.status_code == 200, r.text
    return r.json()


async def test_messages_are_signed_webhooks_calls_become_tasks_and_fatigue_postpones(wafa_service) -> None:
    clock = ManualClock(T0)
    async with webhook_sink() as sink, wafa_service("touch-scheduler", clock=clock) as svc:
        _, secrets, cid = await setup(svc, sink.url)
        await run_dispatch(svc)
        assert sink.received == []  # nothing due yet

        clock.advance(timedelta(hours=1))
        await run_dispatch(svc)
        assert len(sink.received) == 1
        msg = sink.received[0]
        payload = Webhook(secrets["email"]).verify(msg.body, msg.headers)
        assert payload["channel"] == "email" and payload["customer"]["email"] == "layla@example.com" and payload["referral_cta"] is True
        touches = {t["def_key"]: t for t in await timeline(svc, cid)}
        assert touches["hello"]["status"] == "sent" and touches["hello"]["sent_at"] == (T0 + timedelta(hours=1)).isoformat().replace("+00:00", "Z")

        # Day 3: the SMS (day 2) and the call (day 3, higher priority) are both due; the call goes
        # first; the SMS would be the third contact in 7 days (max 2), so it waits until the
        # email leaves the 7-day window.
        clock.advance(timedelta(days=3))
        now = clock.now()
        await run_dispatch(svc)
        touches = {t["def_key"]: t for t in await timeline(svc, cid)}
        assert touches["call"]["status"] == "task"
        assert touches["tip"]["status"] == "scheduled" and touches["tip"]["reason"] == "postponed:max-per-7d"
        assert datetime.fromisoformat(touches["tip"]["due_at"]) == T0 + timedelta(hours=1, days=7)
        r = await svc.client.get("/v1/tasks", params={"customer_id": str(cid)}, headers=svc.auth("touches:read"))
        [task] = r.json()["items"]
        assert task["assignee"] == "amal" and task["kind"] == "phone"
        assert datetime.fromisoformat(task["due_at"]) == now + timedelta(hours=48)

        r = await svc.client.post(
            f"/v1/tasks/{task['id']}/complete",
            json={"outcome": "referral_obtained", "referral": {"display_name": "Omar", "phone": "+966500000002"}},
            headers=svc.auth("touches:write"),
        )
        assert r.status_code == 200 and r.json()["outcome"] == "referral_obtained"
        again = await svc.client.post(f"/v1/tasks/{task['id']}/complete", json={"outcome": "declined"}, headers=svc.auth("touches:write"))
        assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json")
        r = await svc.client.get("/v1/tasks", params={"customer_id": str(cid)}, headers=svc.auth("touches:read"))
        assert r.json()["items"][0]["outcome"] == "referral_obtained"

        events = await read_events(svc.bootstrap, svc.topic("wafa.touch"), until=lambda evs: any(e.type == "touch.referral.obtained" for e in evs))
        types = [e.type for e in events if e.subject == str(cid)]
        assert types.count("touch.sent") == 1 and types.count("task.assigned") == 1 and types.count("touch.completed") == 1
        referral = next(e for e in events if e.type == "touch.referral.obtained")
        assert referral.data["referee_name"] == "Omar"


async def test_a_dead_partner_is_retried_with_backoff_and_never_blocks_another_channel(wafa_service) -> None:
    clock = ManualClock(T0)
    async with webhook_sink() as good, webhook_sink() as dead, wafa_service("touch-scheduler", clock=clock) as svc:
        r = await svc.client.put("/v1/fatigue-policy", json={"max_per_7d": 5, "max_per_30d": 10, "min_gap_hours": 0}, headers=svc.auth("touches:write"))
        assert r.status_code == 200
        dead.status = 503
        _, _, cid = await setup(svc, good.url, sms_url=dead.url)
        clock.advance(timedelta(days=2, hours=1))
        await run_dispatch(svc)
        assert len(good.received) == 1 and len(dead.received) == 1
        touches = {t["def_key"]: t for t in await timeline(svc, cid)}
        assert touches["hello"]["status"] == "sent"
        assert (touches["tip"]["status"], touches["tip"]["attempts"]) == ("dispatching", 1)
        await run_dispatch(svc)  # the retry is not due yet (about 5 s later)
        assert len(dead.received) == 1
        dead.status = 200
        clock.advance(timedelta(seconds=10))
        await run_dispatch(svc)
        touches = {t["def_key"]: t for t in await timeline(svc, cid)}
        assert (touches["tip"]["status"], touches["tip"]["attempts"]) == ("sent", 2)
        assert dead.received[0].headers["webhook-id"] == dead.received[1].headers["webhook-id"]  # partner can dedupe


async def test_delivery_receipts_are_verified_and_applied_once(wafa_service) -> None:
    clock = ManualClock(T0)
    async with webhook_sink() as sink, wafa_service("touch-scheduler", clock=clock) as svc:
        _, secrets, cid = await setup(svc, sink.url)
        clock.advance(timedelta(hours=1))
        await run_dispatch(svc)
        touch_id = json.loads(sink.received[0].body)["touch_id"]
        body = json.dumps({"touch_id": touch_id, "status": "opened", "occurred_at": T0.isoformat()}).encode()

        forged = signing.signed_headers(signing.new_secret(), "rcpt-1", body)
        r = await svc.client.post("/v1/inbound/delivery-receipts", content=body, headers=forged)
        assert r.status_code == 401 and r.json()["type"].endswith("webhook-signature-invalid")
        assert {t["def_key"]: t for t in await timeline(svc, cid)}["hello"]["delivery_status"] is None

        headers = signing.signed_headers(secrets["email"], "rcpt-1", body)
        r = await svc.client.post("/v1/inbound/delivery-receipts", content=body, headers=headers)
        assert r.status_code == 200 and r.json()["delivery_status"] == "opened"
        late = json.dumps({"touch_id": touch_id, "status": "delivered", "occurred_at": T0.isoformat()}).encode()
        r = await svc.client.post("/v1/inbound/delivery-receipts", content=late, headers=signing.signed_headers(secrets["email"], "rcpt-2", late))
        assert r.json()["delivery_status"] == "opened"  # a late 'delivered' never moves it back
        replay = await svc.client.post("/v1/inbound/delivery-receipts", content=body, headers=headers)
        assert replay.status_code == 200 and replay.json() == {"touch_id": touch_id, "status": "opened", "delivery_status": "opened"}
        async with svc.runtime.sessions() as s:
            from sqlalchemy import func, select

            from wafa_touch.models import DeliveryReceipt

            assert await s.scalar(select(func.count()).select_from(DeliveryReceipt)) == 2


async def test_two_dispatchers_running_at_once_never_contact_a_customer_beyond_the_policy(wafa_service) -> None:
    import asyncio

    from wafa_touch.dispatch import run_dispatch as dispatch_job

    clock = ManualClock(T0)
    async with webhook_sink() as sink, wafa_service("touch-scheduler", clock=clock, dispatch_batch_size=1) as svc:
        await svc.client.put("/v1/channels/email", json={"url": sink.url}, headers=svc.auth())
        await svc.client.put("/v1/fatigue-policy", json={"max_per_7d": 1, "max_per_30d": 1, "min_gap_hours": 0}, headers=svc.auth())
        touches = [
            {"key": f"m{i}", "channel": "email", "content_key": "monthly-newsletter", "timing": {"kind": "after_event", "offset_hours": 1}} for i in range(6)
        ]
        pid = (await svc.client.post("/v1/plans", json={"key": "burst", "name": "Burst", "touches": touches}, headers=svc.auth())).json()["id"]
        cid = uuid.uuid4()
        await register(svc, cid, T0)
        await wait_profile(svc, cid, 5)
        assert (await svc.client.post(f"/v1/plans/{pid}/enrolments", json={"customer_id": str(cid)}, headers=svc.auth())).status_code == 201
        clock.advance(timedelta(hours=1))
        await asyncio.gather(dispatch_job(svc.runtime), dispatch_job(svc.runtime), dispatch_job(svc.runtime))
        items = await timeline(svc, cid)
        assert sorted(t["status"] for t in items) == ["sent"] + ["skipped"] * 5
        assert {t["reason"] for t in items if t["status"] == "skipped"} == {"fatigue:max-per-30d"}  # no room within their 7-day window
        assert len(sink.received) == 1


async def test_dispatchers_creating_tasks_at_once_assign_them_without_deadlock(wafa_service) -> None:
    """Tasks for customers owned by different team members, made by three dispatchers at once
    in small batches: each batch locks the members it counts in name order, so none deadlocks."""
    import asyncio

    from wafa_touch.dispatch import run_dispatch as dispatch_job

    clock = ManualClock(T0)
    async with wafa_service("touch-scheduler", clock=clock, dispatch_batch_size=3) as svc:
        for name in ("amal", "khalid", "noura"):
            await svc.client.put(f"/v1/team-members/{name}", json={"active": True}, headers=svc.auth("touches:write"))
        call = {"key": "call", "channel": "phone", "content_key": "check-in-call", "sla_hours": 24, "timing": {"kind": "after_event", "offset_hours": 1}}
        pid = (await svc.client.post("/v1/plans", json={"key": "calls", "name": "Calls", "touches": [call]}, headers=svc.auth())).json()["id"]
        owners = {uuid.uuid4(): ("khalid", "noura", None)[i % 3] for i in range(18)}
        for cid, owner in owners.items():
            await register(svc, cid, T0, owner=owner)
        for cid in owners:
            await wait_profile(svc, cid, 5)
            assert (await svc.client.post(f"/v1/plans/{pid}/enrolments", json={"customer_id": str(cid)}, headers=svc.auth())).status_code == 201
        clock.advance(timedelta(hours=1))
        await asyncio.gather(*(dispatch_job(svc.runtime) for _ in range(3)))
        tasks = (await svc.client.get("/v1/tasks", params={"limit": 100}, headers=svc.auth())).json()["items"]
        assert len(tasks) == 18
        assignee = {uuid.UUID(t["customer_id"]): t["assignee"] for t in tasks}
        assert all(assignee[cid] == owner for cid, owner in owners.items() if owner)
        assert {assignee[cid] for cid, owner in owners.items() if not owner} <= {"amal", "khalid", "noura"}
        team = (await svc.client.get("/v1/team-members", headers=svc.auth())).json()
        counted = {m["name"]: m["assigned_count"] for m in team}
        assert counted == {name: sum(1 for a in assignee.values() if a == name) for name in counted}


async def test_a_dispatch_batch_chosen_as_a_deadlock_victim_is_run_again(wafa_service, monkeypatch) -> None:
    """PostgreSQL rolls a deadlock's victim back whole; the run decides the batch again instead of
    answering 500 (the triggers consumer can lock customers in another order)."""
    from sqlalchemy.exc import DBAPIError

    from wafa_touch import dispatch

    class Deadlock(Exception):
        sqlstate = "40P01"

    real, calls = dispatch.decide_due, []

    async def first_one_deadlocks(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise DBAPIError("SELECT pg_advisory_xact_lock(...)", None, Deadlock("deadlock detected"))
        return await real(*args, **kwargs)

    clock = ManualClock(T0)
    async with webhook_sink() as sink, wafa_service("touch-scheduler", clock=clock) as svc:
        _, _, cid = await setup(svc, sink.url)
        clock.advance(timedelta(hours=1))
        monkeypatch.setattr(dispatch, "decide_due", first_one_deadlocks)
        totals = await run_dispatch(svc)
        assert len(calls) == 2 and totals["result"]["sent"] == 1 and len(sink.received) == 1, totals
        touches = {t["def_key"]: t for t in await timeline(svc, cid)}
        assert touches["hello"]["status"] == "sent"
