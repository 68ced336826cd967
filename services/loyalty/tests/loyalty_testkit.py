"""Helpers of the loyalty tests: a program, members and purchases through the real API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

PROGRAM: dict[str, Any] = {
    "name": "Wafa Rewards",
    "points_name": "نقاط",
    "currency": "SAR",
    "earn_rate": "1",
    "rounding": "down",
    "point_value": "0.05",
    "pending_days": 0,
    "qualification_basis": "spend",
    "qualification_period": "calendar_year",
    "tiers": [
        {"name": "Silver", "threshold": "0"},
        {"name": "Gold", "threshold": "1000", "earn_multiplier": "1.5"},
    ],
}


async def create_program(svc: Any, **overrides: Any) -> dict[str, Any]:
    body = {**PROGRAM, **overrides}
    r = await svc.client.post("/v1/programs", json=body, headers=svc.auth("loyalty:write"))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def enrol(svc: Any, customer_id: uuid.UUID | None = None, birth_date: str | None = None) -> uuid.UUID:
    cid = customer_id or uuid.uuid4()
    r = await svc.client.post("/v1/members", json={"customer_id": str(cid), "birth_date": birth_date}, headers=svc.auth("loyalty:write"))
    assert r.status_code == 201, r.text
    return cid


def purchase_body(customer_id: uuid.UUID, amount: str | Decimal, *, order_id: str | None = None, at: datetime = T0, **extra: Any) -> dict[str, Any]:
    return {
        "customer_id": str(customer_id),
        "order_id": order_id or f"o-{uuid.uuid4().hex[:12]}",
        "occurred_at": at.isoformat(),
        "currency": "SAR",
        "lines": [{"sku": "SKU-1", "category": "grocery", "quantity": "1", "unit_price": str(amount)}],
        **extra,
    }


async def buy(svc: Any, customer_id: uuid.UUID, amount: str | Decimal, **kw: Any) -> dict[str, Any]:
    r = await svc.client.post("/v1/purchases", json=purchase_body(customer_id, amount, **kw), headers=svc.auth("loyalty:write"))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def member(svc: Any, customer_id: uuid.UUID) -> dict[str, Any]:
    r = await svc.client.get(f"/v1/members/{customer_id}", headers=svc.auth("loyalty:read"))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def ledger(svc: Any, customer_id: uuid.UUID) -> list[dict[str, Any]]:
    r = await svc.client.get(f"/v1/members/{customer_id}/ledger?limit=500", headers=svc.auth("loyalty:read"))
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


async def run_job(svc: Any, name: str) -> dict[str, Any]:
    r = await svc.client.post(f"/v1/ops/jobs/{name}/run", headers=svc.auth())
    assert r.status_code == 200, r.text
    return r.json()["result"]  # type: ignore[no-any-return]


def D(value: Any) -> Decimal:
    return Decimal(str(value))
