"""Bulk import: streamed CSV/JSONL, upsert on external id, per-row errors, good rows kept."""

from __future__ import annotations

from typing import Any

import orjson
from customer_helpers import clock, create, of_type

from wafa_shared.testing.events import eventually, read_events

CSV = """external_id,given_name,family_name,email,phone,country,time_zone,birth_date,tags,attr:loyalty_card,date:home_purchase
A1,Sara,Q,sara@example.com,0501234567,SA,Asia/Riyadh,1990-05-17,vip|newsletter,yes,2021-09-01
A2,Omar,,not-an-email,,SA,,,,,
A3,Huda,,huda@example.com,12,SA,,,,,
A4,Ali,,ali@example.com,,SA,Mars/Base,,,,
A5,Nora,,nora@example.com,+971 50 123 4567,,,2999-01-01,,,
A6,"Khalid, Jr.",,khalid@example.com,,AE,Asia/Dubai,,,,
"""


async def _import(svc: Any, body: str | bytes, content_type: str, **params: Any) -> Any:
    headers = svc.auth("customers:write") | {"content-type": content_type}
    r = await svc.client.post("/v1/customers/import", content=body, params={"wait": "true", **params}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_csv_import_keeps_good_rows_and_reports_each_bad_row_with_its_field(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        await svc.client.put("/v1/custom-fields/loyalty_card", json={"type": "enum", "options": ["yes", "no"]}, headers=svc.auth())
        job = await _import(svc, CSV, "text/csv", source="pos")
        assert (job["status"], job["rows_read"], job["created"], job["updated"], job["failed"]) == ("completed", 6, 2, 0, 4)
        assert [(e["row"], e["field"], e["external_id"]) for e in job["errors"]] == [
            (2, "email", "A2"),
            (3, "phone", "A3"),
            (4, "time_zone", "A4"),
            (5, "birth_date", "A5"),
        ]
        found = (await svc.client.get("/v1/customers", params={"email": "sara@"}, headers=svc.auth("customers:read"))).json()["items"]
        sara = (await svc.client.get(f"/v1/customers/{found[0]['id']}", headers=svc.auth("customers:read"))).json()
        assert sara["phone"] == "+966501234567" and sara["tags"] == ["newsletter", "vip"]
        assert sara["attributes"] == {"loyalty_card": "yes"} and sara["custom_dates"] == {"home_purchase": "2021-09-01"}
        assert sara["external_ids"] == [{"source": "pos", "id": "A1"}]
        khalid = (await svc.client.get("/v1/customers", params={"q": "khalid"}, headers=svc.auth("customers:read"))).json()["items"]
        assert khalid[0]["display_name"] == "Khalid, Jr."

        events = await read_events(svc.bootstrap, svc.topic("wafa.customer"), until=lambda evs: len(of_type(evs, "customer.registered")) >= 2)
        assert sorted(e.data["email"] for e in of_type(events, "customer.registered")) == ["khalid@example.com", "sara@example.com"]


async def test_a_jsonl_import_upserts_on_external_id_and_never_steals_an_email(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        taken = await create(svc, given_name="Owner", email="taken@example.com")
        rows = [{"external_id": "X1", "given_name": "Lina", "city": "Riyadh"}, {"external_id": "X2", "given_name": "Rami"}]
        first = b"\n".join(orjson.dumps(r) for r in rows)
        job = await _import(svc, first, "application/x-ndjson")
        assert (job["created"], job["updated"], job["failed"]) == (2, 0, 0)

        second = b"\n".join(
            [
                orjson.dumps({"external_id": "X1", "city": "Jeddah", "email": "lina@example.com"}),
                orjson.dumps({"external_id": "X2", "email": "taken@example.com"}),
                b"{not json",
                orjson.dumps({"external_id": "X3", "given_name": "New"}),
                orjson.dumps(["not", "an", "object"]),
            ]
        )
        job = await _import(svc, second, "application/x-ndjson")
        assert (job["rows_read"], job["created"], job["updated"], job["failed"]) == (5, 1, 1, 3)
        assert [(e["row"], e["field"]) for e in job["errors"]] == [(2, "email"), (3, None), (5, None)]

        lina = (await svc.client.get("/v1/customers", params={"q": "lina"}, headers=svc.auth("customers:read"))).json()["items"]
        assert len(lina) == 1 and lina[0]["email"] == "lina@example.com"
        full = (await svc.client.get(f"/v1/customers/{lina[0]['id']}", headers=svc.auth("customers:read"))).json()
        assert full["city"] == "Jeddah" and full["given_name"] == "Lina"
        owner = (await svc.client.get(f"/v1/customers/{taken['id']}", headers=svc.auth("customers:read"))).json()
        assert owner["email"] == "taken@example.com"

        events = await read_events(svc.bootstrap, svc.topic("wafa.customer"), until=lambda evs: len(of_type(evs, "customer.updated")) >= 1)
        updated = of_type(events, "customer.updated")
        assert [(e.subject, e.data["changed"], e.data["city"]) for e in updated] == [(lina[0]["id"], ["city", "email"], "Jeddah")]


async def test_an_import_runs_in_the_background_with_a_parser_process_and_shows_its_progress(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock(), import_chunk_rows=100, import_parallel_bytes=1) as svc:
        rows = "external_id,given_name,email\n" + "".join(f"E{i},Name{i},p{i}@example.com\n" for i in range(1000)) + "E1000,Bad,not-an-email\n"
        r = await svc.client.post("/v1/customers/import", content=rows, headers=svc.auth("customers:write") | {"content-type": "text/csv"})
        assert r.status_code == 202 and r.headers["location"] == f"/v1/imports/{r.json()['id']}"

        async def finished() -> Any:
            job = (await svc.client.get(r.headers["location"], headers=svc.auth("customers:read"))).json()
            return job if job["status"] != "running" else None

        job = await eventually(finished, timeout_s=60)
        assert (job["status"], job["rows_read"], job["created"], job["failed"]) == ("completed", 1001, 1000, 1)  # type: ignore[index]
        assert [(e["row"], e["field"]) for e in job["errors"]] == [(1001, "email")]  # type: ignore[index]
        listed = (await svc.client.get("/v1/customers", params={"limit": 1, "tag": "none"}, headers=svc.auth("customers:read"))).json()
        assert listed["items"] == []


async def test_an_import_without_a_known_format_is_refused(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        r = await svc.client.post("/v1/customers/import", content="x", headers=svc.auth("customers:write") | {"content-type": "application/pdf"})
        assert r.status_code == 415 and r.headers["content-type"] == "application/problem+json"
        r = await svc.client.post("/v1/customers/import", content="x", headers=svc.auth("customers:read") | {"content-type": "text/csv"})
        assert r.status_code == 403
