"""Idempotent event consumers (the inbox pattern).

A consumer is a name, the topics it reads and handlers registered per event type:

    handlers = Handlers()

    @handlers.on("loyalty.purchase.recorded")
    async def on_purchase(session: AsyncSession, event: Event, data: PurchaseRecorded) -> None: ...

Guarantees:
- Each event's effect is applied once: its id goes into `inbox` (unique per consumer) in the
  same transaction as the effect; a redelivered or replayed event finds its id and is skipped.
- Offsets are committed only after the database commit, so a crash re-delivers, never loses.
- A failing event is retried `max_attempts` times, then goes to the dead-letter topic and the
  `dead_letters` table with its error, and the consumer moves on. Events that cannot be parsed
  (bad JSON, unknown type or version, invalid data) go there at once: retrying cannot help.
- Fast path: a whole fetched batch is applied in one transaction; only when that fails is the
  batch re-run one event at a time, to isolate the culprit.
- A database outage (restart, failover) is not the event's fault: while the database cannot be
  reached the consumer waits for it, without spending an event's attempts, and then re-runs
  the batch. Nothing is dead-lettered and the consumer never stops because PostgreSQL was away.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable, Container
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from opentelemetry.trace import SpanKind
from pydantic import ValidationError
from sqlalchemy import insert, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wafa_shared import collector
from wafa_shared.events import CATALOG, Event, EventData, UnknownEventError
from wafa_shared.kafka import dlq_topic, new_consumer, new_producer, start_client
from wafa_shared.observability import CONSUMER_LAG, DLQ_SIZE, EVENTS_CONSUMED, request_id_var
from wafa_shared.outbox import OUTBOX_FLAG
from wafa_shared.platform_models import DeadLetter
from wafa_shared.tracing import span

log = logging.getLogger("wafa.inbox")

Handler = Callable[[AsyncSession, Event, Any], Awaitable[None]]
BatchHandler = Callable[[AsyncSession, list[tuple[Event, Any]]], Awaitable[None]]


class Handlers:
    """Event handlers of one consumer, by event type. A batch handler receives consecutive
    events of its type together, so it can apply them with set-based SQL."""

    def __init__(self) -> None:
        self.by_type: dict[str, Handler] = {}
        self.batch_by_type: dict[str, BatchHandler] = {}
        self.after: BatchHandler | None = None

    def types(self) -> set[str]:
        """The event types something here handles."""
        return set(self.by_type) | set(self.batch_by_type)

    def on(self, event_type: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self.by_type[event_type] = fn
            return fn

        return register

    def on_batch(self, event_type: str) -> Callable[[BatchHandler], BatchHandler]:
        def register(fn: BatchHandler) -> BatchHandler:
            self.batch_by_type[event_type] = fn
            return fn

        return register

    def after_handlers(self, fn: BatchHandler) -> BatchHandler:
        """Run `fn` with all the new events of a consumed batch, in its transaction, after every
        handler: work that takes the locks a concurrent job takes goes here, once per batch and
        last, so it takes them in one statement each, in the job's order, with nothing waited on
        afterwards (taken event by event, between other handlers, they can form a cycle with it)."""
        self.after = fn
        return fn


@dataclass
class ConsumerSpec:
    name: str
    topics: list[str]
    handlers: Handlers = field(default_factory=Handlers)


class PoisonEvent(Exception):
    """The message can never be applied (unparseable, unknown type or version, invalid data)."""


class _Stopping(Exception):
    """The consumer was asked to stop before a batch was applied: its offset must not be committed."""


@dataclass
class Parsed:
    record: ConsumerRecord[bytes, bytes]
    event: Event | None = None
    data: EventData | None = None
    error: str | None = None
    ignored: bool = False  # a type this consumer has no handler for: neither parsed further nor claimed


def parse_record(record: ConsumerRecord[bytes, bytes], handled: Container[str] | None = None) -> Parsed:
    """The record's envelope and payload; only the envelope for a type outside `handled`."""
    try:
        event = Event.from_json(record.value or b"")
        if handled is not None and event.type not in handled:
            return Parsed(record, event, ignored=True)
        data = CATALOG.parse(event)
        return Parsed(record, event, data)
    except (orjson.JSONDecodeError, ValidationError, UnknownEventError, ValueError) as exc:
        return Parsed(record, error=f"unparseable event: {exc}")


def parse_batch(records: list[ConsumerRecord[bytes, bytes]], handled: Container[str] | None = None) -> list[Parsed]:
    """Parse a fetched batch with the garbage collector paused (`collector.paused`): the parsed
    events all stay alive until the batch is applied."""
    with collector.paused():
        return [parse_record(r, handled) for r in records]


