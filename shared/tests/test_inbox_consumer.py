"""Idempotent consumers: duplicates change nothing; poison goes to the DLQ; the DLQ replays."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace
from typing import Any

import notes_service
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from helpers import rows, scalar

from wafa_shared.events import Event
from wafa_shared.inbox import ConsumerSpec, Handlers, InboxConsumer, Parsed
from wafa_shared.testing.events import eventually, read_events


async def _post(svc: Any, i: int, body: str = "x") -> None:
    r = await svc.client.post("/v1/notes", json={"customer_id": f"c-{i % 5}", "seq": i, "body": body}, headers=svc.auth())
    assert r.status_code == 201, r.text


async def test_redelivering_every_event_from_offset_zero_applies_each_effect_once(notes: Any, infra: Any) -> None:
    async with notes() as svc:
        for i in range(200):
            await _post(svc, i)
        await eventually(lambda: scalar(svc, "SELECT count(*) = 200 FROM note_effects"), timeout_s=60)
        topic = svc.topic("wafa.customer")
        originals = await read_events(infra.bootstrap, topic, until=lambda evs: len(evs) >= 200)

        producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
        await producer.start()
        try:
            for e in originals:
                await producer.send(topic, e.to_json(), key=(e.subject or "").encode())
            await producer.flush()
        finally:
            await producer.stop()
        await eventually(lambda: _committed(infra, svc.runtime.consumers[0].group_id, topic, 400), timeout_s=60)
        assert await scalar(svc, "SELECT count(*) FROM note_effects") == 200
        assert await scalar(svc, "SELECT count(DISTINCT note_id) FROM note_effects") == 200


async def test_replaying_every_topic_from_offset_zero_under_a_new_group_changes_nothing(notes: Any, infra: Any) -> None:
    async with notes() as svc:
        for i in range(50):
            await _post(svc, i)
        await eventually(lambda: scalar(svc, "SELECT count(*) = 50 FROM note_effects"), timeout_s=60)
        topic = svc.topic("wafa.customer")
    async with notes(clean=False, consumer_group_suffix=".replay-1") as svc:
        group = svc.runtime.consumers[0].group_id
        assert group.endswith(".replay-1")
        await eventually(lambda: _committed(infra, group, topic, 50), timeout_s=60)
        assert await scalar(svc, "SELECT count(*) FROM note_effects") == 50
        assert await scalar(svc, "SELECT count(*) FROM inbox") == 50


async def _committed(infra: Any, group_id: str, topic: str, expected: int) -> bool:
    """True once the consumer group has committed offsets past `expected` messages of `topic`."""
    probe = AIOKafkaConsumer(bootstrap_servers=infra.bootstrap, group_id=group_id, enable_auto_commit=False)
    await probe.start()
    try:
        partitions = probe.partitions_for_topic(topic) or set()
        if not partitions:
            await probe._client.force_metadata_update()
            partitions = probe.partitions_for_topic(topic) or set()
        total = 0
        for p in partitions:
            total += await probe.committed(TopicPartition(topic, p)) or 0
    finally:
        await probe.stop()
    return total >= expected


async def test_poison_event_is_dead_lettered_after_retries_and_the_consumer_moves_on(notes: Any, infra: Any) -> None:
    notes_service.FAILING_BODIES.add("boom")
    try:
        async with notes(consumer_max_attempts=3, consumer_retry_backoff_s=0.01) as svc:
            await _post(svc, 0, "fine")
            await _post(svc, 1, "boom")
            await _post(svc, 2, "fine")
            topic = svc.topic("wafa.customer")
            producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
            await producer.start()
            await producer.send_and_wait(topic, b"{not json", key=b"c-1")
            await producer.stop()
            await _post(svc, 3, "fine")

            await eventually(lambda: scalar(svc, "SELECT count(*) = 2 FROM dead_letters"), timeout_s=60)
            await eventually(lambda: scalar(svc, "SELECT count(*) = 3 FROM note_effects"))
            dead = await rows(svc, "SELECT event_type, attempts, error FROM dead_letters ORDER BY event_type NULLS FIRST")
            assert dead[0].event_type is None and dead[0].attempts == 1 and "unparseable" in dead[0].error
            assert dead[1].event_type == "test.note.created" and dead[1].attempts == 3 and "cannot apply" in dead[1].error

            c = AIOKafkaConsumer(topic + ".dlq", bootstrap_servers=infra.bootstrap, auto_offset_reset="earliest")
            await c.start()
            try:
                got: list[Any] = []
                while len(got) < 2:
                    batch = await c.getmany(timeout_ms=1000)
                    for recs in batch.values():
                        got += recs
                assert all(dict(r.headers).get("x-dlq-error") for r in got)
            finally:
                await c.stop()

            listed = (await svc.client.get("/v1/ops/dead-letters", headers=svc.auth())).json()["items"]
            assert len(listed) == 2
            poison = next(d for d in listed if d["event_type"] == "test.note.created")

            r = await svc.client.post(f"/v1/ops/dead-letters/{poison['id']}/replay", headers=svc.auth())
            assert r.json()["status"] == "dead"  # still failing: stays dead with the fresh error
            notes_service.FAILING_BODIES.discard("boom")
            r = await svc.client.post(f"/v1/ops/dead-letters/{poison['id']}/replay", headers=svc.auth())
            assert r.json()["status"] == "replayed"
            assert await scalar(svc, "SELECT count(*) FROM note_effects") == 4
            r = await svc.client.post(f"/v1/ops/dead-letters/{poison['id']}/replay", headers=svc.auth())
            assert r.json()["status"] == "replayed"
            assert await scalar(svc, "SELECT count(*) FROM note_effects") == 4, "replaying twice applies once"
            forbidden = await svc.client.get("/v1/ops/dead-letters", headers=svc.auth("notes:read"))
            assert forbidden.status_code == 403
    finally:
        notes_service.FAILING_BODIES.discard("boom")


async def test_events_arriving_while_postgresql_is_down_wait_for_it_and_none_is_dead_lettered(notes: Any, infra: Any) -> None:
    """A database outage is nobody's event's fault: however long it lasts, the consumer spends no
    attempt on it, dead-letters nothing, keeps running, and applies each event once it is back."""
    if infra.pg is None:
        pytest.skip("needs the embedded PostgreSQL to stop it")
    async with notes(consumer_max_attempts=2, consumer_retry_backoff_s=0.01) as svc:
        for i in range(5):
            await _post(svc, i)
        await eventually(lambda: scalar(svc, "SELECT count(*) = 5 FROM note_effects"), timeout_s=60)
        topic = svc.topic("wafa.customer")
        originals = await read_events(infra.bootstrap, topic, until=lambda evs: len(evs) >= 5)
        consumer = svc.runtime.consumers[0]._consumer  # to see it fetch the new events
        producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
        await producer.start()
        await asyncio.to_thread(infra.pg.stop, "fast")
        try:
            firsts: dict[TopicPartition, int] = {}
            for i, e in enumerate(originals):  # five new notes' events, while the database is away
                data = {**e.data, "note_id": str(uuid.uuid4()), "seq": 100 + i}
                sent = await producer.send_and_wait(topic, e.model_copy(update={"id": uuid.uuid4(), "data": data}).to_json(), key=(e.subject or "").encode())
                firsts.setdefault(TopicPartition(topic, sent.partition), sent.offset)

            async def fetched() -> bool:  # the consumer is applying one against a database that is not there
                return any([await consumer.position(tp) > first for tp, first in firsts.items()])

            await eventually(fetched, timeout_s=30)
        finally:
            await producer.stop()
            await asyncio.to_thread(infra.pg.start)
        await eventually(lambda: scalar(svc, "SELECT count(*) = 10 FROM note_effects"), timeout_s=60)
        assert await scalar(svc, "SELECT count(DISTINCT note_id) FROM note_effects") == 10
        assert await scalar(svc, "SELECT count(*) FROM dead_letters") == 0
        assert svc.runtime.consumers[0].connected, "the consumer is still running"


async def test_the_after_handlers_hook_sees_every_new_event_of_a_batch_once_every_handler_ran() -> None:
    """Handlers run in event order, batch handlers on runs of their type; the hook (where a
    consumer does the work that locks what a concurrent job locks) runs last, with the whole batch."""
    calls: list[tuple[str, object]] = []
    handlers = Handlers()

    @handlers.after_handlers
    async def after(session: Any, batch: list[tuple[Event, Any]]) -> None:
        calls.append(("after", [e.type for e, _ in batch]))

    @handlers.on("a")
    async def on_a(session: Any, event: Event, data: Any) -> None:
        calls.append(("a", event.subject))

    @handlers.on_batch("b")
    async def on_b(session: Any, batch: list[tuple[Event, Any]]) -> None:
        calls.append(("b", [e.subject for e, _ in batch]))

    consumer = InboxConsumer(ConsumerSpec("hook", ["x"], handlers), sessions=None, bootstrap="", service="test")  # type: ignore[arg-type]
    events = [Event(type=t, source="test", subject=str(i), data={}) for i, t in enumerate(["b", "b", "a", "b"])]
    await consumer._dispatch(None, [Parsed(record=SimpleNamespace(headers=None), event=e) for e in events])  # type: ignore[arg-type]
    assert calls == [("b", ["0", "1"]), ("a", "2"), ("b", ["3"]), ("after", ["b", "b", "a", "b"])]
