"""Alembic helpers: every service migrates its own tables plus the shared `platform` branch.

Each service keeps `migrations/` (env.py calls `run_env`) and its versions; the platform
tables' versions ship in this library and are added to every service's version locations,
so `upgrade heads` brings a service database fully up to date.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from wafa_shared import platform_models
from wafa_shared.db import PlatformBase

PLATFORM_VERSIONS = Path(__file__).parent / "platform_migrations" / "versions"


def alembic_config(migrations_dir: Path, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("path_separator", "space")
    cfg.set_main_option("version_locations", f"{migrations_dir / 'versions'} {PLATFORM_VERSIONS}")
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def upgrade(url: str, migrations_dir: Path, revision: str = "heads") -> None:
    """Bring the database at `url` to `revision` (creating the database if it is missing)."""
    await ensure_database(url)
    cfg = alembic_config(migrations_dir, url)
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade_with, cfg, revision)
    finally:
        await engine.dispose()


def _upgrade_with(conn: Connection, cfg: Config, revision: str) -> None:
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)


def run_env(service_metadata: MetaData) -> None:
    """Body of every service's `migrations/env.py`."""
    assert platform_models.OutboxRow.__table__.metadata is PlatformBase.metadata
    target = [PlatformBase.metadata, service_metadata]
    conn = context.config.attributes.get("connection")
    if conn is not None:
        _run_on(conn, target)
        return
    url = context.config.get_main_option("sqlalchemy.url") or ""

    async def _online() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.begin() as c:
            await c.run_sync(_run_on, target)
        await engine.dispose()

    asyncio.run(_online())


def _run_on(conn: Connection, target: list[MetaData]) -> None:
    context.configure(connection=conn, target_metadata=target, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def asyncpg_dsn(url: str) -> str:
    """The plain libpq-style DSN asyncpg understands, from an SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def ensure_database(url: str) -> None:
    """Create the database named in `url` when it does not exist yet."""
    u = make_url(url)
    name = u.database
    admin = asyncpg_dsn(u.set(database="postgres").render_as_string(hide_password=False))
    conn = await asyncpg.connect(admin)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
