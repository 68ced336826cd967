"""Wiring of the touch scheduler service: `create_app` is what uvicorn and the tests run."""

from pathlib import Path

from fastapi import FastAPI

from wafa_shared.app import build_app
from wafa_shared.clock import Clock
from wafa_shared.lifecycle import ServiceSpec
from wafa_touch.api import ROUTERS
from wafa_touch.events import CONSUMERS
from wafa_touch.settings import Settings

SPEC = ServiceSpec(
    name="touch-scheduler",
    title="Touch scheduler",
    description="The 33-touch plans, event-triggered contacts, contact-fatigue control, dispatch to channel partners and call tasks.",
    migrations_dir=Path(__file__).parent / "migrations",
    topic="wafa.touch",
    routers=ROUTERS,
    consumers=CONSUMERS,
)

__all__ = ["SPEC", "Settings", "create_app"]


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    return build_app(SPEC, settings or Settings(), clock)
