"""`touch.scheduled` is published when a touch comes due within the look-ahead window
(`announce_window_days`, 7 by default), not when it is materialised: a year of 33 touches per
enrolment would otherwise be 33 events at once, most of them for months ahead. Analytics thus
sees scheduled touches up to the window ahead; the full future schedule is in the API
(`GET /v1/customers/{id}/touches`, `GET /v1/touches`).

The job `announce-due-touches` claims scheduled, not yet announced touches due after the
announce horizon (the instant it has announced up to) and by now + window, in due order and
batches (`UPDATE ... RETURNING`), queues their events, marks them announced and moves the
horizon past them, each batch in its own transaction under the horizon's row lock (replicas
take turns). So it reads only what came into the window since its last run, with no index of
its own for materialisation to fill. A touch written or re-dated due on or before the horizon
is announced by its writer in the same transaction (`shared_horizon` holds the job off until
that commits). Dispatch announces any due touch not announced yet before deciding it
(`announce_touches`), so `touch.scheduled` always precedes a touch's `touch.sent`,
`task.assigned` or fatigue skip.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wafa_shared.events.touch import TouchScheduled
from wafa_shared.outbox import add_data
from wafa_touch import repository as repo
from wafa_touch.models import Touch


async def announce_due(session: AsyncSession, now: datetime, window: timedelta, limit: int) -> int:
    """Announce up to `limit` touches due by `now + window` and move the horizon past them;
    returns how many."""
    after = await repo.lock_horizon(session)
    target = now + window
    rows = await repo.mark_announced(session, now, after, target, limit)
    # Short of a full batch, every touch due by the target is announced (or held by a
    # dispatcher, which announces it); after a full one, the rest of the last instant is left.
    reached = target if len(rows) < limit else max(due for *_, due in rows) - timedelta(microseconds=1)
    if after is None or reached > after:
        await repo.set_horizon(session, reached)
    await add_data(
        session,
        [(TouchScheduled(touch_id=tid, customer_id=cid, plan_id=pid, channel=channel, due_at=due), cid) for tid, cid, pid, channel, due in rows],
        time=now,
    )
    return len(rows)


async def announce_touches(session: AsyncSession, touches: Sequence[Touch], now: datetime) -> None:
    """Announce the given touches that were not announced yet (they are locked by the caller)."""
    new = [t for t in touches if t.scheduled_announced_at is None and t.due_at is not None]
    if not new:
        return
    await repo.set_announced(session, [t.id for t in new], now)
    await add_data(
        session,
        [(TouchScheduled(touch_id=t.id, customer_id=t.customer_id, plan_id=t.plan_id, channel=t.channel, due_at=t.due_at), t.customer_id) for t in new],
        time=now,
    )
    for t in new:
        t.scheduled_announced_at = now


async def run_announce(runtime: Any) -> dict[str, int]:
    """The `announce-due-touches` job: batches until none is left (bounded per run)."""
    s = runtime.settings
    now = runtime.clock.now()
    window = timedelta(days=s.announce_window_days)
    total = 0
    for _ in range(1000):
        async with runtime.sessions() as session:
            n = await announce_due(session, now, window, s.announce_batch_size)
            await session.commit()
        if n:
            runtime.outbox_committed()
        total += n
        if n < s.announce_batch_size:
            break
    return {"announced": total}
