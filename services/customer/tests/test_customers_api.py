"""Profiles through the API and the broker: create, validate, update, consent, search, dedupe."""

from __future__ import annotations

from typing import Any

from customer_helpers import SARA, clock, create, of_type

from wafa_shared.testing.events import read_events


async def test_a_new_customer_is_normalised_stored_and_announced_with_its_contact_profile(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        c = await create(svc, **SARA)
        assert c["email"] == "sara.q@example.com"
        assert c["phone"] == "+966501234567"
        assert c["display_name"] == "Sara Al-Qahtani"
        assert c["lifecycle"] == "customer" and c["kind"] == "person"
        assert len(c["referral_code"]) == 8
        assert c["personal_dates"] == {"birthday": "1990-05-17", "home_purchase": "2021-09-01"}
        assert c["external_ids"] == [{"source": "pos", "id": "P-1"}]

        got = await svc.client.get(f"/v1/customers/{c['id']}", headers=svc.auth("customers:read"))
        assert got.status_code == 200 and got.json() == c

        ev = await svc.wait_for_event("wafa.customer", lambda e: e.type == "customer.registered" and e.subject == c["id"])
        assert ev.data["email"] == "sara.q@example.com"
        assert ev.data["phone"] == "+966501234567"
        assert ev.data["time_zone"] == "Asia/Riyadh"
        assert ev.data["birth_date"] == "1990-05-17"
        assert ev.data["custom_dates"] == {"home_purchase": "2021-09-01"}
        assert ev.data["language"] == "ar" and ev.data["country"] == "SA"
        assert ev.data["referral_code"] == c["referral_code"]


async def test_invalid_fields_get_422_naming_each_field_and_nothing_is_written(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        h = svc.auth("customers:write")
        bad = {"email": "nope@", "time_zone": "Mars/Base", "country": "XX", "birth_date": "2999-01-01", "language": "??"}
        r = await svc.client.post("/v1/customers", json=bad, headers=h)
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        assert {e["field"] for e in r.json()["errors"]} == {"email", "time_zone", "country", "birth_date", "language"}

        r = await svc.client.post("/v1/customers", json={"phone": "12345", "country": "SA"}, headers=h)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "phone"

        r = await svc.client.post("/v1/customers", json={"attributes": {"shoe_size": 42}}, headers=h)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "attributes.shoe_size"

        listed = await svc.client.get("/v1/customers", headers=svc.auth("customers:read"))
        assert listed.json()["items"] == []


async def test_a_duplicate_email_or_external_id_is_a_409_and_changes_nothing(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        first = await create(svc, **SARA)
        h = svc.auth("customers:write")
        r = await svc.client.post("/v1/customers", json={"email": "SARA.q@example.COM"}, headers=h)
        assert r.status_code == 409 and r.json()["type"].endswith("/duplicate-email")
        assert r.json()["existing_customer_id"] == first["id"]
        r = await svc.client.post("/v1/customers", json={"email": "other@example.com", "external_ids": [{"source": "pos", "id": "P-1"}]}, headers=h)
        assert r.status_code == 409 and r.json()["type"].endswith("/duplicate-external-id")
        listed = await svc.client.get("/v1/customers", headers=svc.auth("customers:read"))
        assert [c["id"] for c in listed.json()["items"]] == [first["id"]]


async def test_patch_changes_only_sent_fields_and_publishes_what_changed(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        c = await create(svc, **SARA)
        h = svc.auth("customers:write")
        r = await svc.client.patch(
            f"/v1/customers/{c['id']}",
            json={"city": "Jeddah", "phone": "+966 55 000 1111", "custom_dates": {"home_purchase": None, "wedding": "2015-02-14"}},
            headers=h,
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["city"] == "Jeddah" and body["phone"] == "+966550001111"
        assert body["custom_dates"] == {"wedding": "2015-02-14"}
        assert body["email"] == "sara.q@example.com"

        same = await svc.client.patch(f"/v1/customers/{c['id']}", json={"city": "Jeddah"}, headers=h)
        assert same.status_code == 200

        bad = await svc.client.patch(f"/v1/customers/{c['id']}", json={"lifecycle": "lead"}, headers=h)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "lifecycle"

        events = await read_events(svc.bootstrap, svc.topic("wafa.customer"), until=lambda evs: len(of_type(evs, "customer.updated")) >= 1)
        updates = of_type(events, "customer.updated", c["id"])
        assert len(updates) == 1  # the no-op patch published nothing
        assert updates[0].data["changed"] == ["city", "custom_dates", "phone"]
        assert updates[0].data["phone"] == "+966550001111"
        assert updates[0].data["custom_dates"] == {"wedding": "2015-02-14"}


async def test_consent_changes_are_audited_and_published_with_preferences(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        c = await create(svc, **SARA)
        h = svc.auth("customers:write")
        url = f"/v1/customers/{c['id']}/consents"
        r = await svc.client.put(
            url,
            json={
                "channels": {"email": "granted", "sms": "granted"},
                "source": "web-form",
                "preferred_channel": "sms",
                "quiet_hours": {"start": "21:00", "end": "08:00"},
            },
            headers=h,
        )
        assert r.status_code == 200, r.text
        r = await svc.client.put(url, json={"channels": {"sms": "withdrawn", "email": "granted"}, "source": "sms-stop"}, headers=h)
        body = r.json()
        assert {x["channel"]: x["status"] for x in body["consents"]} == {"email": "granted", "sms": "withdrawn"}
        assert [(x["channel"], x["status"], x["source"], x["changed_by"]) for x in body["history"]] == [
            ("email", "granted", "web-form", "test"),
            ("sms", "granted", "web-form", "test"),
            ("sms", "withdrawn", "sms-stop", "test"),
        ]
        assert body["preferred_channel"] == "sms" and body["quiet_hours"] == {"start": "21:00:00", "end": "08:00:00"}

        events = await read_events(svc.bootstrap, svc.topic("wafa.customer"), until=lambda evs: len(of_type(evs, "customer.consent.changed")) >= 3)
        changes = [
            (e.data["channel"], e.data["status"], e.data["preferred_channel"], e.data["quiet_hours_start"]) for e in of_type(events, "customer.consent.changed")
        ]
        assert changes == [("email", "granted", "sms", "21:00:00"), ("sms", "granted", "sms", "21:00:00"), ("sms", "withdrawn", "sms", "21:00:00")]

        bad = await svc.client.put(url, json={"channels": {"fax": "granted"}, "source": "x"}, headers=h)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"].startswith("channels")


async def test_search_by_name_email_or_phone_prefix_ignores_case_accents_and_arabic_variants(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        ahmad = await create(svc, given_name="أَحْمَد", family_name="الغامدي", email="ahmad@example.com", phone="0551112222")
        jose = await create(svc, given_name="José", family_name="Álvarez", email="jose@example.es", phone="+34 612 345 678")
        fatima = await create(svc, given_name="فاطمة", family_name="الزهراء", email="f.z@example.com")
        h = svc.auth("customers:read")

        async def ids(**params: str) -> list[str]:
            r = await svc.client.get("/v1/customers", params=params, headers=h)
            assert r.status_code == 200, r.text
            return [c["id"] for c in r.json()["items"]]

        assert await ids(q="احمد") == [ahmad["id"]]
        assert await ids(q="jose") == [jose["id"]]
        assert await ids(q="ALVA") == [jose["id"]]  # a later word of the name
        assert await ids(q="فاطمه") == [fatima["id"]]
        assert await ids(q="F.Z@") == [fatima["id"]]
        assert await ids(phone="96655") == [ahmad["id"]]
        assert await ids(q="0551") == [ahmad["id"]]  # national format, read in the default country
        assert await ids(q="+3461") == [jose["id"]]
        assert await ids(q="nobody") == []


async def test_duplicates_are_found_on_canonical_email_and_normalised_phone(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        a = await create(svc, given_name="Omar", email="omar.k@gmail.com", phone="0501112233")
        b = await create(svc, given_name="Omar K", email="omark+shop@gmail.com")
        c = await create(svc, given_name="O. Khan", phone="+966 50 111 2233")
        await create(svc, given_name="Someone else", email="else@example.com")
        r = await svc.client.get("/v1/customers/duplicates", headers=svc.auth("customers:read"))
        groups = {(g["match"], g["value"]): sorted(x["id"] for x in g["customers"]) for g in r.json()}
        assert groups == {("email", "omark@gmail.com"): sorted([a["id"], b["id"]]), ("phone", "+966501112233"): sorted([a["id"], c["id"]])}
        r = await svc.client.get(f"/v1/customers/{a['id']}/duplicates", headers=svc.auth("customers:read"))
        assert sorted(x["id"] for x in r.json()) == sorted([b["id"], c["id"]])


async def test_b2b_contacts_and_intermediary_end_customers_are_kept(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        acme = await create(svc, kind="company", display_name="Acme Trading")
        shop = await create(svc, kind="intermediary", display_name="Corner Shop")
        buyer = await create(svc, given_name="Layla", company_id=acme["id"])
        end = await create(svc, given_name="Khalid", intermediary_id=shop["id"])
        h = svc.auth("customers:read")
        contacts = await svc.client.get("/v1/customers", params={"company_id": acme["id"]}, headers=h)
        assert [x["id"] for x in contacts.json()["items"]] == [buyer["id"]]
        ends = await svc.client.get(f"/v1/customers/{shop['id']}/end-customers", headers=h)
        assert [x["customer"]["id"] for x in ends.json()] == [end["id"]]
        bad = await svc.client.post("/v1/customers", json={"given_name": "X", "company_id": shop["id"]}, headers=svc.auth("customers:write"))
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "company_id"


async def test_every_endpoint_needs_a_token_with_the_customer_scope(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        assert (await svc.client.get("/v1/customers")).status_code == 401
        r = await svc.client.post("/v1/customers", json={"given_name": "A"}, headers=svc.auth("customers:read"))
        assert r.status_code == 403
        r = await svc.client.get("/v1/customers", headers=svc.auth("loyalty:read"))
        assert r.status_code == 403


async def test_the_event_catalog_documents_every_customer_event(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        doc = (await svc.client.get("/asyncapi.json")).json()
        names = {m["name"] for m in doc["components"]["messages"].values()}
        assert {
            "customer.registered",
            "customer.updated",
            "customer.consent.changed",
            "customer.erased",
            "referral.made",
            "referral.rejected",
            "lead.assigned",
            "lead.converted",
        } <= names
