"""Reaching the runtime from a consumer's session.

Consumers receive only a session, but some handlers need the service's settings (thresholds).
The shared library builds the runtime inside the app's lifespan, so `create_app` wraps that
lifespan and records the runtime in the sessionmaker's `info`, which every session copies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from wafa_analytics.settings import Settings

RUNTIME_INFO = "wafa.analytics.runtime"


def attach(runtime: Any) -> None:
    runtime.sessions.kw.setdefault("info", {})[RUNTIME_INFO] = runtime


def settings_of(session: AsyncSession) -> Settings:
    runtime = session.info.get(RUNTIME_INFO)
    if runtime is None:
        raise RuntimeError("analytics runtime not attached yet")  # the inbox retries the batch
    return runtime.settings  # type: ignore[no-any-return]
