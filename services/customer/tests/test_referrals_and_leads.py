"""Referrals, fraud checks (issue 12), lead routing and conversion on the first purchase."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from customer_helpers import T0, clock, create, of_type

from wafa_shared.events.loyalty import PurchaseRecorded
from wafa_shared.testing.events import eventually, read_events

ADVOCATE = {"given_name": "Sara", "email": "sara@example.com", "phone": "+966 50 123 4567", "country": "SA"}


async def _refer(svc: Any, code: str, **referee: Any) -> Any:
    return await svc.client.post("/v1/referrals", json={"code": code, "referee": referee}, headers=svc.auth("customers:write"))


async def _team(svc: Any, *members: dict[str, Any]) -> None:
    for m in members:
        r = await svc.client.put(f"/v1/team-members/{m['id']}", json=m, headers=svc.auth("customers:write"))
        assert r.status_code == 200, r.text


async def test_a_referral_creates_the_referee_as_a_routed_lead_and_publishes_it(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        await _team(svc, {"id": "mona"}, {"id": "omar"})
        sara = await create(svc, **ADVOCATE)
        r = await _refer(svc, sara["referral_code"].lower(), given_name="Huda", email="huda@example.com", phone="0551234567")
        assert r.status_code == 201, r.text
        ref = r.json()
        assert ref["status"] == "made" and ref["advocate_id"] == sara["id"] and ref["referee_owner"] == "mona"
        lead = (await svc.client.get(f"/v1/customers/{ref['referee_id']}", headers=svc.auth("customers:read"))).json()
        assert lead["lifecycle"] == "lead" and lead["owner"] == "mona" and lead["referred_by"] == sara["id"]
        assert lead["phone"] == "+966551234567" and lead["country"] == "SA"

        r2 = await _refer(svc, sara["referral_code"], given_name="Nora", email="nora@example.com")
        assert r2.json()["referee_owner"] == "omar"  # round-robin

        events = await read_events(svc.bootstrap, svc.topic("wafa.customer"), until=lambda evs: len(of_type(evs, "lead.assigned")) >= 2)
        made = of_type(events, "referral.made")
        # events of different customers may sit on different partitions: compare by subject
        assert {e.data["referee_id"]: e.data["advocate_id"] for e in made} == {lead["id"]: sara["id"], r2.json()["referee_id"]: sara["id"]}
        assigned = {e.subject: e.data["owner"] for e in of_type(events, "lead.assigned")}
        assert assigned == {lead["id"]: "mona", r2.json()["referee_id"]: "omar"}
        registered = of_type(events, "customer.registered", lead["id"])[0]
        assert registered.data["lifecycle"] == "lead" and registered.data["referred_by"] == sara["id"] and registered.data["owner"] == "mona"

        leads = await svc.client.get("/v1/leads", params={"owner": "omar"}, headers=svc.auth("customers:read"))
        assert [x["email"] for x in leads.json()["items"]] == ["nora@example.com"]


async def test_self_referral_by_the_same_phone_written_another_way_is_rejected_with_its_reason(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        sara = await create(svc, **ADVOCATE)
        r = await _refer(svc, sara["referral_code"], given_name="Sara 2", email="another@example.com", phone="0501234567")
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert problem["type"].endswith("/self-referral-phone") and problem["reason"] == "self_referral_phone"

        r = await _refer(svc, sara["referral_code"], email="SARA@example.com")
        assert r.status_code == 422 and r.json()["reason"] == "self_referral_email"

        # Nothing was created for the referee; the refusals are recorded and visible.
        customers = await svc.client.get("/v1/customers", headers=svc.auth("customers:read"))
        assert [c["id"] for c in customers.json()["items"]] == [sara["id"]]
        rejected = (await svc.client.get("/v1/referrals", params={"status": "rejected"}, headers=svc.auth("customers:read"))).json()["items"]
        assert sorted(x["reason"] for x in rejected) == ["self_referral_email", "self_referral_phone"]
        assert {x["id"] for x in rejected} >= {problem["referral_id"]}
        assert all(x["referee_id"] is None for x in rejected)

        events = await read_events(svc.bootstrap, svc.topic("wafa.customer"), until=lambda evs: len(of_type(evs, "referral.rejected")) >= 2)
        assert sorted(e.data["reason"] for e in of_type(events, "referral.rejected", sara["id"])) == ["self_referral_email", "self_referral_phone"]
        assert of_type(events, "referral.made") == []


async def test_referring_an_existing_customer_or_a_known_lead_is_rejected(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        sara = await create(svc, **ADVOCATE)
        ali = await create(svc, given_name="Ali", email="ali@example.com", phone="0559998888")
        r = await _refer(svc, sara["referral_code"], phone="+966 55 999 8888")
        assert r.status_code == 409 and r.json()["reason"] == "referee_already_customer"
        assert r.json()["existing_customer_id"] == ali["id"]

        first = await _refer(svc, sara["referral_code"], email="lead@example.com")
        assert first.status_code == 201
        other = await create(svc, given_name="Bob", email="bob@example.com")
        again = await _refer(svc, other["referral_code"], email="LEAD@example.com")
        assert again.status_code == 409 and again.json()["reason"] == "referee_already_referred"


async def test_an_advocate_over_the_referral_limit_in_the_period_is_refused_until_the_period_passes(wafa_service: Any) -> None:
    c = clock()
    async with wafa_service("customer", clock=c, referral_limit=2, referral_period_days=30) as svc:
        sara = await create(svc, **ADVOCATE)
        code = sara["referral_code"]
        assert (await _refer(svc, code, email="a@example.com")).status_code == 201
        c.advance(timedelta(days=1))
        assert (await _refer(svc, code, email="b@example.com")).status_code == 201
        over = await _refer(svc, code, email="c@example.com")
        assert over.status_code == 429 and over.json()["reason"] == "advocate_limit_exceeded"
        c.advance(timedelta(days=30))  # the first referral left the window; the second is still in it
        assert (await _refer(svc, code, email="c@example.com")).status_code == 201
        assert (await _refer(svc, code, email="d@example.com")).status_code == 429


async def test_an_unknown_referral_code_is_404_and_nothing_changes(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        r = await _refer(svc, "ZZZZ9999", email="x@example.com")
        assert r.status_code == 404 and r.json()["type"].endswith("/unknown-referral-code")
        r = await svc.client.get("/v1/referrals", headers=svc.auth("customers:read"))
        assert r.json()["items"] == []


async def test_the_first_purchase_converts_the_lead_and_names_the_referral(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        sara = await create(svc, **ADVOCATE)
        ref = (await _refer(svc, sara["referral_code"], email="huda@example.com", time_zone="Asia/Riyadh")).json()
        lead_id = ref["referee_id"]
        bought = T0 + timedelta(days=3)
        purchase = PurchaseRecorded(
            purchase_id=uuid.uuid4(),
            customer_id=uuid.UUID(lead_id),
            order_id="O-1",
            amount=Decimal("240.00"),
            currency="SAR",
            occurred_at=bought,
            first_purchase=True,
        )
        await svc.emit(purchase, subject=lead_id)
        await svc.emit(
            purchase.model_copy(update={"purchase_id": uuid.uuid4(), "amount": Decimal("60.50"), "occurred_at": bought + timedelta(days=1)}), subject=lead_id
        )

        async def facts() -> Any:
            c = (await svc.client.get(f"/v1/customers/{lead_id}", headers=svc.auth("customers:read"))).json()
            return c if c["facts"]["purchase_count"] == 2 else None

        c = await eventually(facts)
        assert c["lifecycle"] == "customer"  # type: ignore[index]
        assert c["facts"]["total_spend"] == "300.50"  # type: ignore[index]
        assert c["personal_dates"]["first_purchase"] == bought.date().isoformat()  # type: ignore[index]

        converted = await svc.wait_for_event("wafa.customer", lambda e: e.type == "lead.converted" and e.subject == lead_id)
        assert converted.data["referral_id"] == ref["id"] and converted.data["advocate_id"] == sara["id"]
        referral = (await svc.client.get(f"/v1/referrals/{ref['id']}", headers=svc.auth("customers:read"))).json()
        assert referral["status"] == "converted"
        history = (await svc.client.get(f"/v1/customers/{lead_id}/lifecycle", headers=svc.auth("customers:read"))).json()
        assert [(h["from_stage"], h["to_stage"], h["reason"]) for h in history] == [(None, "lead", "referral"), ("lead", "customer", "first purchase")]
        events = await read_events(svc.bootstrap, svc.topic("wafa.customer"), until=lambda evs: any(e.type == "lead.converted" for e in evs))
        assert len(of_type(events, "lead.converted")) == 1  # the second purchase converts nothing
        # The first-purchase anniversary reaches the touch scheduler with the profile.
        first = [e for e in of_type(events, "customer.updated", lead_id) if "first_purchase_date" in e.data["changed"]]
        assert len(first) == 1 and first[0].data["custom_dates"] == {"first_purchase": bought.date().isoformat()}
        assert first[0].data["lifecycle"] == "customer" and "lifecycle" in first[0].data["changed"]


async def test_a_lead_created_directly_is_routed_by_rule_before_round_robin(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        await _team(svc, {"id": "gulf-desk", "countries": ["AE", "KW"]}, {"id": "mona"})
        ae = await create(svc, given_name="A", lifecycle="lead", country="AE")
        sa = await create(svc, given_name="B", lifecycle="lead", country="SA")
        assert (ae["owner"], sa["owner"]) == ("gulf-desk", "mona")
        r = await svc.client.put(f"/v1/leads/{sa['id']}/owner", json={"owner": "gulf-desk"}, headers=svc.auth("customers:write"))
        assert r.status_code == 200 and r.json()["owner"] == "gulf-desk"
        r = await svc.client.put(f"/v1/leads/{sa['id']}/owner", json={"owner": "nobody"}, headers=svc.auth("customers:write"))
        assert r.status_code == 422
        team = {m["id"]: m["assigned_count"] for m in (await svc.client.get("/v1/team-members", headers=svc.auth("customers:read"))).json()}
        assert team == {"gulf-desk": 2, "mona": 1}
