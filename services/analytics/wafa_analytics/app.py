"""Wiring of the analytics service: `create_app` is what uvicorn and the tests run."""

from pathlib import Path

from fastapi import FastAPI

from wafa_analytics.api import ROUTERS
from wafa_analytics.events import CONSUMERS
from wafa_analytics.jobs import JOBS
from wafa_analytics.settings import Settings
from wafa_shared.app import build_app
from wafa_shared.clock import Clock
from wafa_shared.lifecycle import ServiceSpec

SPEC = ServiceSpec(
    name="analytics",
    title="Analytics",
    description="Retention, satisfaction and profitability metrics, CLV models, plan uplift and goals.",
    migrations_dir=Path(__file__).parent / "migrations",
    topic="wafa.analytics",
    routers=ROUTERS,
    consumers=CONSUMERS,
    jobs=JOBS,
)

__all__ = ["SPEC", "Settings", "create_app"]


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    return build_app(SPEC, settings or Settings(), clock)
