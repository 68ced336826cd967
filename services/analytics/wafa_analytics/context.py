"""The analytics settings as seen from a consumer's session (through the shared runtime)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from wafa_shared.lifecycle import runtime_of

if TYPE_CHECKING:
    from wafa_analytics.settings import Settings


def settings_of(session: AsyncSession | Session) -> Settings:
    return runtime_of(session).settings  # type: ignore[arg-type,return-value]
