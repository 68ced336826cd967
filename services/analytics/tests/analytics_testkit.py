"""Helpers of the analytics tests: put many events on the bus at once, read the read model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import text

from wafa_shared.events import Event, EventData, new_event


def at(day: str, hour: int = 12) -> datetime:
    """Noon UTC (by default) of an ISO date."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def envelopes(items: list[tuple[EventData, Any]]) -> list[Event]:
    return [new_event(data, source="test", subject=subject) for data, subject in items]


async def send(svc: Any, events: list[Event]) -> None:
    """Produce events as other services would (keyed by subject, so one customer stays in order)."""
    producer = AIOKafkaProducer(bootstrap_servers=svc.bootstrap, linger_ms=5)
    await producer.start()
    try:
        futures = []
        for e in events:
            topic = svc.topic(type(_schema(e)).topic)
            futures.append(await producer.send(topic, e.to_json(), key=str(e.subject).encode()))
        for f in futures:
            await f
    finally:
        await producer.stop()


def _schema(e: Event) -> EventData:
    from wafa_shared.events import CATALOG

    return CATALOG.parse(e)


async def inbox_count(svc: Any) -> int:
    async with svc.runtime.sessions() as session:
        return int((await session.execute(text("SELECT count(*) FROM inbox"))).scalar_one())


async def scalar(svc: Any, sql: str, **params: Any) -> Any:
    async with svc.runtime.sessions() as session:
        return (await session.execute(text(sql), params)).scalar_one_or_none()


NOW = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
Q1 = {"from": "2026-01-01", "to": "2026-03-31"}


async def load(svc: Any, events: list[Event]) -> None:
    """Send events and wait until the consumer has taken every new event id into its inbox."""
    before = await inbox_count(svc)
    fresh = len({e.id for e in events})
    await send(svc, events)

    async def done() -> bool:
        return await inbox_count(svc) >= before + fresh

    from wafa_shared.testing.events import eventually

    await eventually(done, timeout_s=30)


async def get(svc: Any, path: str, **params: Any) -> Any:
    r = await svc.client.get(path, params=params, headers=svc.auth("analytics:read"))
    assert r.status_code == 200, r.text
    return r.json()
