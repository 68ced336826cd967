"""The pooled asyncpg connection itself, for hot single-statement reads (`GET /v1/customers/{id}`).

The connection comes from (and goes back to) the service's one SQLAlchemy pool, so the pool
size stays the one knob. Statements run on it outside any transaction: one round trip, no
BEGIN/COMMIT, no SQLAlchemy execution machinery, and asyncpg's own prepared-statement cache.
Use it only where one statement gives a consistent answer; everything that writes uses
`SessionDep`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn


@asynccontextmanager
async def driver_connection(engine: AsyncEngine) -> AsyncIterator[Any]:
    """An `asyncpg.Connection` checked out of `engine`'s pool for the block.

    A PostgreSQL error (the statement failed, the connection is fine) returns it to the pool;
    anything else (cancelled mid-statement, connection lost) discards it, since its protocol
    state is then unknown: the pool opens a fresh one when next needed."""
    pooled = await engine.raw_connection()
    try:
        yield pooled.driver_connection
    except asyncpg.PostgresError:
        raise
    except BaseException:
        await greenlet_spawn(pooled.invalidate)
        raise
    finally:
        await greenlet_spawn(pooled.close)  # SQLAlchemy's check-in runs its reset in a greenlet
