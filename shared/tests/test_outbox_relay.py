"""The transactional outbox and its relay: nothing accepted is lost while the broker is away,
and everything is published once, in order per key, when it is back."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import pytest
from helpers import scalar
from sqlalchemy import text

from wafa_shared.relay import _CLAIM, _PURGE, OutboxRelay
from wafa_shared.testing.events import eventually, read_events
from wafa_shared.testing.plans import generic_plan


async def _post_many(svc: Any, n: int, keys: int) -> None:
    """n notes over `keys` customers: concurrent across customers, one at a time per customer
    (as services serialise one customer's changes on its row), so per-key order is seq order."""
    headers = svc.auth("notes:write")

    async def one(i: int) -> None:
        r = await svc.client.post("/v1/notes", json={"customer_id": f"c-{i % keys}", "seq": i, "body": "x"}, headers=headers)
        assert r.status_code == 201, r.text

    for start in range(0, n, keys):
        await asyncio.gather(*(one(i) for i in range(start, min(n, start + keys))))


async def test_state_changes_commit_while_broker_is_paused_and_publish_once_in_order_after(notes: Any, infra: Any) -> None:
    if infra.broker is None:
        pytest.skip("needs the embedded broker to pause it")
    async with notes(consumers_enabled=False) as svc:
        await eventually(lambda: svc.runtime.relay.connected)
        infra.broker.pause()
        try:
            await _post_many(svc, 1000, keys=37)
            assert await scalar(svc, "SELECT count(*) FROM notes") == 1000
            assert await scalar(svc, "SELECT count(*) FROM outbox WHERE published_at IS NULL") == 1000
        finally:
            infra.broker.resume()
        await eventually(lambda: scalar(svc, "SELECT count(*) = 0 FROM outbox WHERE published_at IS NULL"), timeout_s=60)
        events = await read_events(infra.bootstrap, svc.topic("wafa.customer"), until=lambda evs: len(evs) >= 1000, timeout_s=60)
        assert len(events) == 1000
        assert len({e.id for e in events}) == 1000, "each event published once"
        by_key: dict[str, list[int]] = defaultdict(list)
        for e in events:
            by_key[e.subject or ""].append(e.data["seq"])
        assert len(by_key) == 37
        for seqs in by_key.values():
            assert seqs == sorted(seqs), "events of one key keep their order"


async def test_published_events_carry_trace_context_and_retained_rows_can_be_republished(notes: Any, infra: Any) -> None:
    async with notes(consumers_enabled=False) as svc:
        tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        r = await svc.client.post("/v1/notes", json={"customer_id": "c-1", "seq": 1, "body": "x"}, headers={**svc.auth(), "traceparent": tp})
        assert r.headers["traceparent"].split("-")[1] == "0af7651916cd43dd8448eb211c80319c"
        await eventually(lambda: scalar(svc, "SELECT count(*) = 0 FROM outbox WHERE published_at IS NULL"))
        headers = await scalar(svc, "SELECT headers->>'traceparent' FROM outbox")
        assert headers.split("-")[1] == "0af7651916cd43dd8448eb211c80319c"

        republished = await svc.client.post("/v1/ops/outbox/republish", json={"since": "2000-01-01T00:00:00Z"}, headers=svc.auth())
        assert republished.json() == {"queued": 1}
        events = await read_events(infra.bootstrap, svc.topic("wafa.customer"), until=lambda evs: len(evs) >= 2)
        assert len(events) == 2 and events[0].id == events[1].id


async def test_a_rolled_back_request_publishes_nothing(notes: Any) -> None:
    async with notes(consumers_enabled=False) as svc:
        r = await svc.client.post("/v1/notes", json={"customer_id": "c-1", "seq": -5, "body": "x"}, headers=svc.auth())
        assert r.status_code == 422
        assert await scalar(svc, "SELECT count(*) FROM outbox") == 0


async def test_two_relay_replicas_share_the_outbox_and_keep_each_keys_order(notes: Any, infra: Any) -> None:
    async with notes(consumers_enabled=False, relay_enabled=False) as svc:
        await _post_many(svc, 600, keys=23)
        relays = [OutboxRelay(svc.runtime.sessions, infra.bootstrap, service="notes", batch_size=50, poll_interval_s=0.02) for _ in range(2)]
        tasks = [asyncio.create_task(r.run()) for r in relays]
        try:
            await eventually(lambda: scalar(svc, "SELECT count(*) = 0 FROM outbox WHERE published_at IS NULL"), timeout_s=60)
        finally:
            for r in relays:
                r.stop()
            await asyncio.gather(*tasks)
        events = await read_events(infra.bootstrap, svc.topic("wafa.customer"), until=lambda evs: len(evs) >= 600)
        assert len({e.id for e in events}) == len(events) == 600
        by_key: dict[str, list[int]] = defaultdict(list)
        for e in events:
            by_key[e.subject or ""].append(e.data["seq"])
        assert all(seqs == sorted(seqs) for seqs in by_key.values())


async def test_one_busy_key_drains_claim_after_claim_without_waiting_for_a_poll(notes: Any, infra: Any) -> None:
    """A claim takes an equal share of each shard: a shard that filled its share goes on at once."""
    async with notes(consumers_enabled=False, relay_enabled=False) as svc:
        await _post_many(svc, 40, keys=1)
        relay = OutboxRelay(svc.runtime.sessions, infra.bootstrap, service="notes", batch_size=16, poll_interval_s=600)  # one row per shard a claim
        task = asyncio.create_task(relay.run())
        try:
            await eventually(lambda: scalar(svc, "SELECT count(*) = 0 FROM outbox WHERE published_at IS NULL"), timeout_s=60)
        finally:
            relay.stop()
            await task
        events = await read_events(infra.bootstrap, svc.topic("wafa.customer"), until=lambda evs: len(evs) >= 40)
        assert [e.data["seq"] for e in events] == list(range(40))


async def test_the_claim_reads_the_unpublished_index_shard_by_shard(notes: Any) -> None:
    """Never the primary key from its start: that walks past every retained published row. The
    purge finds old rows by creation time, not by a scan of the whole outbox. Planned on the
    statistics of an outbox as it runs (published rows retained, a few waiting): on a nearly
    empty table every index costs the same and the planner may take either."""
    async with notes(consumers_enabled=False, relay_enabled=False) as svc:
        async with svc.runtime.sessions() as session, session.begin():
            await session.execute(
                text(
                    "INSERT INTO outbox (event_id, topic, key, shard, type, payload, published_at) "
                    "SELECT gen_random_uuid(), 'wafa.customer', 'c-' || (g % 500), (g % 500) % 16, 'customer.note.added', "
                    "jsonb_build_object('seq', g), CASE WHEN g <= 20000 THEN now() END FROM generate_series(1, 20200) AS g"
                )
            )
        async with svc.runtime.sessions() as session, session.begin():
            await session.execute(text("ANALYZE outbox"))
        async with svc.runtime.sessions() as session, session.begin():
            plan = await generic_plan(session, _CLAIM)
            assert "ix_outbox_unpublished" in plan and "pk_outbox" not in plan and "Seq Scan" not in plan and "Sort" in plan, plan
            purge = await generic_plan(session, _PURGE)
            assert "ix_outbox_created_at" in purge and "Seq Scan" not in purge, purge


async def test_published_rows_are_purged_after_retention_and_unpublished_never(notes: Any) -> None:
    async with notes(consumers_enabled=False, relay_enabled=False) as svc:
        await _post_many(svc, 10, keys=2)
        relay = OutboxRelay(svc.runtime.sessions, svc.bootstrap, service="notes", retention_hours=1)
        await scalar(svc, "SELECT 1")
        async with svc.runtime.sessions() as s, s.begin():
            await s.execute(text("UPDATE outbox SET created_at = now() - interval '3 hours', published_at = now() - interval '2 hours' WHERE id <= 4"))
            await s.execute(text("UPDATE outbox SET created_at = now() - interval '3 hours', published_at = now() - interval '10 minutes' WHERE id IN (5, 6)"))
            await s.execute(text("UPDATE outbox SET created_at = now() - interval '3 hours' WHERE id IN (7, 8)"))
        assert await relay.purge() == 4
        assert await scalar(svc, "SELECT count(*) FROM outbox") == 6
        assert await scalar(svc, "SELECT count(*) FROM outbox WHERE published_at IS NULL") == 4


async def test_a_postgresql_restart_loses_nothing_and_the_service_recovers(notes: Any, infra: Any) -> None:
    if infra.pg is None:
        pytest.skip("needs the embedded PostgreSQL to restart it")
    async with notes() as svc:
        await _post_many(svc, 20, keys=4)
        await asyncio.to_thread(infra.pg.restart)
        headers = svc.auth("notes:write")

        async def post_ok() -> bool:
            r = await svc.client.post("/v1/notes", json={"customer_id": "c-after", "seq": 999, "body": "x"}, headers=headers)
            return r.status_code == 201

        await eventually(post_ok, timeout_s=30)
        await eventually(lambda: scalar(svc, "SELECT count(*) = 0 FROM outbox WHERE published_at IS NULL"), timeout_s=60)
        await eventually(lambda: scalar(svc, "SELECT count(*) = count(DISTINCT note_id) AND count(*) = 21 FROM note_effects"), timeout_s=60)
        assert await scalar(svc, "SELECT count(*) FROM notes") == 21
