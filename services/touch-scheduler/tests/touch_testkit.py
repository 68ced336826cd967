"""Helpers of the touch scheduler tests: customers on the bus, and customers chosen in or out
of a plan's holdout (the assignment is deterministic)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from wafa_shared.events.customer import ConsentChanged, CustomerRegistered
from wafa_shared.events.loyalty import PurchaseRecorded
from wafa_shared.testing.events import eventually
from wafa_touch.domain.holdout import in_holdout

ALL_CONSENTS = ("email", "sms", "phone", "post", "push")


def customer_id(plan_key: str = "client-for-life", *, holdout: bool = False, pct: str = "10") -> uuid.UUID:
    while True:
        cid = uuid.uuid4()
        if in_holdout(plan_key, cid, Decimal(pct)) == holdout:
            return cid


async def register(
    svc: Any,
    cid: uuid.UUID,
    at: datetime,
    *,
    tz: str = "Asia/Riyadh",
    country: str = "SA",
    birth: date | None = date(1990, 7, 4),
    consents: tuple[str, ...] = ALL_CONSENTS,
    quiet: tuple[time, time] | None = None,
    owner: str | None = None,
) -> None:
    await svc.emit(
        CustomerRegistered(
            customer_id=cid,
            display_name="Layla",
            email="layla@example.com",
            phone="+966500000001",
            time_zone=tz,
            country=country,
            birth_date=birth,
            registered_at=at,
            owner=owner,
        ),
        subject=cid,
    )
    for i, channel in enumerate(consents):
        qs, qe = quiet if quiet and i == 0 else (None, None)
        await svc.emit(ConsentChanged(customer_id=cid, channel=channel, status="granted", changed_at=at, quiet_hours_start=qs, quiet_hours_end=qe), subject=cid)


async def first_purchase(svc: Any, cid: uuid.UUID, at: datetime) -> None:
    await svc.emit(
        PurchaseRecorded(
            purchase_id=uuid.uuid4(), customer_id=cid, order_id="o-1", amount=Decimal("120.00"), currency="SAR", occurred_at=at, first_purchase=True
        ),
        subject=cid,
    )


async def timeline(svc: Any, cid: uuid.UUID) -> list[dict[str, Any]]:
    r = await svc.client.get(f"/v1/customers/{cid}/touches", params={"limit": 500}, headers=svc.auth("touches:read"))
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


async def wait_touches(svc: Any, cid: uuid.UUID, n: int) -> list[dict[str, Any]]:
    async def check() -> list[dict[str, Any]] | None:
        items = await timeline(svc, cid)
        return items if len(items) >= n else None

    return await eventually(check, timeout_s=30)  # type: ignore[return-value]


async def wait_profile(svc: Any, cid: uuid.UUID, consents: int) -> None:
    from wafa_touch.models import CustomerProfile

    async def check() -> bool:
        async with svc.runtime.sessions() as s:
            p = await s.get(CustomerProfile, cid)
            return p is not None and p.display_name is not None and len(p.consents) >= consents

    await eventually(check, timeout_s=30)


async def first_buyer(svc: Any, registered: datetime, bought: datetime | None = None) -> tuple[uuid.UUID, list[dict[str, Any]]]:
    """A new customer (outside the holdout) registered, with a first purchase: enrolled in
    Client for Life. Returns the customer and its 33 planned touches."""
    cid = customer_id()
    await register(svc, cid, registered)
    await wait_profile(svc, cid, 5)
    await first_purchase(svc, cid, bought or registered)
    return cid, await wait_touches(svc, cid, 33)
