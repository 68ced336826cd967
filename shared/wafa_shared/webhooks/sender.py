"""Outbound HTTP of signed webhooks: one aiohttp session per sender, shared by every delivery.

aiohttp rather than httpx on this path: posting small signed bodies to a keep-alive endpoint,
httpx's pool bookkeeping (linear in its connections and waiting requests) capped a sender at
about 1,100 posts/s on this machine where aiohttp does 8,000-9,000 (`bench/touch.py`). httpx
stays the client of everything else (tests, the launcher, the demo loader).

Each post has its own total timeout, so a slow or dead receiver only holds its own requests;
redirects are never followed (a receiver answers at its registered URL or fails).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import aiohttp

# (status code or None, error or None, duration in ms); an error is set for any non-2xx.
Outcome = tuple[int | None, str | None, int]
Request = tuple[str, bytes, dict[str, str]]  # url, body, headers
ERROR_BODY_BYTES = 300  # how much of a failing receiver's answer the attempt log keeps


class WebhookSender:
    """Posts signed bodies over a pool of at most `connections` keep-alive connections."""

    def __init__(self, *, timeout_s: float, connections: int) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.connections = max(1, connections)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Created on first use: an aiohttp session belongs to the running event loop.
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.connections, limit_per_host=0)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self.timeout, skip_auto_headers=("User-Agent",))
        return self._session

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
        """POST one body; never raises for what the receiver or the network does."""
        started = time.perf_counter()
        headers = {"user-agent": "wafa-webhooks", **headers}
        try:
            async with self._client().post(url, data=body, headers=headers, allow_redirects=False) as resp:
                code = resp.status
                if 200 <= code < 300:
                    await resp.read()  # drained, so the connection is reused
                    error = None
                else:
                    text = (await resp.content.read(ERROR_BODY_BYTES)).decode("utf-8", "replace")
                    error = f"HTTP {code}: {text}" if text else f"HTTP {code}"
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500], _ms(started)
        return code, error, _ms(started)

    async def post_all(self, requests: Sequence[Request | None], concurrency: int) -> list[Outcome | None]:
        """POST each request, `concurrency` at a time; None in, None out."""
        out: list[Outcome | None] = [None] * len(requests)
        todo = iter([i for i, r in enumerate(requests) if r is not None])

        async def worker() -> None:
            for i in todo:  # shared iterator: each index is taken by one worker
                req = requests[i]
                assert req is not None
                out[i] = await self.post(*req)

        n = min(max(1, concurrency), sum(r is not None for r in requests))
        await asyncio.gather(*(worker() for _ in range(n)))
        return out

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
