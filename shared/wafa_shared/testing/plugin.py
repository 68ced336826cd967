"""Pytest plugin (auto-loaded): infrastructure and service fixtures for every test suite.

- `infra` (session): one PostgreSQL and one broker: embedded, or the servers named by
  `WAFA_TEST_PG_URL` (a server URL whose user may create databases) and `WAFA_TEST_KAFKA`.
- `service_db(name)` (session factory): a migrated database per service, made once.
- `wafa_service(name)` (per test): the service app running in-process with its lifespan
  (relay, consumers, worker), on a clean database and its own topic prefix, with an HTTP client.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from sqlalchemy.engine import make_url

from wafa_shared.auth import mint_token
from wafa_shared.clock import Clock
from wafa_shared.embedded.broker import EmbeddedBroker, free_port
from wafa_shared.embedded.postgres import EmbeddedPostgres
from wafa_shared.events import Event, EventData, new_event
from wafa_shared.migrations import asyncpg_dsn, upgrade
from wafa_shared.services import SERVICES
from wafa_shared.settings import DEV_JWT_SECRET
from wafa_shared.testing.events import wait_for_event


@dataclass
class Infra:
    server_url: str
    bootstrap: str
    pg: EmbeddedPostgres | None = None
    broker: EmbeddedBroker | None = None
    migrated: dict[str, str] = field(default_factory=dict)

    def db_url(self, database: str) -> str:
        return make_url(self.server_url).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Any:
    pg = broker = None
    server_url = os.environ.get("WAFA_TEST_PG_URL")
    if not server_url:
        pg = EmbeddedPostgres(tmp_path_factory.mktemp("pg"), free_port(), fast=True)
        pg.start()
        server_url = pg.url("postgres")
    bootstrap = os.environ.get("WAFA_TEST_KAFKA")
    if not bootstrap:
        broker = EmbeddedBroker(free_port(), log_file=tmp_path_factory.mktemp("broker") / "broker.log")
        broker.start()
        bootstrap = broker.bootstrap
    yield Infra(server_url, bootstrap, pg, broker)
    if broker is not None:
        broker.stop()
    if pg is not None:
        pg.stop("immediate")


async def truncate_all(url: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        tables = await conn.fetch("SELECT quote_ident(tablename) AS t FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
        if tables:
            await conn.execute(f"TRUNCATE {', '.join(r['t'] for r in tables)} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


async def migrated_db(infra: Infra, database: str, migrations_dir: Path, *, clean: bool = True) -> str:
    """A database at the head of its migrations, created once per session, emptied per call
    unless `clean` is False (to restart a service on the data it left)."""
    url = infra.db_url(database)
    if database not in infra.migrated:
        conn = await asyncpg.connect(asyncpg_dsn(infra.db_url("postgres")))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await conn.close()
        await upgrade(url, migrations_dir)
        infra.migrated[database] = url
    elif clean:
        await truncate_all(url)
    return url


@dataclass
class RunningService:
    name: str
    app: Any
    client: httpx.AsyncClient
    settings: Any
    bootstrap: str

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    def token(self, *scopes: str, subject: str = "test") -> str:
        return mint_token(self.settings.jwt_secret, subject, list(scopes) or ["admin"], issuer=self.settings.jwt_issuer)

    def auth(self, *scopes: str, subject: str = "test") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(*scopes, subject=subject)}"}

    def topic(self, logical: str) -> str:
        return self.settings.topic(logical)

    async def emit(self, data: EventData, subject: object, *, source: str = "test") -> Event:
        """Put an event on the bus as if another service had published it."""
        event = new_event(data, source=source, subject=subject)
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(self.topic(data.topic), event.to_json(), key=str(subject).encode())
        finally:
            await producer.stop()
        return event

    async def wait_for_event(self, logical_topic: str, predicate: Callable[[Event], bool], timeout_s: float = 20) -> Event:
        return await wait_for_event(self.bootstrap, self.topic(logical_topic), predicate, timeout_s=timeout_s)


@pytest.fixture
def topic_prefix() -> str:
    """Each test gets its own topics and consumer groups: no state leaks between tests."""
    return f"t{uuid.uuid4().hex[:10]}."


async def wait_for_topics(runtime: Any, timeout_s: float = 30) -> None:
    """Tests start once the service's topics exist and every partition has a leader, so a test
    that produces at once does not race the broker's topic creation."""
    from wafa_shared.kafka import all_topics
    from wafa_shared.testing.events import eventually

    await eventually(lambda: runtime.topics_ready, timeout_s=timeout_s)
    producer = AIOKafkaProducer(bootstrap_servers=runtime.settings.kafka_bootstrap_servers)
    await producer.start()
    try:

        async def leaders_known() -> bool:
            await producer.client.force_metadata_update()
            for topic in all_topics(runtime.settings.topic_prefix):
                partitions = producer.client.cluster.partitions_for_topic(topic) or set()
                if not partitions or any(producer.client.cluster.leader_for_partition(TopicPartition(topic, p)) in (None, -1) for p in partitions):
                    return False
            return True

        await eventually(leaders_known, timeout_s=timeout_s, interval_s=0.1)
    finally:
        await producer.stop()


@asynccontextmanager
async def run_app(
    infra: Infra,
    *,
    name: str,
    database: str,
    migrations_dir: Path,
    create_app: Callable[..., Any],
    settings_cls: Callable[..., Any],
    topic_prefix: str,
    clock: Clock | None = None,
    clean: bool = True,
    **overrides: Any,
) -> AsyncIterator[RunningService]:
    """Run an app in-process with its lifespan on a clean (unless `clean=False`), migrated database."""
    url = await migrated_db(infra, database, migrations_dir, clean=clean)
    options: dict[str, Any] = {
        "env": "test",
        "database_url": url,
        "kafka_bootstrap_servers": infra.bootstrap,
        "topic_prefix": topic_prefix,
        "jwt_secret": DEV_JWT_SECRET,
        "topic_partitions": 3,
        "relay_poll_interval_s": 0.05,
        "webhook_poll_interval_s": 0.05,
        "consumer_session_timeout_ms": 2000,
        "consumer_heartbeat_ms": 500,
    }
    options.update(overrides)
    settings = settings_cls(**options)
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        await wait_for_topics(app.state.runtime)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{name}") as client:
            yield RunningService(name, app, client, settings, infra.bootstrap)


@pytest.fixture
def wafa_service(infra: Infra, topic_prefix: str) -> Callable[..., AbstractAsyncContextManager[RunningService]]:
    """`async with wafa_service("loyalty", clock=..., **settings) as svc:` runs a service in-process."""

    def start(name: str, clock: Clock | None = None, clean: bool = True, **overrides: Any) -> AbstractAsyncContextManager[RunningService]:
        info = next(s for s in SERVICES if s.name == name)
        module = info.app_module()
        assert module is not None, f"service {name} is not installed"
        return run_app(
            infra,
            name=name,
            database=f"test_{info.database}",
            migrations_dir=info.migrations_dir(),
            create_app=module.create_app,
            settings_cls=module.Settings,
            topic_prefix=topic_prefix,
            clock=clock,
            clean=clean,
            **overrides,
        )

    return start
