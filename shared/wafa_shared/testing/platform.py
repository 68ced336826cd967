"""A whole platform for cross-service tests: the five services as real processes (uvicorn, as
`make run` starts them) on the session's PostgreSQL and broker, driven only through HTTP."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from wafa_shared.auth import mint_token
from wafa_shared.embedded.broker import free_port
from wafa_shared.launcher import Platform
from wafa_shared.services import SERVICES
from wafa_shared.settings import DEV_JWT_SECRET
from wafa_shared.webhooks.signing import new_secret


@dataclass
class RunningPlatform:
    urls: dict[str, str]
    token: str
    partner_secret: str = ""  # a POS partner's Standard Webhooks secret, known to loyalty (`PARTNER_SECRETS`)
    processes: Platform | None = None  # the launcher, for tests that stop or restart services

    def client(self, service: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.urls[service], headers={"Authorization": f"Bearer {self.token}"}, timeout=30)


@contextmanager
def launch_platform(infra: Any, home: Path, name: str = "e2e", env: dict[str, str] | None = None) -> Iterator[RunningPlatform]:
    """Start all five services as processes on their own databases (`<name>_<db>`) and topic prefix,
    with fast polling for tests. Tests that disturb the platform (chaos, demo data) start their own."""
    prefix = f"{name}{uuid.uuid4().hex[:6]}."
    partner_secret = new_secret()
    p = Platform(home, 0, 0)
    p.env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap,
            "WAFA_TOPIC_PREFIX": prefix,
            "WAFA_TOPIC_PARTITIONS": "3",
            "WAFA_JWT_SECRET": DEV_JWT_SECRET,
            "WAFA_LOG_LEVEL": "WARNING",
            "WAFA_ENV": "test",
            # loyalty reads its partner secrets at start-up (a JSON list)
            "WAFA_LOYALTY_PARTNER_SECRETS": f'["{partner_secret}"]',
        }
    )
    for s in SERVICES:
        port = free_port()
        p.env[f"{s.env_prefix}DATABASE_URL"] = infra.db_url(f"{name}_{s.database}")
        p.env[f"{s.env_prefix}PORT"] = str(port)
        for key, value in {
            "RELAY_POLL_INTERVAL_S": "0.05",
            "WEBHOOK_POLL_INTERVAL_S": "0.1",
            "CONSUMER_SESSION_TIMEOUT_MS": "2000",
            "CONSUMER_HEARTBEAT_MS": "500",
        }.items():
            p.env[f"{s.env_prefix}{key}"] = value
    p.env.update(env or {})
    urls = {s.name: f"http://127.0.0.1:{p.env[f'{s.env_prefix}PORT']}" for s in SERVICES}  # `env` may choose the ports
    saved = dict(os.environ)
    try:
        p.home.mkdir(parents=True, exist_ok=True)
        p.migrate()
        p.start_services()
        wait_ready(urls)
        yield RunningPlatform(urls, mint_token(DEV_JWT_SECRET, name, ["admin"], ttl_s=3600), partner_secret, p)
    finally:
        p.stop()
        os.environ.clear()
        os.environ.update(saved)


def wait_ready(urls: dict[str, str], timeout_s: float = 60) -> None:
    """Until every service answers `/readyz` 200 (database, topics, relay and consumers connected):
    `/healthz`, which the launcher waits for, is up before the Kafka clients are, and a test
    starting then sees 503s."""
    deadline = time.monotonic() + timeout_s
    pending = dict(urls)
    while pending:
        for name, url in list(pending.items()):
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    del pending[name]
            except httpx.HTTPError:
                pass
        if pending and time.monotonic() > deadline:
            raise TimeoutError(f"not ready after {timeout_s:.0f} s: {', '.join(pending)}")
        if pending:
            time.sleep(0.1)  # polling the condition itself, not waiting a fixed time for it


# A fatigue policy that lets a test's touches go out now: no quiet hours (the run may be at
# night in Riyadh), no frequency caps or gaps.
OPEN_FATIGUE_POLICY = {
    "max_per_7d": 100,
    "max_per_30d": 400,
    "min_gap_hours": 0,
    "quiet_start": None,
    "quiet_end": None,
    "respect_preferred": True,
    "exempt_priority": 100,
    "default_time_zone": "Asia/Riyadh",
}

PUBLIC_PATHS = {"/healthz", "/readyz", "/metrics", "/asyncapi.json", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def protected_operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """(method, concrete path) of every operation of an OpenAPI document that needs a token,
    path parameters filled with made-up ids."""
    out = []
    for path, ops in spec["paths"].items():
        if path in PUBLIC_PATHS:
            continue
        for method in ops:
            if method in {"get", "post", "put", "patch", "delete"}:
                out.append((method.upper(), re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)))
    return out
