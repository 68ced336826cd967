"""Single purchases arriving together are committed together (`purchase_queue`), and each
request still gets exactly its own outcome."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from loyalty_testkit import T0, D, create_program, enrol, member, purchase_body
from sqlalchemy import text

from wafa_loyalty import purchases, referrals
from wafa_loyalty.purchase_queue import PurchaseQueue
from wafa_loyalty.schemas import PurchaseIn
from wafa_shared.clock import ManualClock
from wafa_shared.observability import request_id_var
from wafa_shared.testing.statements import statements


def _writes(seen: list[str]) -> int:
    return sum(1 for s in seen if s.lstrip().startswith("WITH p AS"))


async def test_purchases_waiting_together_are_one_transaction_with_their_own_results(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc)
        members = [await enrol(svc) for _ in range(12)]
        bodies = [PurchaseIn.model_validate(purchase_body(members[i], "10")) for i in range(12)]
        stranger = PurchaseIn.model_validate(purchase_body(uuid.uuid4(), "10"))
        queue = PurchaseQueue(svc.runtime, {}, lanes=1)
        with statements(svc) as seen:
            results = await asyncio.gather(*(queue.record(b) for b in [*bodies, stranger, bodies[0]]))
        # the first caller's lane found all fourteen waiting: one group (one write) of a purchase per
        # customer, then the repeated order alone (a replay: no write)
        assert _writes(seen) == 1, seen
        assert [status for status, _, _ in results] == [201] * 12 + [422, 200]
        assert results[12][2] is not None and results[12][2].slug == "unknown-customer"
        assert results[13][1] == results[0][1]  # the same order again: its first result
        for cid in members:
            assert D((await member(svc, cid))["available"]) == 10


async def test_a_group_that_fails_as_a_whole_is_retried_item_by_item(wafa_service: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    real = purchases.record_batch

    async def no_groups(session: Any, items: list[PurchaseIn], *args: Any) -> list[purchases.Result]:
        if len(items) > 1:
            raise RuntimeError("the group's transaction failed")
        return await real(session, items, *args)

    monkeypatch.setattr(purchases, "record_batch", no_groups)
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc)
        members = [await enrol(svc) for _ in range(6)]
        queue = PurchaseQueue(svc.runtime, {}, lanes=1)
        results = await asyncio.gather(*(queue.record(PurchaseIn.model_validate(purchase_body(cid, "5"))) for cid in members))
        assert [status for status, _, _ in results] == [201] * 6
        for cid in members:
            assert D((await member(svc, cid))["available"]) == 5


async def test_concurrent_requests_through_the_api(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc)
        cid = await enrol(svc)
        write = svc.auth("loyalty:write")
        bodies = [purchase_body(cid, "7") for _ in range(20)]
        bad = {**purchase_body(cid, "7"), "currency": "USD"}
        responses = await asyncio.gather(*(svc.client.post("/v1/purchases", json=b, headers=write) for b in [*bodies, bad]))
        assert [r.status_code for r in responses] == [201] * 20 + [422]
        assert responses[20].headers["content-type"].startswith("application/problem+json")
        assert len({r.json()["id"] for r in responses[:20]}) == 20
        assert D((await member(svc, cid))["available"]) == 140


async def test_each_grouped_purchase_publishes_under_its_own_request(wafa_service: Any) -> None:
    """The lane runs in the first caller's task; every event still carries its own request's id."""
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc, tiers=[{"name": "Silver", "threshold": "0"}, {"name": "Gold", "threshold": "50"}], rules={"referral_bonus": "500"})
        members = [await enrol(svc) for _ in range(3)]
        advocate = await enrol(svc)
        async with svc.runtime.transaction() as session:  # members[2] was referred: its first purchase holds the advocate's bonus
            await referrals.on_referral(session, uuid.uuid4(), advocate, members[2], T0, T0)
        queue = PurchaseQueue(svc.runtime, {}, lanes=1)

        async def as_request(i: int) -> purchases.Result:
            request_id_var.set(f"req-{i}")  # this task's own context, as the request middleware does
            return await queue.record(PurchaseIn.model_validate(purchase_body(members[i % 3], "60")))

        results = await asyncio.gather(*(as_request(i) for i in range(6)))
        by_purchase = {str(out.id): f"req-{i}" for i, (_, out, _) in enumerate(results) if out is not None}
        async with svc.runtime.sessions() as session:
            rows = (await session.execute(text("SELECT type, payload->'data' AS data, headers->>'x-request-id' AS rid FROM outbox"))).all()
        recorded = {r.data["purchase_id"]: r.rid for r in rows if r.type == "loyalty.purchase.recorded"}
        assert recorded == by_purchase
        # each member's upgrade to Gold follows its first purchase (the first group), under that request
        tiers = {r.data["customer_id"]: r.rid for r in rows if r.type == "loyalty.tier.changed" and r.data["to_tier"] == "Gold"}
        assert tiers == {str(members[i]): f"req-{i}" for i in range(3)}
        # the referral bonus the referee's first purchase released, under that purchase's request
        assert [r.rid for r in rows if r.type == "loyalty.referral.bonus.held"] == ["req-2"]


async def test_a_members_purchases_waiting_together_earn_as_one_after_the_other(wafa_service: Any) -> None:
    """A member's purchases waiting together are recorded in rounds: the second after the first's upgrade."""
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc, tiers=[{"name": "Silver", "threshold": "0"}, {"name": "Gold", "threshold": "50", "earn_multiplier": "1.5"}])
        cid = await enrol(svc)
        queue = PurchaseQueue(svc.runtime, {}, lanes=1)
        results = await asyncio.gather(*(queue.record(PurchaseIn.model_validate(purchase_body(cid, "60"))) for _ in range(2)))
        assert [(status, out.points if out else None) for status, out, _ in results] == [(201, D(60)), (201, D(90))]
        assert (await member(svc, cid))["tier"] == "Gold"
