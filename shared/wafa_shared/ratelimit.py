"""Per-client rate limiting: a token bucket per caller, answered with 429 + Retry-After.

The caller is identified by its bearer token (hashed) or, without one, by its address. Buckets
live in the process: with N replicas a client gets up to N times the rate, which is the usual
trade-off for not adding a shared store on every request.
"""

from __future__ import annotations

import hashlib
import math
import time

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from wafa_shared.problems import MEDIA_TYPE, PROBLEM_BASE

EXEMPT = ("/healthz", "/readyz", "/metrics")


class TokenBucket:
    __slots__ = ("stamp", "tokens")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.tokens = tokens
        self.stamp = stamp


class RateLimiter:
    def __init__(self, rate_per_s: float, burst: float, max_clients: int = 100_000) -> None:
        self.rate = rate_per_s
        self.burst = burst
        self.max_clients = max_clients
        self.buckets: dict[str, TokenBucket] = {}

    def take(self, client: str, now: float) -> float:
        """0 when allowed, else seconds until a token is available."""
        bucket = self.buckets.get(client)
        if bucket is None:
            if len(self.buckets) >= self.max_clients:
                self.buckets.clear()
            bucket = self.buckets[client] = TokenBucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, rate_per_s: float, burst: float) -> None:
        self.app = app
        self.limiter = RateLimiter(rate_per_s, burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT:
            await self.app(scope, receive, send)
            return
        wait = self.limiter.take(_client_key(scope), time.monotonic())
        if wait == 0:
            await self.app(scope, receive, send)
            return
        retry = max(1, math.ceil(wait))
        body = orjson.dumps(
            {
                "type": PROBLEM_BASE + "rate-limited",
                "title": "Too many requests",
                "status": 429,
                "detail": f"Rate limit of {self.limiter.rate:g} requests/s exceeded; retry in {retry} s.",
                "instance": scope["path"],
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", MEDIA_TYPE.encode()),
                    (b"retry-after", str(retry).encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _client_key(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return "t:" + hashlib.blake2b(value, digest_size=12).hexdigest()
    client = scope.get("client")
    return "a:" + (client[0] if client else "unknown")
