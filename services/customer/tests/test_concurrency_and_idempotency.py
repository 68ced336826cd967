"""Races and repeats: idempotent creation, concurrent referrals of one person, unknown ids."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from customer_helpers import clock, create


async def test_a_repeated_idempotency_key_returns_the_first_customer_and_creates_one(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        h = svc.auth("customers:write") | {"Idempotency-Key": "k-1"}
        body = {"given_name": "Sara", "email": "sara@example.com"}
        first, again = [await svc.client.post("/v1/customers", json=body, headers=h) for _ in range(2)]
        assert first.status_code == again.status_code == 201
        assert again.json()["id"] == first.json()["id"] and again.headers.get("idempotent-replayed") == "true"
        reused = await svc.client.post("/v1/customers", json={**body, "given_name": "Other"}, headers=h)
        assert reused.status_code == 422
        listed = (await svc.client.get("/v1/customers", headers=svc.auth("customers:read"))).json()["items"]
        assert len(listed) == 1


async def test_two_advocates_referring_the_same_person_at_once_create_one_lead(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        a = await create(svc, given_name="A", email="a@example.com")
        b = await create(svc, given_name="B", email="b@example.com")
        h = svc.auth("customers:write")
        results = await asyncio.gather(
            *[
                svc.client.post("/v1/referrals", json={"code": code, "referee": {"email": "friend@example.com"}}, headers=h)
                for code in (a["referral_code"], b["referral_code"]) * 3
            ]
        )
        statuses = sorted(r.status_code for r in results)
        assert statuses == [201, 409, 409, 409, 409, 409]
        leads = (await svc.client.get("/v1/leads", headers=svc.auth("customers:read"))).json()["items"]
        assert [x["email"] for x in leads] == ["friend@example.com"]


async def test_unknown_customers_are_404_problems(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        missing = uuid.uuid4()
        for method, path, body in (
            ("GET", f"/v1/customers/{missing}", None),
            ("PATCH", f"/v1/customers/{missing}", {"city": "Riyadh"}),
            ("PUT", f"/v1/customers/{missing}/consents", {"channels": {"email": "granted"}, "source": "x"}),
            ("DELETE", f"/v1/customers/{missing}", None),
            ("GET", f"/v1/customers/{missing}/export", None),
        ):
            r = await svc.client.request(method, path, json=body, headers=svc.auth())
            assert r.status_code == 404, (method, path, r.text)
            assert r.headers["content-type"] == "application/problem+json"
        bad = await svc.client.get("/v1/customers/not-a-uuid", headers=svc.auth())
        assert bad.status_code == 422
