"""The docs portal is generated from the code: every event type, its topic and its consumers."""

from __future__ import annotations

import httpx

from wafa_shared.events import CATALOG
from wafa_shared.portal import create_portal


async def test_portal_lists_every_service_and_every_event_type_with_its_topic() -> None:
    app = create_portal({"loyalty": 18002})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal") as client:
        page = (await client.get("/")).text
        for model in CATALOG.all():
            assert model.event_type in page
        assert "http://portal:18002/docs" in page
        events = (await client.get("/events.json")).json()
        purchase = next(e for e in events if e["type"] == "loyalty.purchase.recorded")
        assert purchase["topic"] == "wafa.loyalty" and "amount" in purchase["fields"]
        asyncapi = (await client.get("/asyncapi.json")).json()
        assert set(asyncapi["channels"]) == set(CATALOG.topics())
