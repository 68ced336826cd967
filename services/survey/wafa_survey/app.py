"""Wiring of the survey service: `create_app` is what uvicorn and the tests run."""

from pathlib import Path

from fastapi import FastAPI

from wafa_shared.app import build_app
from wafa_shared.clock import Clock
from wafa_shared.lifecycle import ServiceSpec
from wafa_survey.api import ROUTERS
from wafa_survey.events import CONSUMERS
from wafa_survey.jobs import JOBS
from wafa_survey.settings import Settings

SPEC = ServiceSpec(
    name="survey",
    title="Survey",
    description="Survey design, sampling, invitations, responses and their analysis (NPS, CSAT, CES, CSI).",
    migrations_dir=Path(__file__).parent / "migrations",
    topic="wafa.survey",
    routers=ROUTERS,
    consumers=CONSUMERS,
    jobs=JOBS,
)

__all__ = ["SPEC", "Settings", "create_app"]


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    return build_app(SPEC, settings or Settings(), clock)
