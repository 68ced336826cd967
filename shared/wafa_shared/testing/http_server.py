"""Serve an already started app over real HTTP, for tests of clients that need a URL (the ops CLI)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from wafa_shared.embedded.broker import free_port


@asynccontextmanager
async def http_server(app: Any) -> AsyncIterator[str]:
    """The app on a free localhost port (its lifespan is the caller's: already running); yields the base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)  # uvicorn's own start-up flag, polled; not a fixed wait
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving
