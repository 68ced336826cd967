"""Rewards are redeemed atomically: never beyond the balance or the stock, oldest points first."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

from loyalty_testkit import T0, D, buy, create_program, enrol, ledger, member

from wafa_shared.clock import ManualClock


async def create_reward(svc: Any, **overrides: Any) -> dict[str, Any]:
    body = {"name": "Coffee voucher", "kind": "discount_voucher", "cost_points": "10", "cost": "3.50", **overrides}
    r = await svc.client.post("/v1/rewards", json=body, headers=svc.auth("loyalty:write"))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def redeem(svc: Any, cid: uuid.UUID, reward_id: str, key: str | None = None) -> Any:
    headers = svc.auth("loyalty:write") | ({"Idempotency-Key": key} if key else {})
    return await svc.client.post("/v1/redemptions", json={"customer_id": str(cid), "reward_id": reward_id}, headers=headers)


async def test_100_concurrent_redemptions_against_one_balance_never_overdraw(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0), db_pool_size=20) as svc:
        await create_program(svc)
        cid = await enrol(svc)
        await buy(svc, cid, "255")  # 255 points: room for 25 redemptions of 10
        reward = await create_reward(svc)
        results = await asyncio.gather(*[redeem(svc, cid, reward["id"]) for _ in range(100)])
        statuses = Counter(r.status_code for r in results)
        assert statuses == {201: 25, 409: 75}
        assert all(r.json()["type"].endswith("/insufficient-points") for r in results if r.status_code == 409)
        assert D((await member(svc, cid))["available"]) == D(5)
        entries = await ledger(svc, cid)
        redeems = [e for e in entries if e["kind"] == "redeem"]
        assert len(redeems) == 25
        # the balance after each entry is a running total that never dips below zero
        assert [D(e["balance_after"]) for e in redeems] == [D(255 - 10 * (i + 1)) for i in range(25)]


async def test_concurrent_redemptions_never_oversell_stock_and_respect_the_per_customer_limit(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0), db_pool_size=20) as svc:
        await create_program(svc)
        members = [await enrol(svc) for _ in range(6)]
        for cid in members:
            await buy(svc, cid, "100")
        reward = await create_reward(svc, stock=4, per_customer_limit=1)
        results = await asyncio.gather(*[redeem(svc, cid, reward["id"]) for cid in members for _ in range(2)])
        ok = [r for r in results if r.status_code == 201]
        assert len(ok) == 4
        assert len({r.json()["customer_id"] for r in ok}) == 4  # one each
        slugs = Counter(r.json()["type"].rsplit("/", 1)[1] for r in results if r.status_code != 201)
        assert set(slugs) <= {"out-of-stock", "limit-reached"} and sum(slugs.values()) == 8
        listed = (await svc.client.get("/v1/rewards", headers=svc.auth("loyalty:read"))).json()["items"]
        assert listed[0]["stock"] == 0
        spent = [D((await member(svc, cid))["available"]) for cid in members]
        assert sorted(spent) == [D(90)] * 4 + [D(100)] * 2


async def test_redemption_is_idempotent_with_a_key_and_emits_points_and_reward_events(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc)
        cid = await enrol(svc)
        await buy(svc, cid, "50")
        reward = await create_reward(svc)
        a = await redeem(svc, cid, reward["id"], key="k-1")
        b = await redeem(svc, cid, reward["id"], key="k-1")
        assert a.status_code == b.status_code == 201 and a.json() == b.json()
        assert D((await member(svc, cid))["available"]) == D(40)
        ev = await svc.wait_for_event("wafa.loyalty", lambda e: e.type == "loyalty.reward.redeemed")
        assert ev.data["redemption_id"] == a.json()["id"] and D(ev.data["cost"]) == D("3.50") and ev.data["currency"] == "SAR"
        ev = await svc.wait_for_event("wafa.loyalty", lambda e: e.type == "loyalty.points.redeemed")
        assert D(ev.data["points"]) == D(10) and ev.subject == str(cid)


async def test_tier_restricted_and_out_of_window_rewards_are_refused_and_change_nothing(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc)
        cid = await enrol(svc)
        await buy(svc, cid, "100")
        gold_only = await create_reward(svc, min_tier="Gold")
        expired = await create_reward(svc, valid_until="2026-01-01T00:00:00+00:00")
        r1 = await redeem(svc, cid, gold_only["id"])
        r2 = await redeem(svc, cid, expired["id"])
        r3 = await redeem(svc, uuid.uuid4(), gold_only["id"])
        assert (r1.status_code, r1.json()["type"].rsplit("/", 1)[1]) == (422, "tier-required")
        assert (r2.status_code, r2.json()["type"].rsplit("/", 1)[1]) == (422, "reward-not-available")
        assert r3.status_code == 404
        assert D((await member(svc, cid))["available"]) == D(100)
        assert [e["kind"] for e in await ledger(svc, cid)] == ["earn"]


async def test_redemption_never_lowers_qualifying_credit(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc)
        cid = await enrol(svc)
        await buy(svc, cid, "400")
        reward = await create_reward(svc, cost_points="300")
        assert (await redeem(svc, cid, reward["id"])).status_code == 201
        m = await member(svc, cid)
        assert D(m["available"]) == D(100)
        assert D(m["qualifying"]["credit"]) == D(400)
        assert m["next_tier"]["message"] == "spend 600.00 SAR more by 2026-12-31 to reach Gold"