_INBOX_CLAIM = text("INSERT INTO inbox (consumer, event_id) SELECT :consumer, unnest(CAST(:ids AS uuid[])) ON CONFLICT DO NOTHING RETURNING event_id")


class InboxConsumer:
    def __init__(
        self,
        spec: ConsumerSpec,
        sessions: async_sessionmaker[AsyncSession],
        bootstrap: str,
        *,
        service: str,
        topic_prefix: str = "",
        batch_size: int = 1000,
        max_attempts: int = 5,
        retry_backoff_s: float = 0.05,
        on_commit: Callable[[], None] | None = None,
        client_options: dict[str, Any] | None = None,
        group_suffix: str = "",
        linger_s: float = 0.0,
    ) -> None:
        self.spec = spec
        self._handled = spec.handlers.types()
        self.name = f"{service}.{spec.name}"
        self.sessions = sessions
        self.bootstrap = bootstrap
        self.service = service
        self.topics = [topic_prefix + t for t in spec.topics]
        # The inbox is keyed by consumer name, not group: a new group (suffix) re-reads every
        # topic from offset 0 and the inbox makes that replay change nothing.
        self.group_id = f"{topic_prefix}{self.name}{group_suffix}"
        self.batch_size = batch_size
        self.linger_s = linger_s
        self.max_attempts = max_attempts
        self.retry_backoff_s = retry_backoff_s
        self.on_commit = on_commit
        self.client_options = client_options or {}
        self._stop = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq_producer: AIOKafkaProducer | None = None
        self.connected = False

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        self._consumer = await start_client(lambda: new_consumer(self.bootstrap, self.topics, self.group_id, **self.client_options), self.name, self._stop)
        if self._consumer is None:
            return
        self.connected = True
        try:
            while not self._stop.is_set():
                try:
                    batches = await self._fetch()
                except Exception as exc:  # noqa: BLE001 - keep consuming through broker hiccups
                    log.warning("fetch failed; retrying", extra={"consumer": self.name, "error": repr(exc)})
                    await asyncio.sleep(0.5)
                    continue
                if not batches or self._stop.is_set():
                    continue
                try:
                    await self.process([r for records in batches.values() for r in records])
                except _Stopping:
                    break
                except Exception as exc:  # noqa: BLE001 - e.g. the database left while dead-lettering
                    # Not applied, not committed: fetch the batch again once the database is back.
                    log.warning("batch not applied; fetching it again", extra={"consumer": self.name, "error": repr(exc)})
                    for tp, records in batches.items():
                        self._consumer.seek(tp, records[0].offset)
                    if not await self._wait_for_database():
                        try:  # the database is there: do not spin on whatever failed
                            await asyncio.wait_for(self._stop.wait(), timeout=1.0)
                        except TimeoutError:
                            pass
                    continue
                await self._commit({tp: records[-1].offset + 1 for tp, records in batches.items()})
                for tp, records in batches.items():
                    self._record_lag(tp, records[-1].offset + 1)
        except _Stopping:
            pass
        finally:
            self.connected = False
            for client in (self._consumer, self._dlq_producer):
                if client is not None:
                    try:
                        await client.stop()
                    except Exception:  # noqa: BLE001
                        pass

    async def _fetch(self) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        """What the partitions hold, up to `batch_size` records, gathered for up to `linger_s`
        once the first arrive. The whole fetch is applied in one transaction and its offsets
        committed in one request: a transaction, a WAL flush and an offset commit per partition
        and fetch (a topic has 6, a consumer reads several topics) cost more than the events
        themselves at a few hundred a second, and fed each handler batches of one or two."""
        assert self._consumer is not None
        batches = await self._consumer.getmany(timeout_ms=200, max_records=self.batch_size)
        n = sum(len(r) for r in batches.values())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.linger_s
        while 0 < n < self.batch_size and (left := deadline - loop.time()) > 0:
            more = await self._consumer.getmany(timeout_ms=max(1, int(left * 1000)), max_records=self.batch_size - n)
            for tp, records in more.items():
                batches.setdefault(tp, []).extend(records)
                n += len(records)
        return batches

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        assert self._consumer is not None
        try:
            await self._consumer.commit(offsets)
        except Exception as exc:  # noqa: BLE001 - a lost commit only means a harmless redelivery
            log.warning("offset commit failed", extra={"consumer": self.name, "error": repr(exc)})

    def _record_lag(self, tp: TopicPartition, next_offset: int) -> None:
        assert self._consumer is not None
        high = self._consumer.highwater(tp)
        if high is not None:
            CONSUMER_LAG.labels(self.service, self.spec.name, tp.topic, str(tp.partition)).set(max(0, high - next_offset))

    async def process(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        """Apply a batch of records from one partition, in order, each effect once."""
        # Topics carry every event of their producer; most consumers handle a few types, and the
        # others cost neither a payload parse nor an inbox row (replaying them changed nothing).
        parsed = parse_batch(records, self._handled)
        ignored = sum(p.ignored for p in parsed)
        EVENTS_CONSUMED.labels(self.service, self.spec.name, "ignored").inc(ignored)
        parsed = [p for p in parsed if not p.ignored]
        if not parsed:
            return
        if all(p.error is None for p in parsed):
            while True:
                try:
                    applied = await self._apply(parsed)
                    EVENTS_CONSUMED.labels(self.service, self.spec.name, "applied").inc(applied)
                    EVENTS_CONSUMED.labels(self.service, self.spec.name, "duplicate").inc(len(parsed) - applied)
                    return
                except Exception as exc:  # noqa: BLE001 - fall back to one-by-one to isolate the culprit
                    if await self._wait_for_database():
                        continue  # the database was away: the batch is not at fault, run it again
                    log.info("batch failed; isolating", extra={"consumer": self.name, "error": repr(exc)})
                    break
        for p in parsed:
            await self._process_one(p)

    async def _process_one(self, p: Parsed) -> None:
        if p.error is not None:
            await self._dead_letter(p, p.error, attempts=1)
            return
        error = ""
        attempt = 0
        while attempt < self.max_attempts:
            try:
                applied = await self._apply([p])
                EVENTS_CONSUMED.labels(self.service, self.spec.name, "applied" if applied else "duplicate").inc()
                return
            except Exception as exc:  # noqa: BLE001
                if await self._wait_for_database():
                    continue  # an outage, not this event's failure: no attempt spent
                attempt += 1
                error = "".join(traceback.format_exception_only(exc)).strip()
                log.warning(
                    "event failed",
                    extra={"consumer": self.name, "event_id": str(p.event.id) if p.event else None, "attempt": attempt, "error": error},
                )
                if attempt < self.max_attempts:
                    await asyncio.sleep(min(self.retry_backoff_s * 2 ** (attempt - 1), 2.0))
        await self._dead_letter(p, error, attempts=self.max_attempts)

    async def _database_reachable(self) -> bool:
        try:
            async with self.sessions() as session:
                await session.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - any failure here means "not now"
            return False

    async def _wait_for_database(self) -> bool:
        """Wait until the database answers. Returns whether it had to wait (it was away, so the
        failure that made us ask was the outage's). Raises `_Stopping` when asked to stop first."""
        if await self._database_reachable():
            return False
        log.warning("database unreachable; waiting for it", extra={"consumer": self.name})
        delay = 0.2
        while not await self._database_reachable():
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=delay)
            except TimeoutError:
                pass
            if self._stop.is_set():
                raise _Stopping
            delay = min(delay * 2, 2.0)
        log.info("database reachable again", extra={"consumer": self.name})
        return True

    async def _apply(self, parsed: list[Parsed]) -> int:
        """One transaction: claim the event ids in the inbox, run handlers for the new ones."""
        async with self.sessions() as session:
            async with session.begin():
                ids = [p.event.id for p in parsed if p.event is not None]
                new = set((await session.execute(_INBOX_CLAIM, {"consumer": self.name, "ids": ids})).scalars())
                fresh = []
                for p in parsed:  # an id repeated inside one batch is applied once too
                    if p.event is not None and p.event.id in new:
                        new.discard(p.event.id)
                        fresh.append(p)
                await self._dispatch(session, fresh)
            if session.info.pop(OUTBOX_FLAG, False) and self.on_commit is not None:
                self.on_commit()
        return len(fresh)

    async def _dispatch(self, session: AsyncSession, fresh: list[Parsed]) -> None:
        """Run handlers in event order; runs of one type with a batch handler go together."""
        handlers = self.spec.handlers
        i = 0
        while i < len(fresh):
            event_type = fresh[i].event.type  # type: ignore[union-attr]
            batch = handlers.batch_by_type.get(event_type)
            if batch is not None:
                j = i
                while j < len(fresh) and fresh[j].event.type == event_type:  # type: ignore[union-attr]
                    j += 1
                await batch(session, [(p.event, p.data) for p in fresh[i:j]])  # type: ignore[misc]
                i = j
                continue
            handler = handlers.by_type.get(event_type)
            if handler is not None:
                await self._call(handler, session, fresh[i])
            i += 1
        if handlers.after is not None and fresh:
            await handlers.after(session, [(p.event, p.data) for p in fresh])  # type: ignore[misc]

    @staticmethod
    async def _call(handler: Handler, session: AsyncSession, p: Parsed) -> None:
        headers = {k: v.decode(errors="replace") for k, v in (p.record.headers or ())}
        token = request_id_var.set(headers.get("x-request-id"))
        assert p.event is not None
        try:
            with span(f"consume {p.event.type}", SpanKind.CONSUMER, headers.get("traceparent"), **{"messaging.message.id": str(p.event.id)}):
                await handler(session, p.event, p.data)
        finally:
            request_id_var.reset(token)

    async def _dead_letter(self, p: Parsed, error: str, attempts: int) -> None:
        r = p.record
        payload = (r.value or b"").decode(errors="replace")
        headers = {k: v.decode(errors="replace") for k, v in (r.headers or ())}
        async with self.sessions() as session, session.begin():
            await session.execute(
                insert(DeadLetter).values(
                    consumer=self.name,
                    topic=r.topic,
                    partition=r.partition,
                    offset=r.offset,
                    event_id=str(p.event.id) if p.event else None,
                    event_type=p.event.type if p.event else None,
                    key=(r.key or b"").decode(errors="replace") or None,
                    payload=payload,
                    headers=headers,
                    error=error[:4000],
                    attempts=attempts,
                )
            )
        await self._send_to_dlq(r, error)
        EVENTS_CONSUMED.labels(self.service, self.spec.name, "dead").inc()
        DLQ_SIZE.labels(self.service).inc()
        log.error("event dead-lettered", extra={"consumer": self.name, "topic": r.topic, "offset": r.offset, "error": error[:500]})

    async def _send_to_dlq(self, r: ConsumerRecord[bytes, bytes], error: str) -> None:
        if self._dlq_producer is None:
            self._dlq_producer = await start_client(lambda: new_producer(self.bootstrap), f"{self.name}.dlq", self._stop)
            if self._dlq_producer is None:
                return
        headers = list(r.headers or ()) + [
            ("x-dlq-error", error[:1000].encode()),
            ("x-dlq-consumer", self.name.encode()),
            ("x-dlq-origin", f"{r.topic}/{r.partition}/{r.offset}".encode()),
        ]
        await self._dlq_producer.send_and_wait(dlq_topic(r.topic), value=r.value, key=r.key, headers=headers)


