"""Wiring of the loyalty service: `create_app` is what uvicorn and the tests run."""

from pathlib import Path

from fastapi import FastAPI

from wafa_loyalty.api import ROUTERS
from wafa_loyalty.events import CONSUMERS
from wafa_loyalty.jobs import jobs
from wafa_loyalty.settings import Settings
from wafa_shared.app import build_app
from wafa_shared.clock import Clock
from wafa_shared.lifecycle import ServiceSpec

SPEC = ServiceSpec(
    name="loyalty",
    title="Loyalty",
    description="Programs, tiers, earning rules, purchases, the points ledger, rewards and the partner purchase webhook.",
    migrations_dir=Path(__file__).parent / "migrations",
    topic="wafa.loyalty",
    routers=ROUTERS,
    consumers=CONSUMERS,
    jobs=jobs(60.0),
)

__all__ = ["SPEC", "Settings", "create_app"]


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    return build_app(SPEC, settings or Settings(), clock)
