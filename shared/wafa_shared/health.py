"""`/healthz`, `/readyz`, `/metrics` and `/asyncapi.json`, the same on every service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from wafa_shared.deps import RuntimeDep
from wafa_shared.events import CATALOG
from wafa_shared.problems import MEDIA_TYPE

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: database and broker reachable",
    responses={503: {"description": "Not ready", "content": {MEDIA_TYPE: {}}}},
)
async def readyz(runtime: RuntimeDep) -> Any:
    db = await runtime.db_ready()
    broker = runtime.broker_ready()
    checks = {"database": "ok" if db else "down", "broker": "ok" if broker else "down"}
    if db and broker:
        return {"status": "ready", "checks": checks}
    body = {
        "type": "https://wafa.dev/problems/not-ready",
        "title": "Service unavailable",
        "status": 503,
        "detail": "A dependency is not reachable.",
        "checks": checks,
    }
    return JSONResponse(body, status_code=503, media_type=MEDIA_TYPE)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/asyncapi.json", summary="AsyncAPI document of the events this service publishes")
async def asyncapi(runtime: RuntimeDep) -> dict[str, Any]:
    topic = runtime.spec.topic
    return CATALOG.asyncapi(f"Wafa {runtime.spec.name} events", [topic] if topic else None)
