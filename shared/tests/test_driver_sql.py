"""`DriverSql` statements run on the session's connection, inside the session's transaction."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from wafa_shared.db import DriverSql, create_engine, create_sessionmaker, transaction
from wafa_shared.migrations import asyncpg_dsn

INSERT = DriverSql("INSERT INTO driver_probe (id, note) VALUES (:id, CAST(:note AS text)) RETURNING id::text AS id")
LOCK = DriverSql("SELECT id FROM driver_probe WHERE id = :id FOR UPDATE")


def test_named_parameters_become_numbered_once_each_and_casts_stay() -> None:
    sql = DriverSql("SELECT :a, :b::int, CAST(:a AS text), ':x' FROM t WHERE c = :b")
    assert sql.sql == "SELECT $1, $2::int, CAST($1 AS text), ':x' FROM t WHERE c = $2"
    assert sql.names == ("a", "b")
    assert sql.args({"b": 2, "a": 1, "unused": 3}) == [1, 2]


async def test_a_first_statement_on_the_driver_is_inside_the_transaction(infra: Any) -> None:
    url = infra.db_url("postgres")
    admin = await asyncpg.connect(asyncpg_dsn(url))
    engine = create_engine(url, pool_size=2)
    sessions = create_sessionmaker(engine)
    try:
        await admin.execute("DROP TABLE IF EXISTS driver_probe; CREATE TABLE driver_probe (id int PRIMARY KEY, note text)")
        # Rolled back: the insert, the first statement of its session, goes with it.
        try:
            async with transaction(sessions) as session:
                row = await INSERT.fetchrow(session, {"id": 1, "note": "rolled back"})
                assert row is not None and row["id"] == "1"
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        assert await admin.fetchval("SELECT count(*) FROM driver_probe") == 0

        # A lock taken by a session's first statement holds until that transaction ends.
        await admin.execute("INSERT INTO driver_probe VALUES (2, 'locked')")
        async with transaction(sessions) as session:
            await LOCK.fetch(session, {"id": 2})
            other = await asyncpg.connect(asyncpg_dsn(url))
            try:
                async with other.transaction():
                    try:
                        await asyncio.wait_for(other.fetch("SELECT id FROM driver_probe WHERE id = 2 FOR UPDATE NOWAIT"), 5)
                        raise AssertionError("the row was not locked")
                    except asyncpg.LockNotAvailableError:
                        pass
            finally:
                await other.close()
    finally:
        await engine.dispose()
        await admin.execute("DROP TABLE IF EXISTS driver_probe")
        await admin.close()
