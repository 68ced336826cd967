"""A real HTTP endpoint that records webhook deliveries, for tests of outbound webhooks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wafa_shared.embedded.broker import free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookSink:
    url: str
    received: list[Received] = field(default_factory=list)
    status: int = 200  # what the sink answers; set to 500 to simulate a failing partner
    delay_s: float = 0.0


@asynccontextmanager
async def webhook_sink() -> AsyncIterator[WebhookSink]:
    port = free_port()
    sink = WebhookSink(url=f"http://127.0.0.1:{port}/hook")

    async def hook(request: Request) -> Response:
        sink.received.append(Received(dict(request.headers), await request.body()))
        if sink.delay_s:
            await asyncio.sleep(sink.delay_s)
        return Response(status_code=sink.status)

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", timeout_graceful_shutdown=1))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield sink
    finally:
        server.should_exit = True
        await task
