"""The purchase path and the member view issue a fixed, small number of SQL statements (so a
regression to per-row or per-item statements shows up here, not only in `bench/loyalty.py`)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from loyalty_testkit import T0, create_program, enrol, purchase_body

from wafa_loyalty import purchases
from wafa_shared.clock import ManualClock
from wafa_shared.testing.statements import statements

ALL_RULES = {
    "category_multipliers": [{"match": "perfume", "multiplier": "3"}],
    "sku_multipliers": [{"match": "SKU-7", "multiplier": "5", "valid_until": "2030-01-01T00:00:00+00:00"}],
    "birthday_multiplier": "2",
    "first_purchase_bonus": "50",
    "referral_bonus": "500",
    "survey_bonus": "25",
}


async def test_a_purchase_takes_three_statements_and_a_batch_a_constant_number(wafa_service: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(purchases, "PROGRAM_TTL_S", 3600.0)  # the program is read once (2 statements), then cached
    # A lone single purchase is a group of one (`purchase_queue`): the batch path's statements.
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc, rules=ALL_RULES)
        members = [await enrol(svc, birth_date="1990-03-15") for _ in range(3)]
        write = svc.auth("loyalty:write")
        await svc.client.get(f"/v1/members/{members[0]}", headers=svc.auth("loyalty:read"))  # reads the program
        for cid in members:  # first purchases: no referral bonus awaits them, nothing more to do
            with statements(svc) as seen:
                assert (await svc.client.post("/v1/purchases", json=purchase_body(cid, "10"), headers=write)).status_code == 201
            assert len(seen) == 3, seen
        body = purchase_body(members[0], "40")
        with statements(svc) as seen:
            assert (await svc.client.post("/v1/purchases", json=body, headers=write)).status_code == 201
        # the member locked; the known order; every row, balance and outbox event
        assert len(seen) == 3, seen
        with statements(svc) as seen:
            assert (await svc.client.post("/v1/purchases", json=body, headers=write)).status_code == 200
        assert len(seen) == 2, seen
        with statements(svc) as seen:
            assert (await svc.client.get(f"/v1/members/{members[0]}", headers=svc.auth("loyalty:read"))).status_code == 200
        assert len(seen) == 1, seen
        members += [await enrol(svc) for _ in range(57)]
        counts = []
        for n, buyers in ((1, 1), (60, 60), (60, 3)):
            items = [purchase_body(members[i % buyers], "12.50", order_id=f"b{n}-{uuid.uuid4().hex[:8]}") for i in range(n)]
            with statements(svc) as seen:
                r = await svc.client.post("/v1/purchases/batch", json={"purchases": items}, headers=write)
            assert r.status_code == 200 and r.json()["created"] == n, r.text
            counts.append(len(seen))
        # members locked, known orders, then every row, balance and outbox event of a round:
        # whatever the size; a member who can still move up a tier has one purchase per round
        assert counts == [3, 3, 2 + 20], counts
