"""Platform health for the dashboard: each service's ops summary (outbox backlog, dead letters,
failing webhooks, consumer lag read from the broker), gathered server-side.

Analytics' own summary is read in process; its peers' over HTTP at `WAFA_SERVICE_URLS[name]`
(default: dev ports) with a short-lived token analytics mints for itself with scope `ops:read`
(the services share the JWT secret). A peer that does not answer is reported unreachable with
the error; it never fails the whole answer.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_shared.auth import mint_token
from wafa_shared.lifecycle import Runtime
from wafa_shared.ops import OPS_READ, summary_of
from wafa_shared.services import SERVICES


async def _peer(client: httpx.AsyncClient, name: str, url: str) -> dict[str, Any]:
    try:
        r = await client.get(f"{url}/v1/ops/summary")
        if r.status_code != 200:
            return {"service": name, "url": url, "reachable": False, "error": f"HTTP {r.status_code}: {r.text[:200]}"}
        return {"url": url, "reachable": True, "error": None, **r.json()}
    except httpx.HTTPError as exc:
        return {"service": name, "url": url, "reachable": False, "error": repr(exc)[:300]}


async def health(session: AsyncSession, runtime: Runtime, timeout_s: float) -> dict[str, Any]:
    settings = runtime.settings
    token = mint_token(settings.jwt_secret, f"{runtime.spec.name}-platform-health", [OPS_READ], ttl_s=120, issuer=settings.jwt_issuer)
    own = runtime.spec.name
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=timeout_s) as client:
        peers = [_peer(client, s.name, settings.service_url(s.name)) for s in SERVICES if s.name != own]
        mine = (await summary_of(session, runtime)).model_dump()
        answers = {a["service"]: a for a in await asyncio.gather(*peers)}
    answers[own] = {"url": settings.service_url(own), "reachable": True, "error": None, **mine}
    services = []
    for s in SERVICES:
        a = answers[s.name]
        consumers = a.get("consumers") or []
        lags = [c["lag"] for c in consumers if c.get("lag") is not None]
        services.append(
            {
                "service": s.name,
                "url": a["url"],
                "reachable": a["reachable"],
                "error": a["error"],
                "outbox_backlog": a.get("outbox_backlog"),
                "oldest_unpublished_at": a.get("oldest_unpublished_at"),
                "dead_letters": a.get("dead_letters"),
                "webhooks_retrying": a.get("webhooks_retrying"),
                "webhooks_dead": a.get("webhooks_dead"),
                "consumer_lag": sum(lags) if consumers and len(lags) == len(consumers) else (None if consumers else 0),
                "consumers": consumers,
            }
        )
    up = [s for s in services if s["reachable"]]

    def total(key: str) -> int:
        return sum(int(s[key] or 0) for s in up)

    return {
        "checked_at": runtime.clock.now(),
        "services": services,
        "totals": {
            "unreachable": len(services) - len(up),
            "outbox_backlog": total("outbox_backlog"),
            "dead_letters": total("dead_letters"),
            "webhook_failures": total("webhooks_retrying") + total("webhooks_dead"),
            "consumer_lag": total("consumer_lag"),
        },
    }
