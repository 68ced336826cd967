"""Shared bits of the customer service tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from wafa_shared.clock import ManualClock

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
# A customer with every profile field set, in the form a caller writes them.
SARA: dict[str, Any] = {
    "given_name": "Sara",
    "family_name": "Al-Qahtani",
    "email": "Sara.Q@Example.com",
    "phone": "050 123 4567",
    "country": "SA",
    "language": "ar",
    "city": "Riyadh",
    "time_zone": "Asia/Riyadh",
    "birth_date": "1990-05-17",
    "custom_dates": {"home_purchase": "2021-09-01"},
    "tags": ["vip", "newsletter"],
    "external_ids": [{"source": "pos", "id": "P-1"}],
}


def clock() -> ManualClock:
    return ManualClock(T0)


async def create(svc: Any, **fields: Any) -> dict[str, Any]:
    r = await svc.client.post("/v1/customers", json=fields, headers=svc.auth("customers:write"))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def of_type(events: list[Any], event_type: str, subject: str | None = None) -> list[Any]:
    return [e for e in events if e.type == event_type and (subject is None or e.subject == subject)]
