"""Each service's migrations (with the shared platform branch) build exactly the schema its
models declare: a model changed without a migration, or the reverse, fails here rather than in
a deployment."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from wafa_shared.db import PlatformBase
from wafa_shared.services import installed_services
from wafa_shared.testing.plugin import migrated_db


@pytest.mark.parametrize("info", installed_services(), ids=lambda s: s.name)
async def test_migrations_build_the_schema_the_models_declare(infra: Any, info: Any) -> None:
    models = importlib.import_module(f"{info.package}.models")
    url = await migrated_db(infra, f"test_{info.database}", info.migrations_dir())
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), _merged(models.Base.metadata)))
    finally:
        await engine.dispose()
    assert diff == [], diff


def _merged(service: MetaData) -> MetaData:
    merged = MetaData(naming_convention=service.naming_convention)
    for metadata in (PlatformBase.metadata, service):
        for table in metadata.tables.values():
            table.to_metadata(merged)
    return merged
