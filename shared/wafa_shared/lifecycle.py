"""A running service's moving parts: engine, sessions, relay, consumers, webhook worker, jobs.

`Runtime` is built from the service's spec and settings by `app.build_app` and lives in
`app.state.runtime`; background loops start with the app and stop with it. Nothing here
blocks start-up on the broker: a service accepts requests (into its outbox) while Kafka is away.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from wafa_shared.clock import Clock
from wafa_shared.db import create_engine, transaction
from wafa_shared.inbox import ConsumerSpec, InboxConsumer
from wafa_shared.jobs import Job, run_periodically
from wafa_shared.kafka import all_topics, ensure_topics
from wafa_shared.outbox import OUTBOX_FLAG, bind_publisher
from wafa_shared.relay import OutboxRelay
from wafa_shared.settings import ServiceSettings
from wafa_shared.webhooks.worker import WebhookWorker

log = logging.getLogger("wafa.lifecycle")


@dataclass
class ServiceSpec:
    """What makes a service itself; everything else is the same in all five."""

    name: str
    title: str
    description: str
    migrations_dir: Path
    topic: str | None = None
    routers: list[APIRouter] = field(default_factory=list)
    consumers: list[ConsumerSpec] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    on_startup: list[Callable[[Runtime], Awaitable[None]]] = field(default_factory=list)  # e.g. seed built-in data
    on_shutdown: list[Callable[[Runtime], Awaitable[None]]] = field(default_factory=list)  # e.g. close clients
    version: str = "0.1.0"


RUNTIME_INFO = "wafa.runtime"


def runtime_of(session: AsyncSession) -> Runtime:
    """The runtime that made `session`: how event handlers reach settings, clock and state."""
    return session.info[RUNTIME_INFO]  # type: ignore[no-any-return]


class Runtime:
    def __init__(self, spec: ServiceSpec, settings: ServiceSettings, clock: Clock | None = None) -> None:
        self.spec = spec
        self.settings = settings
        self.clock = clock or Clock()
        self.engine: AsyncEngine = create_engine(settings.database_url, pool_size=settings.db_pool_size, plan_cache_mode=settings.db_plan_cache_mode)
        info = bind_publisher({RUNTIME_INFO: self}, source=spec.name, topic_prefix=settings.topic_prefix)
        self.sessions: async_sessionmaker[AsyncSession] = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False, info=info)
        self.webhooks = WebhookWorker(
            self.sessions,
            service=spec.name,
            timeout_s=settings.webhook_timeout_s,
            concurrency=settings.webhook_concurrency,
            poll_interval_s=settings.webhook_poll_interval_s,
        )
        self.relay = OutboxRelay(
            self.sessions,
            settings.kafka_bootstrap_servers,
            service=spec.name,
            batch_size=settings.relay_batch_size,
            poll_interval_s=settings.relay_poll_interval_s,
            retention_hours=settings.outbox_retention_hours,
            linger_s=settings.relay_linger_s,
            on_published=self.webhooks.wake,
        )
        self.consumers = [
            InboxConsumer(
                c,
                self.sessions,
                settings.kafka_bootstrap_servers,
                service=spec.name,
                topic_prefix=settings.topic_prefix,
                batch_size=settings.consumer_batch_size,
                linger_s=settings.consumer_linger_s,
                max_attempts=settings.consumer_max_attempts,
                retry_backoff_s=settings.consumer_retry_backoff_s,
                on_commit=self.outbox_committed,
                client_options={
                    "session_timeout_ms": settings.consumer_session_timeout_ms,
                    "heartbeat_interval_ms": settings.consumer_heartbeat_ms,
                },
                group_suffix=settings.consumer_group_suffix,
            )
            for c in spec.consumers
        ]
        self.jobs = {j.name: j for j in spec.jobs}
        self.state: dict[str, Any] = {}
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.topics_ready = False
        self._topics_event = asyncio.Event()

    def outbox_committed(self) -> None:
        self.relay.wake()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """`db.transaction`, and a commit that wrote events wakes the relay."""
        async with transaction(self.sessions) as session:
            yield session
        if session.info.pop(OUTBOX_FLAG, False):
            self.outbox_committed()

    async def start(self) -> None:
        s = self.settings
        for hook in self.spec.on_startup:
            await hook(self)
        self._spawn(self._ensure_topics())
        if s.relay_enabled:
            self._spawn(self._after_topics(self.relay.run()))
        if s.consumers_enabled:
            for consumer in self.consumers:
                self._spawn(self._after_topics(consumer.run()))
        if s.webhooks_enabled:
            self._spawn(self.webhooks.run())
        for job in self.jobs.values():
            self._spawn(run_periodically(job, self, self._stop))

    def _spawn(self, coro: Any) -> None:
        self._tasks.append(asyncio.create_task(coro))

    async def _after_topics(self, coro: Any) -> None:
        """Start a loop once the topics exist, so nothing subscribes to a missing topic."""
        stop = asyncio.ensure_future(self._stop.wait())
        ready = asyncio.ensure_future(self._topics_event.wait())
        await asyncio.wait([stop, ready], return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        ready.cancel()
        if self._stop.is_set():
            coro.close()
            return
        await coro

    async def _ensure_topics(self) -> None:
        delay = 0.2
        while not self._stop.is_set():
            try:
                await ensure_topics(
                    self.settings.kafka_bootstrap_servers,
                    all_topics(self.settings.topic_prefix),
                    self.settings.topic_partitions,
                    self.settings.topic_replication,
                )
                self.topics_ready = True
                self._topics_event.set()
                return
            except Exception as exc:  # noqa: BLE001 - retried until the broker answers
                log.warning("topic creation failed; retrying", extra={"error": repr(exc)})
                try:
                    await asyncio.wait_for(self._stop.wait(), timeout=delay)
                except TimeoutError:
                    pass
                delay = min(delay * 2, 5.0)

    async def stop(self) -> None:
        self._stop.set()
        self.relay.stop()
        self.webhooks.stop()
        for consumer in self.consumers:
            consumer.stop()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=10)
            for task in pending:
                task.cancel()
        for hook in self.spec.on_shutdown:  # after the loops stopped, before the pool closes
            await hook(self)
        await self.engine.dispose()

    async def db_ready(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001
            return False

    def broker_ready(self) -> bool:
        parts = [self.topics_ready]
        if self.settings.relay_enabled:
            parts.append(self.relay.connected)
        if self.settings.consumers_enabled:
            parts.extend(c.connected for c in self.consumers)
        return all(parts)
