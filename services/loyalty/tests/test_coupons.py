"""Coupon codes: single-use under concurrency, pools without duplicates, bulk generation with
progress, unguessable codes, and rate-limited failures."""

from __future__ import annotations

import asyncio
import math
import re
from collections import Counter
from datetime import timedelta
from typing import Any

from loyalty_testkit import T0, D, buy, create_program, enrol, ledger, member

from wafa_loyalty.domain.coupon_codes import ALPHABET, LENGTH, normalise
from wafa_shared.clock import ManualClock
from wafa_shared.testing.events import eventually


async def generate(svc: Any, **body: Any) -> list[str]:
    r = await svc.client.post("/v1/coupons/batches", json=body, headers=svc.auth("loyalty:write"))
    assert r.status_code == 202, r.text
    batch_id = r.json()["id"]

    async def done() -> Any:
        b = (await svc.client.get(f"/v1/coupons/batches/{batch_id}", headers=svc.auth("loyalty:read"))).json()
        return b if b["status"] == "done" else None

    batch = await eventually(done)
    assert batch["generated"] == body["count"] and batch["progress"] == 1.0  # type: ignore[index]
    codes = (await svc.client.get(f"/v1/coupons/batches/{batch_id}/codes?limit=10000", headers=svc.auth("loyalty:read"))).json()
    assert len(codes) == body["count"]
    return codes  # type: ignore[no-any-return]


def pos_redeem(svc: Any, code: str, **body: Any) -> Any:
    return svc.client.post(f"/v1/coupons/{code}/redeem", json=body or None, headers=svc.auth("loyalty:write"))


async def test_50_concurrent_redemptions_of_one_code_exactly_one_succeeds(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0), coupon_failure_limit=1000, db_pool_size=20) as svc:
        await create_program(svc)
        cid = await enrol(svc)
        [code] = await generate(svc, count=1, points="100")
        results = await asyncio.gather(*[pos_redeem(svc, code, customer_id=str(cid)) for _ in range(50)])
        assert Counter(r.status_code for r in results) == {200: 1, 409: 49}
        assert {r.json()["type"] for r in results if r.status_code == 409} == {"https://wafa.dev/problems/coupon-already-redeemed"}
        assert all(r.headers["content-type"].startswith("application/problem+json") for r in results if r.status_code == 409)
        assert [(e["kind"], e["rule"], D(e["points"])) for e in await ledger(svc, cid)] == [("earn", "coupon", D(100))]
        assert D((await member(svc, cid))["available"]) == D(100)
        detail = (await svc.client.get(f"/v1/coupons/{code}", headers=svc.auth("loyalty:read"))).json()
        assert [h["state"] for h in detail["history"]] == ["issued", "redeemed"]


async def test_bulk_generation_reports_progress_and_makes_unique_readable_unguessable_codes(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc)
        codes = await generate(svc, count=2500, points="5")
        assert len(set(codes)) == 2500
        pattern = re.compile(rf"^[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}-[{ALPHABET}]{{2}}$")
        assert all(pattern.match(c) for c in codes)
        assert not set("01OILU") & set(ALPHABET)
        assert LENGTH * math.log2(len(ALPHABET)) >= 64
        assert normalise(codes[0].lower().replace("-", " ")) == codes[0]


async def test_reward_issues_a_unique_code_that_a_pos_redeems_once_with_an_idempotent_retry(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc)
        cid = await enrol(svc)
        await buy(svc, cid, "100")
        reward = (
            await svc.client.post(
                "/v1/rewards",
                json={"name": "10% off", "kind": "discount_voucher", "cost_points": "40", "coupon_source": "generated", "coupon_valid_days": 30},
                headers=svc.auth("loyalty:write"),
            )
        ).json()
        red = await svc.client.post("/v1/redemptions", json={"customer_id": str(cid), "reward_id": reward["id"]}, headers=svc.auth("loyalty:write"))
        code = red.json()["coupon_code"]
        assert code and red.json()["coupon_valid_until"].startswith("2026-04-09")
        headers = svc.auth("loyalty:write") | {"Idempotency-Key": "till-7-tx-1"}
        first = await svc.client.post(f"/v1/coupons/{code.lower()}/redeem", headers=headers)
        retry = await svc.client.post(f"/v1/coupons/{code.lower()}/redeem", headers=headers)
        assert first.status_code == retry.status_code == 200 and first.json() == retry.json()
        assert first.json()["state"] == "redeemed" and first.json()["customer_id"] == str(cid)
        again = await pos_redeem(svc, code)
        assert again.status_code == 409 and again.json()["type"].endswith("/coupon-already-redeemed")
        assert D((await member(svc, cid))["available"]) == D(60)


