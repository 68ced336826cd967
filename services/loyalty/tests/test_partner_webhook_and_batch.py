"""Partner purchases arrive signed (Standard Webhooks) or in batches; both are idempotent."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import orjson
import pytest
from loyalty_testkit import T0, D, buy, create_program, enrol, ledger, member, purchase_body
from sqlalchemy import text

from wafa_loyalty import purchases, repository
from wafa_loyalty.schemas import PurchaseIn
from wafa_shared.clock import ManualClock
from wafa_shared.webhooks import signing

SECRET = signing.new_secret()


async def test_signed_partner_purchase_is_recorded_once_and_replays_return_the_first_result(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0), partner_secrets=[SECRET]) as svc:
        await create_program(svc)
        cid = await enrol(svc)
        body = orjson.dumps(purchase_body(cid, "75", order_id="shop-9001"))
        headers = signing.signed_headers(SECRET, "msg_1", body) | svc.auth()
        first = await svc.client.post("/v1/inbound/purchases", content=body, headers=headers)
        replay = await svc.client.post("/v1/inbound/purchases", content=body, headers=headers)
        assert first.status_code == replay.status_code == 200 and first.json() == replay.json()
        assert D(first.json()["points"]) == D(75)
        # the same order under a new message id is still one purchase
        again = await svc.client.post("/v1/inbound/purchases", content=body, headers=signing.signed_headers(SECRET, "msg_2", body))
        assert again.json()["id"] == first.json()["id"]
        assert D((await member(svc, cid))["available"]) == D(75)
        assert len(await ledger(svc, cid)) == 1


async def test_forged_stale_or_unsigned_partner_purchases_are_rejected_and_write_nothing(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0), partner_secrets=[SECRET]) as svc:
        await create_program(svc)
        cid = await enrol(svc)
        body = orjson.dumps(purchase_body(cid, "75"))
        forged = signing.signed_headers(signing.new_secret(), "m1", body)
        stale = signing.signed_headers(SECRET, "m2", body, timestamp=int(time.time()) - 3600)
        tampered = signing.signed_headers(SECRET, "m3", body)
        cases = [(forged, body, "webhook-signature-invalid"), (stale, body, "webhook-timestamp-stale"), ({}, body, "webhook-signature-missing")]
        cases.append((tampered, body.replace(b'"75"', b'"7500"'), "webhook-signature-invalid"))
        for headers, content, slug in cases:
            r = await svc.client.post("/v1/inbound/purchases", content=content, headers=headers)
            assert (r.status_code, r.json()["type"]) == (401, f"https://wafa.dev/problems/{slug}")
        assert await ledger(svc, cid) == []


async def test_batch_records_each_item_with_its_own_result(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc, rules={"first_purchase_bonus": "10"})
        a, b = await enrol(svc), await enrol(svc)
        items = [
            purchase_body(a, "100", order_id="b-1"),
            purchase_body(uuid.uuid4(), "5", order_id="b-2"),
            purchase_body(a, "100", order_id="b-1"),  # the same order again
            purchase_body(b, "20", order_id="b-3"),
            {**purchase_body(b, "20", order_id="b-4"), "currency": "EUR"},
            purchase_body(a, "50", order_id="b-5"),
        ]
        r = await svc.client.post("/v1/purchases/batch", json={"purchases": items}, headers=svc.auth("loyalty:write"))
        assert r.status_code == 200, r.text
        out = r.json()
        assert (out["created"], out["replayed"], out["failed"]) == (3, 1, 2)
        assert [i["status"] for i in out["items"]] == [201, 422, 200, 201, 422, 201]
        assert out["items"][1]["error"]["type"].endswith("/unknown-customer")
        assert out["items"][4]["error"]["type"].endswith("/currency-mismatch")
        assert D((await member(svc, a))["available"]) == D(160)  # 100 + 10 first-purchase bonus + 50
        assert D((await member(svc, b))["available"]) == D(30)


async def test_yearly_caps_count_earlier_items_of_the_same_batch_and_earlier_single_purchases(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc, rules={"first_purchase_bonus": "10", "caps": {"base_spend": "150", "first_purchase": "5"}})
        a, b = await enrol(svc), await enrol(svc)
        r = await svc.client.post("/v1/purchases", json=purchase_body(a, "60"), headers=svc.auth("loyalty:write"))
        assert r.status_code == 201 and D(r.json()["points"]) == D(65)  # 60 + the bonus capped at 5
        items = [purchase_body(a, "60"), purchase_body(b, "100"), purchase_body(a, "60"), purchase_body(b, "100")]
        r = await svc.client.post("/v1/purchases/batch", json={"purchases": items}, headers=svc.auth("loyalty:write"))
        assert r.status_code == 200, r.text
        assert [D(i["purchase"]["points"]) for i in r.json()["items"]] == [D(60), D(105), D(30), D(50)]
        assert D((await member(svc, a))["available"]) == D(155)
        assert D((await member(svc, b))["available"]) == D(155)
        assert [D(e["points"]) for e in await ledger(svc, a)] == [D(60), D(5), D(60), D(30)]


async def test_a_members_purchases_in_one_batch_earn_as_if_sent_one_by_one(wafa_service: Any) -> None:
    """The first purchase lifts the member to Gold (x1.5): the second, in the same batch, earns
    at Gold, as it would sent alone after the first."""
    tiers = [{"name": "Silver", "threshold": "0"}, {"name": "Gold", "threshold": "50", "earn_multiplier": "1.5"}]
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc, tiers=tiers)
        a, b = await enrol(svc), await enrol(svc)
        items = [purchase_body(a, "60"), purchase_body(b, "10"), purchase_body(a, "60"), purchase_body(a, "20")]
        r = await svc.client.post("/v1/purchases/batch", json={"purchases": items}, headers=svc.auth("loyalty:write"))
        assert r.status_code == 200, r.text
        assert [(i["status"], D(i["purchase"]["points"])) for i in r.json()["items"]] == [(201, D(60)), (201, D(10)), (201, D(90)), (201, D(30))]
        assert ((await member(svc, a))["tier"], D((await member(svc, a))["available"])) == ("Gold", D(180))
        assert (await member(svc, b))["tier"] == "Silver"


async def test_a_batch_written_in_parts_ends_as_if_its_purchases_were_sent_one_by_one(wafa_service: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Parts of two purchases: each part is planned while the one before is written, over three
    rounds (a member who can still reach Gold has one purchase per round). Balances, tiers,
    points, ledgers and each member's events equal those of the same purchases sent one by one."""
    monkeypatch.setattr(purchases, "PART", 2)
    tiers = [{"name": "Silver", "threshold": "0"}, {"name": "Gold", "threshold": "50", "earn_multiplier": "1.5"}]
    plan = [(0, "60"), (1, "10"), (2, "30"), (0, "60"), (3, "5"), (2, "30"), (4, "100"), (0, "20"), (1, "50"), (4, "7"), (4, "9"), (2, "1")]
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc, tiers=tiers, rules={"first_purchase_bonus": "10"})
        batched = [await enrol(svc) for _ in range(5)]
        single = [await enrol(svc) for _ in range(5)]
        items = [purchase_body(batched[m], amount) for m, amount in plan]
        r = await svc.client.post("/v1/purchases/batch", json={"purchases": items}, headers=svc.auth("loyalty:write"))
        assert r.status_code == 200 and r.json()["created"] == len(plan), r.text
        batch_points = [D(i["purchase"]["points"]) for i in r.json()["items"]]
        one_by_one = [D((await buy(svc, single[m], amount))["points"]) for m, amount in plan]
        assert batch_points == one_by_one
        assert [(await member(svc, b))["tier"] for b in batched] == ["Gold", "Gold", "Gold", "Silver", "Gold"]

        def view(m: dict[str, Any]) -> tuple[Any, ...]:
            return m["tier"], D(m["available"]), D(m["pending"])

        def entries(es: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
            return [(e["kind"], D(e["points"]), D(e["balance_after"]), e["rule"]) for e in es]

        async def events(cid: uuid.UUID) -> list[str]:
            async with svc.runtime.sessions() as session:
                return list((await session.execute(text("SELECT type FROM outbox WHERE key = :k ORDER BY id"), {"k": str(cid)})).scalars())

        for b, s in zip(batched, single, strict=True):
            assert view(await member(svc, b)) == view(await member(svc, s))
            assert entries(await ledger(svc, b)) == entries(await ledger(svc, s))
            published = await events(b)
            assert "loyalty.purchase.recorded" in published and published == await events(s), published


async def test_a_batch_cancelled_while_a_part_is_written_waits_for_the_write_and_keeps_nothing(wafa_service: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The connection is idle again before the rollback: the pool gets it back usable, and
    neither part of the cancelled batch remains."""
    monkeypatch.setattr(purchases, "PART", 1)
    write, in_flight, release = repository.write_purchases, asyncio.Event(), asyncio.Event()

    async def gated(*args: Any) -> Any:
        in_flight.set()
        await release.wait()
        return await write(*args)

    monkeypatch.setattr(repository, "write_purchases", gated)
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc)
        a, b = await enrol(svc), await enrol(svc)
        items = [PurchaseIn.model_validate(purchase_body(cid, "10")) for cid in (a, b)]

        async def record() -> None:
            async with svc.runtime.transaction() as session:
                await purchases.record_batch(session, items, T0)

        task = asyncio.create_task(record())
        await in_flight.wait()
        task.cancel()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        monkeypatch.setattr(repository, "write_purchases", write)
        assert [D((await member(svc, cid))["available"]) for cid in (a, b)] == [D(0), D(0)]
        for _ in range(12):  # the pool, and whichever connection the batch had, keep answering
            assert (await svc.client.post("/v1/purchases", json=purchase_body(a, "10"), headers=svc.auth("loyalty:write"))).status_code == 201
        assert D((await member(svc, a))["available"]) == D(120)
