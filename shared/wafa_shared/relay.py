"""The outbox relay: publishes committed outbox rows to Kafka, in order per key, and fans
them out to webhook subscriptions.

Guarantees:
- At-least-once: a row is marked published only after the broker acknowledged it
  (`acks=all`); a crash in between re-sends it, and consumers' inboxes drop the repeat.
- Ordered per key: rows are sharded by key; a relay takes a transaction-scoped advisory lock
  per shard, so one shard is drained by one relay at a time, oldest row first. Several relay
  replicas share the shards; `FOR UPDATE SKIP LOCKED` keeps them off each other's rows.
- Broker outages only delay: rows stay in the outbox until they can be sent.
- Published rows are kept for `outbox_retention_hours`, so `republish_since` can send them again
  after a broker lost its data.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wafa_shared.kafka import Message, new_producer, send_all, start_client
from wafa_shared.observability import OUTBOX_BACKLOG, OUTBOX_PUBLISHED
from wafa_shared.outbox import SHARDS

log = logging.getLogger("wafa.relay")
LOCK_CLASS = 0x57AFA  # advisory-lock namespace of the relay shards

_CLAIM = text(
    """
    WITH owned AS (
      SELECT s FROM generate_series(0, :shards - 1) AS s WHERE pg_try_advisory_xact_lock(:cls, s)
    )
    SELECT c.id, c.topic, c.key, c.payload::text AS payload, c.headers::text AS headers, c.shard
    FROM owned CROSS JOIN LATERAL (
      SELECT id, topic, key, payload, headers, shard FROM outbox
      WHERE published_at IS NULL AND shard = owned.s
      ORDER BY id
      LIMIT :per_shard
      FOR UPDATE SKIP LOCKED
    ) AS c
    ORDER BY c.id
    """
)
"""The oldest unpublished rows of each shard this relay could lease, read shard by shard from
`ix_outbox_unpublished` (shard, id): a cost in the rows claimed. One `ORDER BY id` over every
owned shard cannot use that index: it walked the primary key past every retained published
row (23 ms a claim behind 100k of them), or read and sorted the whole backlog."""
_MARK = text("UPDATE outbox SET published_at = now() WHERE id = ANY(:ids)")
_FANOUT = text(
    """
    INSERT INTO webhook_deliveries (subscription_id, event_id, event_type, payload)
    SELECT s.id, o.event_id, o.type, o.payload
    FROM outbox o JOIN webhook_subscriptions s
      ON s.active AND (o.type = ANY(s.event_types) OR '*' = ANY(s.event_types))
    WHERE o.id = ANY(:ids)
    ON CONFLICT DO NOTHING
    """
)
# `created_at` (indexed) narrows the scan, `published_at` decides: a row is published after it is
# created (give or take a round trip between two transactions' clocks: such a row waits a pass).
_PURGE = text(
    "DELETE FROM outbox WHERE created_at < now() - make_interval(secs => :secs) "
    "AND published_at IS NOT NULL AND published_at < now() - make_interval(secs => :secs)"
)
_BACKLOG = text("SELECT count(*) FROM outbox WHERE published_at IS NULL")


class OutboxRelay:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bootstrap: str,
        *,
        service: str,
        batch_size: int = 1000,
        poll_interval_s: float = 0.2,
        retention_hours: float = 72.0,
        linger_s: float = 0.0,
        on_published: Callable[[], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.bootstrap = bootstrap
        self.service = service
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.retention_s = retention_hours * 3600
        self.linger_s = linger_s
        self.on_published = on_published  # e.g. wake the webhook worker: fan-out rows exist now
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        self.connected = False

    def wake(self) -> None:
        """Called after a commit that wrote outbox rows, so they leave without waiting a poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    async def run(self) -> None:
        last_purge = 0.0
        try:
            while not self._stop.is_set():
                if self._producer is None:
                    self._producer = await start_client(lambda: new_producer(self.bootstrap), "relay", self._stop)
                    if self._producer is None:
                        return
                    self.connected = True
                try:
                    more = await self.publish_batch()
                except Exception as exc:  # noqa: BLE001 - the relay must outlive any one failure
                    log.warning("relay batch failed; will retry", extra={"error": repr(exc)})
                    await self._reset_producer()
                    await self._pause(1.0)
                    continue
                if time.monotonic() - last_purge > 60:
                    last_purge = time.monotonic()
                    await self.purge()
                if not more and await self._pause(self.poll_interval_s):
                    await self._linger()
        finally:
            await self._reset_producer()

    async def _pause(self, seconds: float) -> bool:
        """Wait for a wake-up or `seconds`; returns whether something woke us."""
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        except TimeoutError:
            return False
        finally:
            self._wake.clear()
        return True

    async def _linger(self) -> None:
        """Let the commits that follow the one that woke us join its batch. Woken per commit,
        the relay ran a claim, a send, a mark and a commit for every few events: at a few
        hundred purchases a second, more statements than the purchases themselves."""
        if self.linger_s > 0 and not self._stop.is_set():
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=self.linger_s)
            except TimeoutError:
                pass

    async def _reset_producer(self) -> None:
        producer, self._producer = self._producer, None
        self.connected = False
        if producer is not None:
            try:
                await producer.stop()
            except Exception:  # noqa: BLE001
                pass

    async def publish_batch(self) -> bool:
        """Send one batch of the oldest unpublished rows of the shards this relay could lease:
        a share of ceil(`batch_size` / `SHARDS`) rows each (at most about `batch_size` in all).
        Returns whether more may be waiting (a shard filled its share), so the caller goes on
        without pausing."""
        assert self._producer is not None
        per_shard = -(-self.batch_size // SHARDS)
        async with self.sessions() as session, session.begin():
            rows = (await session.execute(_CLAIM, {"shards": SHARDS, "cls": LOCK_CLASS, "per_shard": per_shard})).all()
            if not rows:
                OUTBOX_BACKLOG.labels(self.service).set(0)
                return False
            await send_all(self._producer, map(_message, rows))
            ids = [row.id for row in rows]
            await session.execute(_MARK, {"ids": ids})
            await session.execute(_FANOUT, {"ids": ids})
        OUTBOX_PUBLISHED.labels(self.service).inc(len(rows))
        if self.on_published is not None:
            self.on_published()
        return max(Counter(row.shard for row in rows).values()) >= per_shard

    async def purge(self) -> int:
        async with self.sessions() as session, session.begin():
            deleted = (await session.execute(_PURGE, {"secs": self.retention_s})).rowcount  # type: ignore[attr-defined]
            backlog = (await session.execute(_BACKLOG)).scalar_one()
        OUTBOX_BACKLOG.labels(self.service).set(backlog)
        return int(deleted or 0)


def _message(row: Any) -> Message:
    """An outbox row as a Kafka message: its trace headers and the CloudEvents content type."""
    headers = [(k, v.encode()) for k, v in (orjson.loads(row.headers) if row.headers else {}).items()]
    headers.append(("content-type", b"application/cloudevents+json"))
    return row.topic, row.key.encode() if row.key else None, row.payload.encode(), headers


async def republish_since(sessions: async_sessionmaker[AsyncSession], since: datetime) -> int:
    """Queue every retained event created at or after `since` to be published again."""
    async with sessions() as session, session.begin():
        result = await session.execute(
            text("UPDATE outbox SET published_at = NULL WHERE created_at >= :since AND published_at IS NOT NULL"),
            {"since": since},
        )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def outbox_stats(session: AsyncSession) -> dict[str, object]:
    row = (
        await session.execute(
            text(
                "SELECT count(*) FILTER (WHERE published_at IS NULL) AS backlog, count(*) AS retained, "
                "min(created_at) FILTER (WHERE published_at IS NULL) AS oldest_unpublished FROM outbox"
            )
        )
    ).one()
    return {"backlog": row.backlog, "retained": row.retained, "oldest_unpublished_at": row.oldest_unpublished}
