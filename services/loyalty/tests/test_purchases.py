"""Purchases earn points by the program's rules; refunds reverse them in proportion."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from loyalty_testkit import T0, D, buy, create_program, enrol, ledger, member, purchase_body, run_job

from wafa_shared.clock import ManualClock


async def test_purchase_earns_base_points_with_category_and_birthday_multipliers_and_first_purchase_bonus(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(
            svc,
            rules={
                "category_multipliers": [{"match": "perfume", "multiplier": "3"}],
                "sku_multipliers": [{"match": "SKU-X", "multiplier": "5", "valid_until": "2026-01-01T00:00:00+00:00"}],
                "birthday_multiplier": "2",
                "first_purchase_bonus": "50",
            },
        )
        cid = await enrol(svc, birth_date="1990-03-22")  # March: the purchase month
        body = purchase_body(cid, "0")
        body["lines"] = [
            {"sku": "SKU-A", "category": "grocery", "quantity": "2", "unit_price": "10.25"},  # 20.50 x1
            {"sku": "SKU-X", "category": "perfume", "quantity": "1", "unit_price": "100"},  # SKU rule expired -> category x3 = 300
        ]
        r = await svc.client.post("/v1/purchases", json=body, headers=svc.auth("loyalty:write"))
        assert r.status_code == 201, r.text
        # (20.50 + 300) x tier 1 x birthday 2 = 641 (rounded down), + 50 first-purchase bonus
        assert D(r.json()["points"]) == D(691)
        assert D(r.json()["amount"]) == D("120.50")
        m = await member(svc, cid)
        assert D(m["available"]) == D(691) and D(m["pending"]) == 0
        entries = await ledger(svc, cid)
        assert [(e["kind"], e["rule"], D(e["points"]), D(e["balance_after"])) for e in entries] == [
            ("earn", "base_spend", D(641), D(641)),
            ("earn", "first_purchase", D(50), D(691)),
        ]


async def test_concurrent_first_purchases_of_one_member_earn_one_first_purchase_bonus(wafa_service: Any) -> None:
    """The member row is locked for the whole purchase: of 20 purchases racing as the member's
    first, exactly one is the first, and the balance is the sum of the ledger."""
    async with wafa_service("loyalty", clock=ManualClock(T0), db_pool_size=20) as svc:
        await create_program(svc, rules={"first_purchase_bonus": "50"})
        cid = await enrol(svc)
        results = await asyncio.gather(*[svc.client.post("/v1/purchases", json=purchase_body(cid, "10"), headers=svc.auth("loyalty:write")) for _ in range(20)])
        assert [r.status_code for r in results] == [201] * 20
        assert sorted(D(r.json()["points"]) for r in results) == [D(10)] * 19 + [D(60)]
        entries = await ledger(svc, cid)
        assert [e["rule"] for e in entries].count("first_purchase") == 1
        assert [D(e["balance_after"]) for e in entries] == [sum((D(e["points"]) for e in entries[: i + 1]), D(0)) for i in range(len(entries))]
        assert D((await member(svc, cid))["available"]) == D(250)


async def test_replaying_the_same_order_changes_nothing_and_other_content_is_a_conflict(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc)
        cid = await enrol(svc)
        body = purchase_body(cid, "100", order_id="pos-1-0001")
        first = await svc.client.post("/v1/purchases", json=body, headers=svc.auth("loyalty:write"))
        again = await svc.client.post("/v1/purchases", json=body, headers=svc.auth("loyalty:write"))
        assert first.status_code == 201 and again.status_code == 200
        assert again.json()["id"] == first.json()["id"]
        other = await svc.client.post("/v1/purchases", json=purchase_body(cid, "999", order_id="pos-1-0001"), headers=svc.auth("loyalty:write"))
        assert other.status_code == 409 and other.json()["type"].endswith("/order-id-conflict")
        assert D((await member(svc, cid))["available"]) == D(100)
        assert len(await ledger(svc, cid)) == 1


async def test_bad_purchases_are_problems_and_write_nothing(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc)
        cid = await enrol(svc)
        cases = [
            ({**purchase_body(cid, "10"), "lines": [{"sku": "A", "quantity": "0", "unit_price": "10"}]}, 422, "validation-error"),
            ({**purchase_body(cid, "10"), "lines": [{"sku": "A", "quantity": "1", "unit_price": "-5"}]}, 422, "validation-error"),
            ({**purchase_body(cid, "10"), "currency": "XXX"}, 422, "validation-error"),
            ({**purchase_body(cid, "10"), "currency": "USD"}, 422, "currency-mismatch"),
            (purchase_body(uuid.uuid4(), "10"), 422, "unknown-customer"),
        ]
        for body, status, slug in cases:
            r = await svc.client.post("/v1/purchases", json=body, headers=svc.auth("loyalty:write"))
            assert r.status_code == status, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["type"] == f"https://wafa.dev/problems/{slug}"
        assert await ledger(svc, cid) == []
        assert D((await member(svc, cid))["available"]) == 0


async def test_pending_points_mature_only_after_the_return_window(wafa_service: Any) -> None:
    clock = ManualClock(T0)
    async with wafa_service("loyalty", clock=clock) as svc:
        await create_program(svc, pending_days=14)
        cid = await enrol(svc)
        await buy(svc, cid, "200")
        m = await member(svc, cid)
        assert (D(m["available"]), D(m["pending"])) == (0, 200)
        clock.set(T0 + timedelta(days=14) - timedelta(seconds=1))
        assert (await run_job(svc, "mature-points"))["matured_lots"] == 0
        assert D((await member(svc, cid))["pending"]) == 200
        clock.set(T0 + timedelta(days=14))
        assert (await run_job(svc, "mature-points"))["matured_lots"] == 1
        assert (await run_job(svc, "mature-points"))["matured_lots"] == 0  # idempotent
        m = await member(svc, cid)
        assert (D(m["available"]), D(m["pending"])) == (200, 0)
        assert [e["kind"] for e in await ledger(svc, cid)] == ["pending", "mature"]


async def test_partial_refund_after_spending_reverses_proportionally_into_a_negative_balance(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc)
        cid = await enrol(svc)
        p = await buy(svc, cid, "400")  # 400 points
        r = await svc.client.post(f"/v1/members/{cid}/adjustments", json={"points": "-350", "reason": "spent at partner"}, headers=svc.auth("loyalty:write"))
        assert r.status_code == 201, r.text
        refund = await svc.client.post(f"/v1/purchases/{p['id']}/refund", json={"amount": "300"}, headers=svc.auth("loyalty:write"))
        assert refund.status_code == 201, refund.text
        assert D(refund.json()["points_reversed"]) == D(300)  # 400 x 300/400
        m = await member(svc, cid)
        assert D(m["available"]) == D(-250)  # 400 - 350 - 300
        assert D(m["qualifying"]["credit"]) == D(100)  # spend 400 - 300 refunded
        # the next points repay the debt first
        await buy(svc, cid, "260")
        assert D((await member(svc, cid))["available"]) == D(10)
        too_much = await svc.client.post(f"/v1/purchases/{p['id']}/refund", json={"amount": "100.01"}, headers=svc.auth("loyalty:write"))
        assert too_much.status_code == 422 and too_much.json()["type"].endswith("/refund-exceeds-purchase")


async def test_refund_with_forfeit_policy_never_goes_below_zero(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc, negative_balance="forfeit")
        cid = await enrol(svc)
        p = await buy(svc, cid, "100")
        await svc.client.post(f"/v1/members/{cid}/adjustments", json={"points": "-80", "reason": "gift"}, headers=svc.auth("loyalty:write"))
        r = await svc.client.post(f"/v1/purchases/{p['id']}/refund", json={"amount": "100"}, headers=svc.auth("loyalty:write"))
        assert D(r.json()["points_reversed"]) == D(20)
        assert D((await member(svc, cid))["available"]) == 0


async def test_two_partial_refunds_add_up_to_the_points_of_the_purchase(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc, pending_days=30)
        cid = await enrol(svc)
        p = await buy(svc, cid, "99.99")  # 99 points, pending
        a = await svc.client.post(f"/v1/purchases/{p['id']}/refund", json={"amount": "33.33"}, headers=svc.auth("loyalty:write"))
        b = await svc.client.post(f"/v1/purchases/{p['id']}/refund", json={"amount": "66.66"}, headers=svc.auth("loyalty:write"))
        assert D(a.json()["points_reversed"]) + D(b.json()["points_reversed"]) == D(99)
        m = await member(svc, cid)
        assert (D(m["available"]), D(m["pending"])) == (0, 0)


async def test_a_partial_refund_lowers_redeemable_and_qualifying_balances_in_proportion(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc, qualification_basis="points", pending_days=10)
        cid = await enrol(svc)
        p = await buy(svc, cid, "800")  # 800 pending points, 800 qualifying
        r = await svc.client.post(f"/v1/purchases/{p['id']}/refund", json={"amount": "200"}, headers=svc.auth("loyalty:write"))
        assert (D(r.json()["points_reversed"]), D(r.json()["qualifying_reversed"])) == (D(200), D(200))
        m = await member(svc, cid)
        assert (D(m["available"]), D(m["pending"]), D(m["qualifying"]["credit"])) == (0, 600, 600)
        assert m["next_tier"]["message"] == "earn 400 more qualifying نقاط by 2026-12-31 to reach Gold"
        entries = await ledger(svc, cid)
        assert [(e["kind"], D(e["pending_delta"]), D(e["pending_after"])) for e in entries] == [("pending", 800, 800), ("reverse", -200, 600)]


async def test_the_ledger_pages_oldest_first_and_a_refund_retried_with_its_key_applies_once(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc)
        cid = await enrol(svc)
        p = await buy(svc, cid, "100")
        for amount in ("10", "20"):
            await buy(svc, cid, amount)
        headers = svc.auth("loyalty:write") | {"Idempotency-Key": "refund-1"}
        a = await svc.client.post(f"/v1/purchases/{p['id']}/refund", json={"amount": "50"}, headers=headers)
        b = await svc.client.post(f"/v1/purchases/{p['id']}/refund", json={"amount": "50"}, headers=headers)
        assert a.status_code == b.status_code == 201 and a.json() == b.json()
        assert D((await member(svc, cid))["available"]) == D(80)  # 130 - 50
        seen, cursor = [], None
        while True:
            url = f"/v1/members/{cid}/ledger?limit=2" + (f"&cursor={cursor}" if cursor else "")
            page = (await svc.client.get(url, headers=svc.auth("loyalty:read"))).json()
            seen += [(e["kind"], D(e["balance_after"])) for e in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [("earn", D(100)), ("earn", D(110)), ("earn", D(130)), ("reverse", D(80))]