async def replay_dead_letter(session_factory: async_sessionmaker[AsyncSession], consumers: dict[str, ConsumerSpec], dead_letter_id: int, service: str) -> str:
    """Run a dead letter through its consumer's handler again. Returns the new status
    (`replayed`, or `dead` with the fresh error stored). Idempotent through the inbox."""
    async with session_factory() as session:
        dl = await session.get(DeadLetter, dead_letter_id)
        if dl is None:
            raise KeyError(dead_letter_id)
        if dl.status == "replayed":
            return "replayed"
        spec = consumers.get(dl.consumer.removeprefix(f"{service}."))
        record = ConsumerRecord(
            topic=dl.topic,
            partition=dl.partition,
            offset=dl.offset,
            timestamp=0,
            timestamp_type=0,
            key=(dl.key or "").encode(),
            value=dl.payload.encode(),
            checksum=None,
            serialized_key_size=0,
            serialized_value_size=0,
            headers=tuple((k, v.encode()) for k, v in (dl.headers or {}).items()),
        )
    p = parse_record(record)
    status, error = "replayed", None
    if spec is None:
        status, error = "dead", f"no consumer named {dl.consumer}"
    elif p.error is not None:
        status, error = "dead", p.error
    else:
        try:
            consumer = InboxConsumer(spec, session_factory, "", service=service)
            consumer.name = dl.consumer
            await consumer._apply([p])
        except Exception as exc:  # noqa: BLE001
            status, error = "dead", "".join(traceback.format_exception_only(exc)).strip()
    async with session_factory() as session, session.begin():
        values: dict[str, object] = {"status": status, "attempts": DeadLetter.attempts + 1}
        if status == "replayed":
            values["replayed_at"] = text("now()")
        else:
            values["error"] = (error or "")[:4000]
        await session.execute(update(DeadLetter).where(DeadLetter.id == dead_letter_id).values(**values))
    return status
