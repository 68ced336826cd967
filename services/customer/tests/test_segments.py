"""Segments: rules over profile fields and behavioural facts, evaluated in SQL; static lists."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from customer_helpers import T0, clock, create

from wafa_shared.events.loyalty import PurchaseRecorded, TierChanged
from wafa_shared.events.survey import ResponseSubmitted
from wafa_shared.testing.events import eventually


async def _buy(svc: Any, customer_id: str, amount: str, days_ago: int) -> None:
    await svc.emit(
        PurchaseRecorded(
            purchase_id=uuid.uuid4(),
            customer_id=uuid.UUID(customer_id),
            order_id=uuid.uuid4().hex,
            amount=Decimal(amount),
            currency="SAR",
            occurred_at=T0 - timedelta(days=days_ago),
        ),
        subject=customer_id,
    )


async def test_a_three_rule_segment_selects_exactly_the_customers_matching_profile_and_facts(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        h = svc.auth("customers:write")
        big_sa = await create(svc, given_name="Big SA", country="SA", tags=["vip"])
        big_sa_detractor = await create(svc, given_name="Big SA unhappy", country="SA")
        small_sa = await create(svc, given_name="Small SA", country="SA")
        big_ae = await create(svc, given_name="Big AE", country="AE")
        lapsed_sa = await create(svc, given_name="Lapsed SA", country="SA")
        await _buy(svc, big_sa["id"], "700.00", 10)
        await _buy(svc, big_sa["id"], "400.00", 5)
        await _buy(svc, big_sa_detractor["id"], "2000.00", 3)
        await _buy(svc, small_sa["id"], "99.99", 1)
        await _buy(svc, big_ae["id"], "5000.00", 2)
        await _buy(svc, lapsed_sa["id"], "3000.00", 400)
        await svc.emit(
            ResponseSubmitted(
                response_id=uuid.uuid4(), survey_id=uuid.uuid4(), survey_kind="nps", customer_id=uuid.UUID(big_sa_detractor["id"]), nps=3, submitted_at=T0
            ),
            subject=big_sa_detractor["id"],
        )
        await svc.emit(TierChanged(customer_id=uuid.UUID(big_sa["id"]), from_tier=None, to_tier="gold", reason="spend", occurred_at=T0), subject=big_sa["id"])

        async def applied() -> bool:
            c = (await svc.client.get(f"/v1/customers/{big_sa_detractor['id']}", headers=svc.auth("customers:read"))).json()
            g = (await svc.client.get(f"/v1/customers/{big_sa['id']}", headers=svc.auth("customers:read"))).json()
            return c["facts"]["nps_band"] == "detractor" and g["facts"]["tier"] == "gold" and g["facts"]["purchase_count"] == 2

        await eventually(applied)
        rule = {
            "all": [
                {"field": "country", "op": "eq", "value": "SA"},
                {"field": "total_spend", "op": "gte", "value": "1000"},
                {"field": "last_purchase_at", "op": "within_days", "value": 90},
                {"not": {"field": "nps_band", "op": "eq", "value": "detractor"}},
            ]
        }
        r = await svc.client.post("/v1/segments", json={"name": "Loyal Saudi big spenders", "rule": rule}, headers=h)
        assert r.status_code == 201, r.text
        seg = r.json()
        assert seg["member_count"] == 1
        members = (await svc.client.get(f"/v1/segments/{seg['id']}/members", headers=svc.auth("customers:read"))).json()
        assert [m["id"] for m in members["items"]] == [big_sa["id"]]

        either = {"any": [{"field": "tier", "op": "eq", "value": "gold"}, {"field": "nps_band", "op": "eq", "value": "detractor"}]}
        r = await svc.client.post("/v1/segments/preview", json={"rule": either}, headers=svc.auth("customers:read"))
        assert r.json() == {"count": 2}

        export = await svc.client.get(f"/v1/segments/{seg['id']}/export", headers=svc.auth("customers:read"))
        rows = list(csv.DictReader(io.StringIO(export.text)))
        assert [(row["id"], row["total_spend"], row["tier"]) for row in rows] == [(big_sa["id"], "1100.0000", "gold")]


async def test_members_page_through_a_large_segment_without_gaps_or_repeats(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        ids = {(await create(svc, given_name=f"C{i}", country="SA", tags=["bulk"]))["id"] for i in range(12)}
        seg = (
            await svc.client.post("/v1/segments", json={"name": "Bulk", "rule": {"field": "tags", "op": "contains", "value": "bulk"}}, headers=svc.auth())
        ).json()
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 5} | ({"cursor": cursor} if cursor else {})
            page = (await svc.client.get(f"/v1/segments/{seg['id']}/members", params=params, headers=svc.auth("customers:read"))).json()
            seen += [m["id"] for m in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(seen) == 12 and set(seen) == ids


async def test_an_invalid_rule_is_a_422_naming_its_part_and_creates_nothing(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        h = svc.auth("customers:write")
        bad = {"all": [{"field": "country", "op": "eq", "value": "SA"}, {"field": "total_spend", "op": "gte", "value": "lots"}]}
        r = await svc.client.post("/v1/segments", json={"name": "Bad", "rule": bad}, headers=h)
        assert r.status_code == 422 and r.json()["type"].endswith("/invalid-segment-rule")
        assert r.json()["errors"][0]["field"] == "rule.all.1.value"
        assert (await svc.client.get("/v1/segments", headers=svc.auth("customers:read"))).json()["items"] == []


async def test_static_segments_hold_the_members_added_by_hand(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        h = svc.auth("customers:write")
        a, b, c = [await create(svc, given_name=n) for n in ("A", "B", "C")]
        seg = (await svc.client.post("/v1/segments", json={"name": "Panel", "kind": "static", "customer_ids": [a["id"]]}, headers=h)).json()
        r = await svc.client.post(f"/v1/segments/{seg['id']}/members", json={"customer_ids": [b["id"], c["id"], a["id"]]}, headers=h)
        assert r.json() == {"count": 2}
        await svc.client.post(f"/v1/segments/{seg['id']}/members/remove", json={"customer_ids": [c["id"]]}, headers=h)
        members = (await svc.client.get(f"/v1/segments/{seg['id']}/members", headers=svc.auth("customers:read"))).json()["items"]
        assert sorted(m["id"] for m in members) == sorted([a["id"], b["id"]])
        unknown = await svc.client.post(f"/v1/segments/{seg['id']}/members", json={"customer_ids": [str(uuid.uuid4())]}, headers=h)
        assert unknown.status_code == 422
