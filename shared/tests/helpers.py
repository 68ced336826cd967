"""Small helpers for the shared-library tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text


async def scalar(svc: Any, sql: str, **params: Any) -> Any:
    async with svc.runtime.sessions() as session:
        return (await session.execute(text(sql), params)).scalar()


async def rows(svc: Any, sql: str, **params: Any) -> list[Any]:
    async with svc.runtime.sessions() as session:
        return list((await session.execute(text(sql), params)).all())
