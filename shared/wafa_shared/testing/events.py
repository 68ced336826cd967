"""Wait for an expected event on a topic, without sleeping: read the topic from the start
until a matching event arrives or the deadline passes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer

from wafa_shared.events import Event


async def read_events(bootstrap: str, topic: str, *, until: Callable[[list[Event]], bool], timeout_s: float = 20) -> list[Event]:
    """Events of `topic` from offset 0 until `until(events_so_far)` holds; TimeoutError otherwise."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    events: list[Event] = []
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if until(events):
                return events
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"expected events did not arrive on {topic}; saw {len(events)}: {[e.type for e in events][-10:]}")
            batch = await consumer.getmany(timeout_ms=int(min(left, 0.5) * 1000), max_records=5000)
            for records in batch.values():
                events.extend(Event.from_json(r.value or b"") for r in records)
    finally:
        await consumer.stop()


async def wait_for_event(bootstrap: str, topic: str, predicate: Callable[[Event], bool], *, timeout_s: float = 20) -> Event:
    events = await read_events(bootstrap, topic, until=lambda evs: any(predicate(e) for e in evs), timeout_s=timeout_s)
    return next(e for e in events if predicate(e))


async def eventually(check: Callable[[], object], *, timeout_s: float = 20, interval_s: float = 0.05) -> object:
    """Poll an async or sync `check` until it returns a truthy value (the condition we wait for,
    not a fixed sleep); raises TimeoutError with the last value."""
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval_s)
    raise TimeoutError(f"condition not met in {timeout_s}s; last value: {last!r}")
