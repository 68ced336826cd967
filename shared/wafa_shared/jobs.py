"""Time-driven work declared by a service (maturation, expiry, reminders...).

Each job is an async function of the runtime, run every `interval_s` by the service and on
demand through `POST /v1/ops/jobs/{name}/run` (which tests use after moving the clock).
Jobs must be idempotent: replicas may run the same job at the same moment.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wafa_shared.lifecycle import Runtime

log = logging.getLogger("wafa.jobs")


@dataclass(frozen=True)
class Job:
    name: str
    interval_s: float
    run: Callable[[Runtime], Awaitable[Any]]
    description: str = ""


async def run_periodically(job: Job, runtime: Runtime, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=job.interval_s)
            return
        except TimeoutError:
            pass
        try:
            await job.run(runtime)
        except Exception as exc:  # noqa: BLE001 - a failed run is retried at the next interval
            log.warning("job failed", extra={"job": job.name, "error": repr(exc)})
