"""Time-driven work: the dispatch worker (run every `dispatch_interval_s`, or on demand via
`POST /v1/ops/jobs/dispatch/run`) and the announcer of touches entering the look-ahead window
(every `announce_interval_s`; `POST /v1/ops/jobs/announce-due-touches/run`)."""

from __future__ import annotations

from wafa_shared.jobs import Job
from wafa_touch.announce import run_announce
from wafa_touch.dispatch import run_dispatch

DISPATCH = Job("dispatch", 5.0, run_dispatch, "Fatigue-check due touches, create tasks, post messages to channel partners, retry failures.")
ANNOUNCE = Job("announce-due-touches", 60.0, run_announce, "Publish touch.scheduled for touches coming due within the look-ahead window.")


def jobs(interval_s: float, announce_interval_s: float = ANNOUNCE.interval_s) -> list[Job]:
    return [Job(DISPATCH.name, interval_s, DISPATCH.run, DISPATCH.description), Job(ANNOUNCE.name, announce_interval_s, ANNOUNCE.run, ANNOUNCE.description)]
