"""FastAPI dependencies every service uses: the runtime, the request session, the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_shared.auth import Principal, authenticate
from wafa_shared.lifecycle import Runtime
from wafa_shared.pagination import PageParams, page_params


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


async def _runtime_dependency(request: Request) -> Runtime:
    """Async on purpose: a sync dependency would cost a threadpool hop on every request."""
    return get_runtime(request)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, committed once when the route succeeded, rolled back otherwise."""
    async with get_runtime(request).transaction() as session:
        yield session


RuntimeDep = Annotated[Runtime, Depends(_runtime_dependency)]
# scope="function": commit before the response is sent, so a failed commit is never answered 2xx.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
CallerDep = Annotated[Principal, Depends(authenticate)]
PageDep = Annotated[PageParams, Depends(page_params)]
