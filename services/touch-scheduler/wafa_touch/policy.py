"""The fatigue policy row (one per installation) as the domain `Policy`."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from wafa_touch import repository as repo
from wafa_touch.domain.fatigue import Policy


async def load_policy(session: AsyncSession, default_tz: str) -> Policy:
    row = await repo.get_policy(session)
    if row is None:
        return Policy(default_time_zone=default_tz)
    return Policy(
        max_per_7d=row.max_per_7d,
        max_per_30d=row.max_per_30d,
        min_gap_hours=row.min_gap_hours,
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
        respect_preferred=row.respect_preferred,
        exempt_priority=row.exempt_priority,
        default_time_zone=row.default_time_zone,
    )
