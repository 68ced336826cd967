"""The outbound delivery worker.

Deliveries are created by the relay when an event is published. The worker leases due
deliveries (`FOR UPDATE SKIP LOCKED`, so replicas share the work), sends each as its own task
with a timeout, logs every attempt, and reschedules failures with exponential backoff and
jitter over hours (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) before marking them dead.
A slow or dead receiver only ever occupies its own tasks; others keep flowing.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wafa_shared.observability import WEBHOOK_ATTEMPTS
from wafa_shared.webhooks.sender import WebhookSender
from wafa_shared.webhooks.signing import signed_headers

log = logging.getLogger("wafa.webhooks")
RETRY_SCHEDULE_S: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
LEASE_S = 120

_LEASE = text(
    """
    WITH due AS (
      SELECT d.id FROM webhook_deliveries d
      WHERE d.status = 'pending' AND d.next_attempt_at <= now()
      ORDER BY d.next_attempt_at LIMIT :limit FOR UPDATE SKIP LOCKED
    )
    UPDATE webhook_deliveries d SET next_attempt_at = now() + make_interval(secs => :lease)
    FROM due, webhook_subscriptions s
    WHERE d.id = due.id AND s.id = d.subscription_id
    RETURNING d.id, d.event_id, d.payload::text AS payload, d.attempts, s.url, s.secret
    """
)
_RESULT = text(
    """
    WITH upd AS (
      UPDATE webhook_deliveries SET attempts = attempts + 1, status = :status, next_attempt_at = :next,
        last_status_code = :code, last_error = :error,
        delivered_at = CASE WHEN CAST(:ok AS boolean) THEN now() ELSE delivered_at END
      WHERE id = :id RETURNING id, attempts
    )
    INSERT INTO webhook_attempts (delivery_id, attempt, status_code, error, duration_ms)
    SELECT id, attempts, :code, :error, :ms FROM upd
    """
)


def next_attempt(attempts_done: int, schedule: Sequence[float], now: datetime, rng: random.Random) -> datetime | None:
    """When to try again after `attempts_done` failures (None: give up). Jitter is +-20%."""
    if attempts_done > len(schedule):
        return None
    base = schedule[attempts_done - 1]
    return now + timedelta(seconds=base * rng.uniform(0.8, 1.2))


class WebhookWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        service: str,
        timeout_s: float = 10.0,
        concurrency: int = 32,
        poll_interval_s: float = 0.5,
        schedule: Sequence[float] = RETRY_SCHEDULE_S,
    ) -> None:
        self.sessions = sessions
        self.service = service
        self.timeout_s = timeout_s
        self.concurrency = concurrency
        self.poll_interval_s = poll_interval_s
        self.schedule = tuple(schedule)
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._rng = random.Random()
        self.sender = WebhookSender(timeout_s=timeout_s, connections=concurrency)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    leased = await self._lease(self.concurrency)
                except Exception as exc:  # noqa: BLE001 - keep the worker alive across DB hiccups
                    log.warning("lease failed", extra={"error": repr(exc)})
                    leased = []
                for row in leased:
                    await self._slots.acquire()
                    task = asyncio.create_task(self._deliver(row))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                if len(leased) < self.concurrency:
                    try:
                        await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval_s)
                    except TimeoutError:
                        pass
                    self._wake.clear()
        finally:
            for task in list(self._tasks):
                task.cancel()
            await self.sender.aclose()

    async def _lease(self, limit: int) -> list[object]:
        async with self.sessions() as session, session.begin():
            return list((await session.execute(_LEASE, {"limit": limit, "lease": LEASE_S})).all())

    async def _deliver(self, row: object) -> None:
        try:
            await self.deliver_one(row)
        except Exception as exc:  # noqa: BLE001
            log.warning("delivery bookkeeping failed", extra={"error": repr(exc)})
        finally:
            self._slots.release()

    async def deliver_one(self, row: object) -> bool:
        body = row.payload.encode()  # type: ignore[attr-defined]
        headers = signed_headers(row.secret, str(row.event_id), body)  # type: ignore[attr-defined]
        code, error, ms = await self.sender.post(row.url, body, headers)  # type: ignore[attr-defined]
        ok = error is None
        attempts_done = row.attempts + 1  # type: ignore[attr-defined]
        if ok:
            status, nxt = "succeeded", None
        else:
            nxt = next_attempt(attempts_done, self.schedule, datetime.now(UTC), self._rng)
            status = "pending" if nxt is not None else "dead"
        WEBHOOK_ATTEMPTS.labels(self.service, "ok" if ok else "failed").inc()
        async with self.sessions() as session, session.begin():
            await session.execute(
                _RESULT,
                {"id": row.id, "status": status, "ok": ok, "next": nxt, "code": code, "error": error, "ms": ms},  # type: ignore[attr-defined]
            )
        return ok
