"""What the touch plan will do next and what the call centre owes: touches coming due per day
and channel, and overdue tasks.

Both read the touch events analytics consumes. `touch.scheduled` is announced by the touch
scheduler only once a touch comes due within its look-ahead window (7 days by default), so the
outlook cannot see further than that window; a touch enters it as `scheduled` and leaves it when
it is sent, completed or skipped. A task (`task.assigned`, channels phone, letter, card) is
overdue while its touch is neither completed nor skipped after the task's `due_at`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_TIER = (
    "(CAST(:tier AS text) IS NULL OR {col} IN (SELECT customer_id FROM a_customers WHERE tier = CAST(:tier AS text)))"
    " AND (CAST(:members AS uuid[]) IS NULL OR {col} = ANY(CAST(:members AS uuid[])))"
)

_UPCOMING = text(f"""
SELECT CAST(at AT TIME ZONE 'UTC' AS date) AS day, channel, count(*) AS touches
FROM a_touches WHERE status = 'scheduled' AND at >= :start AND at < :end AND {_TIER.format(col="customer_id")}
GROUP BY 1, 2 ORDER BY 1, 2""")

_OPEN_TASKS = f"""
FROM a_tasks k JOIN a_touches t ON t.touch_id = k.touch_id
WHERE k.due_at < :now AND t.status NOT IN ('completed', 'skipped') AND {_TIER.format(col="k.customer_id")}"""

_OVERDUE_GROUPS = text(f"""
SELECT k.channel, k.assignee, count(*) AS tasks, min(k.due_at) AS oldest {_OPEN_TASKS} GROUP BY 1, 2 ORDER BY 1, 2""")

_OVERDUE_ITEMS = text(f"""
SELECT k.task_id, k.touch_id, k.customer_id, k.channel, k.assignee, k.due_at {_OPEN_TASKS}
ORDER BY k.due_at, k.task_id LIMIT :limit""")


async def upcoming(session: AsyncSession, now: datetime, days: int, *, tier: str | None, members: list[Any] | None = None) -> dict[str, Any]:
    """Scheduled touches per UTC day and channel from `now` to `now + days`; every day of the
    range is listed (zero when nothing is due)."""
    end = now + timedelta(days=days)
    rows = (await session.execute(_UPCOMING, {"start": now, "end": end, "tier": tier, "members": members})).all()
    first: date = now.date()
    all_days = [first + timedelta(days=i) for i in range((end.date() - first).days + 1)]
    if end.time() == datetime.min.time():
        all_days = all_days[:-1]
    channels = sorted({r.channel for r in rows})
    counts = {(r.day, r.channel): int(r.touches) for r in rows}
    return {
        "from": now,
        "to": end,
        "days": all_days,
        "channels": channels,
        "series": [{"channel": c, "touches": [counts.get((d, c), 0) for d in all_days]} for c in channels],
        "total": sum(counts.values()),
    }


async def overdue_tasks(session: AsyncSession, now: datetime, *, tier: str | None, limit: int, members: list[Any] | None = None) -> dict[str, Any]:
    """Open tasks past their due time: counts by channel and assignee, and the oldest ones."""
    params = {"now": now, "tier": tier, "limit": limit, "members": members}
    groups = (await session.execute(_OVERDUE_GROUPS, params)).all()
    by_channel: dict[str, int] = {}
    by_assignee: dict[str, int] = {}
    for g in groups:
        by_channel[g.channel] = by_channel.get(g.channel, 0) + int(g.tasks)
        by_assignee[g.assignee] = by_assignee.get(g.assignee, 0) + int(g.tasks)
    items = [
        {
            "task_id": r.task_id,
            "touch_id": r.touch_id,
            "customer_id": r.customer_id,
            "channel": r.channel,
            "assignee": r.assignee,
            "due_at": r.due_at,
            "days_overdue": (now - r.due_at).days,
        }
        for r in await session.execute(_OVERDUE_ITEMS, params)
    ]
    return {
        "as_of": now,
        "total": sum(by_channel.values()),
        "by_channel": by_channel,
        "by_assignee": by_assignee,
        "oldest_due_at": min((g.oldest for g in groups), default=None),
        "items": items,
    }
