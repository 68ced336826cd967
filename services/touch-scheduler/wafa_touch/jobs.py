"""Time-driven work: the dispatch worker (run every `dispatch_interval_s`, or on demand via
`POST /v1/ops/jobs/dispatch/run`)."""

from __future__ import annotations

from wafa_shared.jobs import Job
from wafa_touch.dispatch import run_dispatch

DISPATCH = Job("dispatch", 5.0, run_dispatch, "Fatigue-check due touches, create tasks, post messages to channel partners, retry failures.")


def jobs(interval_s: float) -> list[Job]:
    return [Job(DISPATCH.name, interval_s, DISPATCH.run, DISPATCH.description)]
