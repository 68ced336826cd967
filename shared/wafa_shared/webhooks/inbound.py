"""Inbound partner webhooks: verified, fresh, and idempotent on the partner's message id.

Usage in a route: `msg_id = verify(...)`, then `replay = await claim(session, source, msg_id)`;
a claimed id that was seen before returns its first response (stored by `remember`), so
partners can retry safely and a captured message cannot be applied twice.
"""

from __future__ import annotations

from typing import Any

from fastapi.encoders import jsonable_encoder
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_shared.platform_models import InboundWebhook

_CLAIM = text("INSERT INTO inbound_webhooks (source, webhook_id) VALUES (:source, :id) ON CONFLICT DO NOTHING RETURNING webhook_id")


async def claim(session: AsyncSession, source: str, webhook_id: str) -> tuple[bool, Any]:
    """(True, None) the first time an id is seen; (False, first response) afterwards."""
    new = (await session.execute(_CLAIM, {"source": source, "id": webhook_id})).scalar_one_or_none()
    if new is not None:
        return True, None
    stored = await session.scalar(select(InboundWebhook.response).where(InboundWebhook.source == source, InboundWebhook.webhook_id == webhook_id))
    return False, stored


async def remember(session: AsyncSession, source: str, webhook_id: str, response: Any) -> None:
    await session.execute(
        update(InboundWebhook).where(InboundWebhook.source == source, InboundWebhook.webhook_id == webhook_id).values(response=jsonable_encoder(response))
    )
