"""Conventions every service keeps, checked over every endpoint its OpenAPI document lists
(so a new endpoint is covered the day it is added): tokens are required, wrong scopes are
refused, and errors are problem+json."""

from __future__ import annotations

from typing import Any

import pytest

from wafa_shared.services import installed_services
from wafa_shared.testing.platform import protected_operations

SERVICES = [s.name for s in installed_services()]


@pytest.mark.parametrize("service", SERVICES)
async def test_every_endpoint_refuses_missing_and_wrong_scope_tokens_with_problem_json(wafa_service: Any, service: str) -> None:
    async with wafa_service(service, consumers_enabled=False, relay_enabled=False, webhooks_enabled=False) as svc:
        spec = (await svc.client.get("/openapi.json")).json()
        endpoints = protected_operations(spec)
        assert endpoints, "every service has protected endpoints"
        wrong = svc.auth("nothing:read")
        for method, path in endpoints:
            inbound = "/inbound/" in path
            r = await svc.client.request(method, path)
            assert r.status_code == 401, f"{method} {path} without a token answered {r.status_code}"
            assert r.headers["content-type"].startswith("application/problem+json"), f"{method} {path}"
            if inbound:
                continue  # partner webhooks authenticate by signature, not scope
            r = await svc.client.request(method, path, headers=wrong)
            assert r.status_code == 403, f"{method} {path} with a wrong-scope token answered {r.status_code}"
            assert r.json()["type"].endswith("/forbidden")


@pytest.mark.parametrize("service", SERVICES)
async def test_every_service_serves_docs_health_and_its_event_catalog(wafa_service: Any, service: str) -> None:
    async with wafa_service(service, consumers_enabled=False, relay_enabled=False, webhooks_enabled=False) as svc:
        assert (await svc.client.get("/healthz")).status_code == 200
        assert (await svc.client.get("/docs")).status_code == 200
        spec = (await svc.client.get("/openapi.json")).json()
        assert "/v1/webhooks/subscriptions" in spec["paths"]
        asyncapi = (await svc.client.get("/asyncapi.json")).json()
        assert asyncapi["asyncapi"].startswith("3.")
        assert asyncapi["channels"], f"{service} documents the events it publishes"
