"""Wiring of the touch scheduler service: `create_app` is what uvicorn and the tests run."""

from dataclasses import replace
from pathlib import Path

from fastapi import FastAPI

from wafa_shared.app import build_app
from wafa_shared.clock import Clock
from wafa_shared.lifecycle import Runtime, ServiceSpec
from wafa_touch.api import ROUTERS
from wafa_touch.enrolment import seed_builtin_plans
from wafa_touch.events import CONSUMERS
from wafa_touch.jobs import ANNOUNCE, DISPATCH, jobs
from wafa_touch.settings import Settings


async def seed_plans(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        await seed_builtin_plans(session)  # idempotent; never overwrites edits
        await session.commit()


async def close_partner_client(runtime: Runtime) -> None:
    client = runtime.state.pop("partner_client", None)
    if client is not None:
        await client.aclose()


SPEC = ServiceSpec(
    name="touch-scheduler",
    title="Touch scheduler",
    description="The 33-touch plans, event-triggered contacts, contact-fatigue control, dispatch to channel partners and call tasks.",
    migrations_dir=Path(__file__).parent / "migrations",
    topic="wafa.touch",
    routers=ROUTERS,
    consumers=CONSUMERS,
    jobs=[DISPATCH, ANNOUNCE],
    on_startup=[seed_plans],
    on_shutdown=[close_partner_client],
)

__all__ = ["SPEC", "Settings", "create_app"]


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    return build_app(replace(SPEC, jobs=jobs(settings.dispatch_interval_s, settings.announce_interval_s)), settings, clock)
