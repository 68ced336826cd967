"""A connection for hot single-statement reads (`GET /v1/customers/{id}`): it is in autocommit
mode, so a read is one round trip instead of BEGIN + query + COMMIT, and rows are read with Core
(no ORM identity map). Use it only where one statement gives a consistent answer; everything
that writes uses `SessionDep`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncConnection

from wafa_shared.deps import get_runtime


async def read_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    runtime = get_runtime(request)
    async with runtime.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


ReadConnectionDep = Annotated[AsyncConnection, Depends(read_connection)]
