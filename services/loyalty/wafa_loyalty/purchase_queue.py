"""Single purchases that arrive together are recorded together (group commit).

Why: at 32 concurrent `POST /v1/purchases`, a transaction per purchase spent most of the
service's and PostgreSQL's time on per-transaction work (session, BEGIN, COMMIT and its WAL
flush, a lock and a write statement each). Requests queue here instead. Up to `lanes` groups
are written at once; whatever arrives while they are written forms the next group, recorded
by `purchases.record_batch` in one transaction (which records a member's several purchases
in rounds, so each earns at the tier the one before it reached, as it would alone). Nothing
waits to fill a group: a request that finds a lane free goes at once, alone. Each request
gets its own result, after the commit, and its events carry its own trace headers (not those
of the request whose task runs the lane). A group that fails as a whole (a concurrent group
took one of its order ids, a database error) is retried item by item, each in its own
transaction, so one item cannot fail the others.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from wafa_loyalty import purchases
from wafa_loyalty.schemas import PurchaseIn
from wafa_shared.lifecycle import Runtime
from wafa_shared.observability import request_id_var, traceparent_var
from wafa_shared.outbox import trace_headers
from wafa_shared.problems import ProblemError

log = logging.getLogger("wafa.loyalty.purchase_queue")

Pending = tuple[PurchaseIn, str, "asyncio.Future[purchases.Result]"]  # the purchase, its request's trace headers, its answer


class PurchaseQueue:
    def __init__(self, runtime: Runtime, cache: dict[Any, Any], lanes: int = 2, max_batch: int = 500) -> None:
        self.runtime = runtime
        self.cache = cache
        self.lanes = lanes
        self.max_batch = max_batch
        self.waiting: list[Pending] = []
        self.busy = 0
        self.tasks: set[asyncio.Task[None]] = set()

    async def record(self, body: PurchaseIn) -> purchases.Result:
        """The purchase's result, once the transaction that recorded it has committed."""
        future: asyncio.Future[purchases.Result] = asyncio.get_running_loop().create_future()
        self.waiting.append((body, trace_headers(), future))
        if self.busy < self.lanes:
            self.busy += 1
            task = asyncio.create_task(self._lane())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return await future

    async def _lane(self) -> None:
        # The lane's task copied the context of the request that started it: its events carry
        # their own requests' headers (`traces`), and its logs name no request.
        request_id_var.set(None)
        traceparent_var.set(None)
        batch: list[Pending] = []
        try:
            while self.waiting:
                batch, self.waiting = self.waiting[: self.max_batch], self.waiting[self.max_batch :]
                await self._record(batch)
                batch = []
        except BaseException as exc:  # cancelled at shutdown: nobody may wait forever
            for _, _, future in batch + self.waiting:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("service stopping"))
            self.waiting = []
            raise
        finally:
            self.busy -= 1

    async def _record(self, batch: list[Pending], retried: bool = False) -> None:
        try:
            results = await self._transaction(batch)
        except Exception as exc:  # noqa: BLE001 - any failure of the group is retried item by item; a lone item's goes to its request
            if len(batch) > 1:
                log.warning("purchase group failed; recording its purchases one by one", extra={"size": len(batch), "error": repr(exc)})
                for pending in batch:
                    await self._record([pending])
            elif isinstance(exc, ProblemError) and exc.slug == "concurrent-order" and not retried:
                await self._record(batch, retried=True)  # another lane recorded this order id: now a replay
            else:
                _settle(batch[0][2], exc)
            return
        for (_, _, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def _transaction(self, batch: list[Pending]) -> list[purchases.Result]:
        async with self.runtime.transaction() as session:
            items, traces = [body for body, _, _ in batch], [trace for _, trace, _ in batch]
            return await purchases.record_batch(session, items, self.runtime.clock.now(), self.cache, traces)


def _settle(future: asyncio.Future[purchases.Result], exc: Exception) -> None:
    if not future.done():
        future.set_exception(exc)
