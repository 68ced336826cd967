"""GDPR: export everything held; erase PII, keep a pseudonymous id, tell the other services."""

from __future__ import annotations

from typing import Any

from customer_helpers import clock, create

from wafa_shared.testing.events import read_events


async def test_export_returns_profile_consents_history_referrals_and_segments(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        h = svc.auth("customers:write")
        sara = await create(svc, given_name="Sara", email="sara@example.com", phone="0501234567", external_ids=[{"source": "pos", "id": "9"}])
        await svc.client.put(f"/v1/customers/{sara['id']}/consents", json={"channels": {"email": "granted"}, "source": "pos"}, headers=h)
        await svc.client.post("/v1/referrals", json={"code": sara["referral_code"], "referee": {"email": "huda@example.com"}}, headers=h)
        await svc.client.post("/v1/referrals", json={"code": sara["referral_code"], "referee": {"phone": "0501234567"}}, headers=h)
        seg = await svc.client.post("/v1/segments", json={"name": "Hand picked", "kind": "static", "customer_ids": [sara["id"]]}, headers=h)
        assert seg.status_code == 201, seg.text

        doc = (await svc.client.get(f"/v1/customers/{sara['id']}/export", headers=svc.auth("customers:read"))).json()
        assert doc["customer"]["email"] == "sara@example.com"
        assert doc["customer"]["external_ids"] == [{"source": "pos", "id": "9"}]
        assert [(c["channel"], c["status"], c["source"]) for c in doc["consent_history"]] == [("email", "granted", "pos")]
        assert [x["to_stage"] for x in doc["lifecycle_history"]] == ["customer"]
        assert sorted((r["status"], r["reason"]) for r in doc["referrals_made"]) == [("made", None), ("rejected", "self_referral_phone")]
        assert doc["static_segments"] == [{"id": seg.json()["id"], "name": "Hand picked"}]


async def test_erasure_removes_pii_keeps_the_pseudonymous_id_and_publishes_customer_erased(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        h = svc.auth("customers:write")
        sara = await create(
            svc,
            given_name="Sara",
            family_name="Q",
            email="sara@example.com",
            phone="0501234567",
            birth_date="1990-01-02",
            tags=["vip"],
            external_ids=[{"source": "pos", "id": "9"}],
        )
        r = await svc.client.delete(f"/v1/customers/{sara['id']}", headers=h)
        assert r.status_code == 200 and r.json()["id"] == sara["id"]
        again = await svc.client.delete(f"/v1/customers/{sara['id']}", headers=h)
        assert again.json() == r.json()  # idempotent

        got = (await svc.client.get(f"/v1/customers/{sara['id']}", headers=svc.auth("customers:read"))).json()
        assert got["erased_at"] is not None
        for field in ("given_name", "family_name", "display_name", "email", "phone", "birth_date", "referral_code"):
            assert got[field] is None, field
        assert got["tags"] == [] and got["external_ids"] == [] and got["personal_dates"] == {}

        # The email and external id are free again; the erased customer no longer shows in search.
        again_sara = await create(svc, given_name="Sara", email="sara@example.com", external_ids=[{"source": "pos", "id": "9"}])
        found = (await svc.client.get("/v1/customers", params={"q": "sara"}, headers=svc.auth("customers:read"))).json()["items"]
        assert [c["id"] for c in found] == [again_sara["id"]]
        patch = await svc.client.patch(f"/v1/customers/{sara['id']}", json={"city": "Riyadh"}, headers=h)
        assert patch.status_code == 409 and patch.json()["type"].endswith("/customer-erased")

        events = await read_events(svc.bootstrap, svc.topic("wafa.customer"), until=lambda evs: any(e.type == "customer.erased" for e in evs))
        erased = [e for e in events if e.type == "customer.erased"]
        assert len(erased) == 1 and erased[0].data["customer_id"] == sara["id"]
