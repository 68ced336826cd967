"""Time-driven work: release scheduled invitations, expire old ones, send reminders."""

from __future__ import annotations

from typing import Any

from wafa_shared.jobs import Job
from wafa_shared.lifecycle import Runtime
from wafa_survey import repository as repo
from wafa_survey import service


async def run_invitations(runtime: Runtime) -> dict[str, Any]:
    """Idempotent: rows are claimed with SKIP LOCKED and move to a state the next run skips."""
    now = runtime.clock.now()
    async with runtime.sessions() as session, session.begin():
        released = await service.release_due(session, now, runtime.settings.public_base_url)  # type: ignore[attr-defined]
        expired = await repo.expire_invitations(session, now)
        reminded = await service.send_reminders(session, now)
    runtime.outbox_committed()
    return {"released": released, "expired": expired, "reminded": reminded}


JOBS = [Job("survey-invitations", 60, run_invitations, "Release scheduled invitations, expire old ones, publish reminders.")]
