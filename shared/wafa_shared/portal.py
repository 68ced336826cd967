"""The dev docs portal (`make run` serves it on port 8000): one page listing every service's API
docs and the event catalog, all generated from the code (OpenAPI from the routers, AsyncAPI and
the consumer map from the event schemas and handler registrations)."""

from __future__ import annotations

import html
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from wafa_shared.events import CATALOG
from wafa_shared.services import ServiceInfo, installed_services


def consumers_by_type(services: list[ServiceInfo]) -> dict[str, list[str]]:
    """Which services consume each event type, from their registered handlers."""
    out: dict[str, list[str]] = {}
    for s in services:
        module = s.app_module()
        spec = getattr(module, "SPEC", None)
        for consumer in getattr(spec, "consumers", []):
            for event_type in {*consumer.handlers.by_type, *consumer.handlers.batch_by_type}:
                out.setdefault(event_type, []).append(s.name)
    return {k: sorted(set(v)) for k, v in out.items()}


def catalog_rows(services: list[ServiceInfo]) -> list[dict[str, Any]]:
    consumed = consumers_by_type(services)
    rows = []
    for model in CATALOG.all():
        schema = model.model_json_schema()
        rows.append(
            {
                "type": model.event_type,
                "version": model.version,
                "topic": model.topic,
                "summary": (model.__doc__ or "").strip().split("\n")[0],
                "fields": list(schema.get("properties", {})),
                "consumers": consumed.get(model.event_type, []),
            }
        )
    return rows


def render(ports: dict[str, int], host: str = "127.0.0.1") -> str:
    services = installed_services()
    links = "".join(
        f"<tr><td>{s.name}</td><td><a href='http://{host}:{ports.get(s.name, s.port)}/docs'>docs</a></td>"
        f"<td><a href='http://{host}:{ports.get(s.name, s.port)}/openapi.json'>openapi.json</a></td>"
        f"<td><a href='http://{host}:{ports.get(s.name, s.port)}/asyncapi.json'>asyncapi.json</a></td></tr>"
        for s in services
    )
    events = "".join(
        f"<tr><td><code>{html.escape(r['type'])}</code> v{r['version']}</td><td>{r['topic']}</td>"
        f"<td>{html.escape(r['summary'])}</td><td>{', '.join(r['consumers']) or '—'}</td>"
        f"<td><small>{', '.join(r['fields'])}</small></td></tr>"
        for r in catalog_rows(services)
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Wafa — docs</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:80rem}}table{{border-collapse:collapse;width:100%}}
td,th{{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}}</style></head><body>
<h1>Wafa — وفاء</h1><p>Every service's API (OpenAPI) and the event catalog (AsyncAPI: <a href="/asyncapi.json">whole system</a>).</p>
<h2>Services</h2><table><tr><th>service</th><th colspan=3>documents</th></tr>{links}</table>
<h2>Events</h2><p>CloudEvents 1.0 envelopes on Kafka, keyed by customer id; each topic has a <code>.dlq</code>.</p>
<table><tr><th>type</th><th>topic</th><th>meaning</th><th>consumed by</th><th>data fields</th></tr>{events}</table>
</body></html>"""


def create_portal(ports: dict[str, int]) -> Starlette:
    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(render(ports, request.url.hostname or "127.0.0.1"))

    async def asyncapi(request: Request) -> JSONResponse:
        return JSONResponse(CATALOG.asyncapi("Wafa events (all services)"))

    async def catalog(request: Request) -> JSONResponse:
        return JSONResponse(catalog_rows(installed_services()))

    return Starlette(routes=[Route("/", index), Route("/asyncapi.json", asyncapi), Route("/events.json", catalog)])
