"""The loyalty service starts with the platform wiring every service shares."""

from __future__ import annotations

from typing import Any


async def test_health_ready_metrics_and_docs(wafa_service: Any) -> None:
    async with wafa_service("loyalty") as svc:
        assert (await svc.client.get("/healthz")).json() == {"status": "ok"}
        from wafa_shared.testing.events import eventually

        async def ready() -> bool:
            return (await svc.client.get("/readyz")).status_code == 200

        await eventually(ready)
        metrics = await svc.client.get("/metrics")
        assert "wafa_http_requests_total" in metrics.text
        spec = (await svc.client.get("/openapi.json")).json()
        assert "/v1/webhooks/subscriptions" in spec["paths"]
        asyncapi = (await svc.client.get("/asyncapi.json")).json()
        assert "loyalty.purchase.recorded.v1" in asyncapi["components"]["messages"]
