"""Queue many events in one multi-row outbox insert (materialisation and dispatch publish
thousands at a time)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from wafa_shared.events import EventData, new_event
from wafa_shared.outbox import SOURCE_INFO, add_events


async def publish_many(session: AsyncSession, items: list[tuple[EventData, object]], *, time: datetime | None = None, chunk: int = 2000) -> None:
    source = str(session.info.get(SOURCE_INFO, "wafa"))
    for i in range(0, len(items), chunk):
        await add_events(session, [new_event(data, source=source, subject=subject, time=time) for data, subject in items[i : i + chunk]])
