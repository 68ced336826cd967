"""Wiring of the customer service: `create_app` is what uvicorn and the tests run."""

from pathlib import Path

from fastapi import FastAPI

from wafa_customer.api import ROUTERS
from wafa_customer.events import CONSUMERS
from wafa_customer.settings import Settings
from wafa_shared.app import build_app
from wafa_shared.clock import Clock
from wafa_shared.lifecycle import ServiceSpec

SPEC = ServiceSpec(
    name="customer",
    title="Customer",
    description="Who the customers are: profiles, levels, consent, personal dates, referrals and leads, segments, import and GDPR.",
    migrations_dir=Path(__file__).parent / "migrations",
    topic="wafa.customer",
    routers=ROUTERS,
    consumers=CONSUMERS,
)

__all__ = ["SPEC", "Settings", "create_app"]


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    return build_app(SPEC, settings or Settings(), clock)
