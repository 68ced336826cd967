"""Async SQLAlchemy 2 engine and sessions (asyncpg), and the naming convention every schema uses.

One session per request or per consumed batch, committed once by its owner (the request
dependency or the consumer), so a state change and its outbox row are one fact.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

import asyncpg
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.util import greenlet_spawn

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


class PlatformBase(DeclarativeBase):
    """Base of the platform tables every service database holds (outbox, inbox, webhooks...)."""

    metadata = new_metadata()


def create_engine(url: str, *, pool_size: int = 10, plan_cache_mode: str = "auto") -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool_size,
        # A few overflow connections for a request that opens a second session while holding
        # one; beyond that callers queue for a pooled connection. A large overflow made the pool
        # churn under load (connections opened and closed per request: a PostgreSQL backend
        # forked each time), which cut purchase throughput at 32 concurrent requests by about a third.
        max_overflow=4,
        # No pre-ping: it costs a round trip on every checkout. A connection broken by a
        # PostgreSQL restart fails its first use, SQLAlchemy then drops the whole pool, and the
        # request (5xx, nothing committed) or background loop (retried) goes on with new ones.
        pool_pre_ping=False,
        pool_recycle=1800,
        # Statement parameters hold personal data (names, emails, phones): keep them out of
        # error messages, which end up in logs and dead letters (tests/test_security.py).
        hide_parameters=True,
        connect_args={"server_settings": {"application_name": "wafa", "plan_cache_mode": plan_cache_mode}},
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session committed once when the block succeeds, rolled back otherwise. (Not
    `session.begin()`: code inside may commit on its own, then go on in a new transaction.)"""
    async with sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


DEADLOCK_DETECTED = "40P01"


def deadlocked(exc: BaseException) -> bool:
    """Whether PostgreSQL chose this transaction as a deadlock's victim. It rolled the whole
    transaction back, so running it again is safe."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) == DEADLOCK_DETECTED


async def driver(session: AsyncSession) -> asyncpg.Connection:
    """The session's own asyncpg connection, inside the session's transaction.

    SQLAlchemy's asyncpg adapter sends BEGIN lazily, with its own first statement: a statement
    sent to the driver before that ran in autocommit, so a `FOR UPDATE` lock taken first was
    released at once (two concurrent first purchases of one member both counted as first).
    The transaction is begun here as the adapter would have begun it."""
    raw = await (await session.connection()).get_raw_connection()
    adapted: Any = raw.dbapi_connection
    if adapted._transaction is None:
        await adapted._start_transaction()
    assert raw.driver_connection is not None
    return raw.driver_connection


@asynccontextmanager
async def driver_connection(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """A pooled asyncpg connection itself, outside any transaction, for hot single-statement
    reads (`GET /v1/customers/{id}`, `GET /v1/members/{id}`): one round trip, no BEGIN/COMMIT,
    no SQLAlchemy execution machinery. It comes from (and goes back to) the service's one pool,
    so the pool size stays the one knob. Use it only where one statement gives a consistent
    answer; everything that writes uses a session.

    A PostgreSQL error (the statement failed, the connection is fine) returns it to the pool;
    anything else (cancelled mid-statement, connection lost) discards it, since its protocol
    state is then unknown: the pool opens a fresh one when next needed."""
    pooled = await engine.raw_connection()
    try:
        yield pooled.driver_connection  # type: ignore[misc]
    except asyncpg.PostgresError:
        raise
    except BaseException:
        await greenlet_spawn(pooled.invalidate)
        raise
    finally:
        await greenlet_spawn(pooled.close)  # SQLAlchemy's check-in runs its reset in a greenlet


# `:name`, not the `::type` of a cast, nor anything inside a quoted literal (kept as it is)
_NAMED = re.compile(r"'(?:[^']|'')*'|(?<![:\w]):([A-Za-z_]\w*)")


Target: TypeAlias = AsyncSession | asyncpg.Connection
"""Where a `DriverSql` runs: in a session's transaction, or on a connection of `driver_connection`."""


class DriverSql:
    """A hot statement, written with `:name` parameters like `text()`, run on the session's
    asyncpg connection in the session's transaction (or on a `driver_connection`).

    Why: on the purchase path SQLAlchemy's work per execution (compiled-cache lookup, a bind
    processor per parameter, result processing, a greenlet switch each way) cost more CPU than
    the statements' own round trips. asyncpg's prepared-statement cache still applies; values
    go in as asyncpg takes them (lists for arrays, aware datetimes, Decimal, UUID or str)."""

    def __init__(self, sql: str) -> None:
        names: list[str] = []

        def number(m: re.Match[str]) -> str:
            if m.group(1) is None:
                return m.group(0)
            if m.group(1) not in names:
                names.append(m.group(1))
            return f"${names.index(m.group(1)) + 1}"

        self.sql = _NAMED.sub(number, sql)
        self.names = tuple(names)

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[n] for n in self.names]

    async def fetch(self, on: Target, params: Mapping[str, Any]) -> Sequence[asyncpg.Record]:
        return await (await _connection(on)).fetch(self.sql, *self.args(params))

    async def fetchrow(self, on: Target, params: Mapping[str, Any]) -> asyncpg.Record | None:
        return await (await _connection(on)).fetchrow(self.sql, *self.args(params))

    async def execute(self, on: Target, params: Mapping[str, Any]) -> None:
        await (await _connection(on)).execute(self.sql, *self.args(params))


async def _connection(on: Target) -> asyncpg.Connection:
    return await driver(on) if isinstance(on, AsyncSession) else on
