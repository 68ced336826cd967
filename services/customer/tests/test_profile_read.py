"""`GET /v1/customers/{id}` reads the profile in one statement on the driver connection; it
answers byte for byte the document built from the ORM objects, and leaves the pool healthy."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from customer_helpers import SARA, clock, create
from sqlalchemy import update

from wafa_customer import repository, service
from wafa_customer.models import Customer

RICH = {
    **SARA,
    "email": "sara.q@example.com",
    "custom_dates": {"home_purchase": "2021-09-01", "wedding": "2015-02-14"},
    "external_ids": [{"source": "pos", "id": "P-1"}, {"source": "crm", "id": "C-9"}, {"source": "pos", "id": "P-0"}],
}


async def test_the_profile_read_answers_exactly_the_document_built_from_the_orm(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        c = await create(svc, **RICH)
        r = await svc.client.put(
            f"/v1/customers/{c['id']}/consents",
            json={
                "channels": {"sms": "granted", "email": "withdrawn"},
                "source": "web-form",
                "preferred_channel": "sms",
                "quiet_hours": {"start": "21:00", "end": "08:30"},
            },
            headers=svc.auth("customers:write"),
        )
        assert r.status_code == 200, r.text
        async with svc.runtime.sessions() as session, session.begin():
            await session.execute(
                update(Customer)
                .where(Customer.id == uuid.UUID(c["id"]))
                .values(
                    total_spend=Decimal("1234.5000"),
                    purchase_count=7,
                    first_purchase_at=datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC),
                    last_purchase_at=datetime(2026, 2, 1, 8, 0, tzinfo=UTC),
                    tier="gold",
                    nps_band="promoter",
                    attributes={"shoe_size": 38, "notes": "نعم"},
                )
            )
        async with svc.runtime.sessions() as session:
            row = await repository.get_customer(session, uuid.UUID(c["id"]))
            assert row is not None
            expected = (await service.customer_out(session, row)).model_dump_json().encode()

        got = await svc.client.get(f"/v1/customers/{c['id']}", headers=svc.auth("customers:read"))
        assert got.status_code == 200
        assert got.content == expected
        assert got.headers["content-type"] == "application/json"
        assert got.json()["external_ids"] == [{"source": "crm", "id": "C-9"}, {"source": "pos", "id": "P-0"}, {"source": "pos", "id": "P-1"}]
        assert [x["channel"] for x in got.json()["consents"]] == ["email", "sms"]


async def test_an_unknown_customer_is_a_404_problem_and_concurrent_reads_share_the_pool(wafa_service: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc:
        h = svc.auth("customers:read")
        missing = await svc.client.get(f"/v1/customers/{uuid.uuid4()}", headers=h)
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["type"].endswith("/not-found")
        ids = [(await create(svc, given_name=f"C{i}", country="SA"))["id"] for i in range(5)]
        pool = svc.runtime.engine.sync_engine.pool
        n = 5 * (pool.size() + pool._max_overflow)  # a connection not given back would starve the later reads
        for _ in range(2):
            answers = await asyncio.gather(*(svc.client.get(f"/v1/customers/{ids[i % 5]}", headers=h) for i in range(n)))
            assert [a.status_code for a in answers] == [200] * n
            assert [a.json()["id"] for a in answers] == [ids[i % 5] for i in range(n)]