async def test_pool_import_rejects_duplicates_whole_and_redemptions_draw_from_the_pool(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc)
        cid = await enrol(svc)
        await buy(svc, cid, "100")
        reward = (
            await svc.client.post(
                "/v1/rewards", json={"name": "Cinema", "kind": "gift", "cost_points": "30", "coupon_source": "pool"}, headers=svc.auth("loyalty:write")
            )
        ).json()
        url = f"/v1/rewards/{reward['id']}/coupons/import"
        dup = await svc.client.post(url, json={"codes": ["CIN-001", "CIN-002", "cin-001"]}, headers=svc.auth("loyalty:write"))
        assert dup.status_code == 422 and dup.json()["type"].endswith("/duplicate-coupon-codes") and dup.json()["duplicates"] == ["CIN001"]
        ok = await svc.client.post(url, json={"codes": ["CIN-001", "CIN-002"]}, headers=svc.auth("loyalty:write"))
        assert ok.status_code == 201 and ok.json() == {"imported": 2}
        again = await svc.client.post(url, json={"codes": ["CIN-003", "CIN-002"]}, headers=svc.auth("loyalty:write"))
        assert again.status_code == 422 and again.json()["duplicates"] == ["CIN002"]
        assert (await svc.client.get("/v1/coupons/CIN003", headers=svc.auth("loyalty:read"))).status_code == 404
        codes = []
        for _ in range(3):
            r = await svc.client.post("/v1/redemptions", json={"customer_id": str(cid), "reward_id": reward["id"]}, headers=svc.auth("loyalty:write"))
            codes.append((r.status_code, r.json().get("coupon_code") or r.json()["type"].rsplit("/", 1)[1]))
        assert codes == [(201, "CIN001"), (201, "CIN002"), (409, "coupon-pool-empty")]
        assert D((await member(svc, cid))["available"]) == D(40)  # the failed third took nothing


async def test_unknown_expired_and_voided_codes_are_problems_and_change_nothing(wafa_service: Any) -> None:
    clock = ManualClock(T0)
    async with wafa_service("loyalty", clock=clock) as svc:
        await create_program(svc)
        cid = await enrol(svc)
        a, b = await generate(svc, count=2, points="10", valid_until=(T0 + timedelta(days=7)).isoformat())
        void = await svc.client.post(f"/v1/coupons/{a}/void", headers=svc.auth("loyalty:write"))
        assert void.json()["state"] == "voided"
        r = await pos_redeem(svc, a, customer_id=str(cid))
        assert (r.status_code, r.json()["type"].rsplit("/", 1)[1]) == (409, "coupon-voided")
        r = await pos_redeem(svc, "ZZZZ-ZZZZ-ZZZZ-ZZ", customer_id=str(cid))
        assert (r.status_code, r.json()["type"].rsplit("/", 1)[1]) == (404, "coupon-not-found")
        clock.set(T0 + timedelta(days=7))
        r = await pos_redeem(svc, b, customer_id=str(cid))
        assert (r.status_code, r.json()["type"].rsplit("/", 1)[1]) == (422, "coupon-expired")
        assert await ledger(svc, cid) == []
        assert (await svc.client.get(f"/v1/coupons/{b}", headers=svc.auth("loyalty:read"))).json()["state"] == "issued"
        assert (await svc.client.post("/v1/ops/jobs/expire-coupons/run", headers=svc.auth())).json()["result"] == {"expired_codes": 1}
        detail = (await svc.client.get(f"/v1/coupons/{b}", headers=svc.auth("loyalty:read"))).json()
        assert detail["state"] == "expired" and [h["state"] for h in detail["history"]] == ["issued", "expired"]
        r = await pos_redeem(svc, b, customer_id=str(cid))
        assert (r.status_code, r.json()["type"].rsplit("/", 1)[1]) == (422, "coupon-expired")


async def test_failed_redemptions_are_rate_limited_per_caller(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0), coupon_failure_limit=3) as svc:
        await create_program(svc)
        statuses = [(await pos_redeem(svc, f"GUESS-{i:04d}")).status_code for i in range(5)]
        assert statuses == [404, 404, 404, 429, 429]
        limited = await pos_redeem(svc, "GUESS-9999")
        assert limited.json()["type"].endswith("/too-many-failed-redemptions") and int(limited.headers["retry-after"]) > 0
