"""`build_app`: turns a service's spec and settings into its FastAPI application.

Every service gets the same middleware (request/trace ids, metrics, CORS), problem+json
errors, health and metrics endpoints, the AsyncAPI document, the webhook and ops routers,
and a lifespan that runs its relay, consumers, webhook worker and jobs.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from wafa_shared import dependency_keys, health, ops
from wafa_shared.clock import Clock
from wafa_shared.lifecycle import Runtime, ServiceSpec
from wafa_shared.observability import RequestContextMiddleware, configure_logging, service_var
from wafa_shared.problems import declare_problems, install_problem_handlers
from wafa_shared.ratelimit import EXEMPT, RateLimitMiddleware
from wafa_shared.settings import ServiceSettings
from wafa_shared.tracing import configure_tracing
from wafa_shared.webhooks.router import router as webhooks_router


def build_app(spec: ServiceSpec, settings: ServiceSettings, clock: Clock | None = None) -> FastAPI:
    configure_logging(settings.log_level)
    configure_tracing(spec.name)
    dependency_keys.install()
    service_var.set(spec.name)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime(spec, settings, clock)
        app.state.runtime = runtime
        await runtime.start()
        freeze_startup_objects()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title=f"Wafa {spec.title}",
        description=spec.description,
        version=spec.version,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "operations", "description": "Health, metrics, dead letters, outbox, jobs."},
            {"name": "webhooks", "description": "Outbound webhook subscriptions and their delivery log (Standard Webhooks)."},
        ],
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["x-request-id", "traceparent"],
        )
    if settings.rate_limit_per_s > 0:
        app.add_middleware(RateLimitMiddleware, rate_per_s=settings.rate_limit_per_s, burst=settings.rate_limit_burst)
    app.add_middleware(RequestContextMiddleware, service=spec.name)  # added last: outermost
    install_problem_handlers(app)
    app.include_router(health.router)
    for router in spec.routers:
        app.include_router(router)
    app.include_router(webhooks_router)
    app.include_router(ops.router)
    _complete_openapi(app)
    return app


def freeze_startup_objects() -> None:
    """Move everything alive after start-up (modules, routes, schemas, table metadata: ~150k
    objects) out of the garbage collector's sight. A full collection walked them all, 33-40 ms
    in which the service answered nothing (the p99 of a 1 ms read); they live as long as the
    process, so not scanning them frees nothing less. Once per process: a test process builds
    many apps, and a frozen app that is later dropped would never be collected."""
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()


def _complete_openapi(app: FastAPI) -> None:
    """The OpenAPI document says what the service really answers, including every problem+json
    error the shared layers can give (`declare_problems`)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()  # cached by FastAPI in app.openapi_schema, completed once here
            declare_problems(document, unlimited_paths=EXEMPT)
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
