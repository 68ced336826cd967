"""Kafka plumbing: topic names, explicit topic creation, producer and consumer factories.

Topic auto-creation is off in production clusters, so every service creates the topics it
publishes to (and their dead-letter topics) at start-up; creating an existing topic is a no-op.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.partitioner import murmur2

log = logging.getLogger("wafa.kafka")
C = TypeVar("C", AIOKafkaProducer, AIOKafkaConsumer)

PRODUCER_TOPICS = ("wafa.customer", "wafa.loyalty", "wafa.survey", "wafa.touch", "wafa.analytics")


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def all_topics(prefix: str = "") -> list[str]:
    return [f"{prefix}{t}" for base in PRODUCER_TOPICS for t in (base, dlq_topic(base))]


async def ensure_topics(bootstrap: str, topics: list[str], partitions: int, replication: int = 1) -> None:
    """Create the topics that do not exist yet."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if not missing:
            return
        try:
            await admin.create_topics([NewTopic(t, partitions, replication) for t in missing])
        except TopicAlreadyExistsError:
            pass
        log.info("topics created", extra={"topics": missing})
    finally:
        await admin.close()


def new_producer(bootstrap: str, **overrides: object) -> AIOKafkaProducer:
    """A producer that waits for all in-sync replicas. Idempotence stays off: the outbox and
    inbox make effects idempotent, and Tansu rejects the idempotent producer."""
    opts: dict[str, object] = {
        "bootstrap_servers": bootstrap,
        "acks": "all",
        "linger_ms": 2,
        "max_batch_size": 512 * 1024,
        "request_timeout_ms": 60000,
        "compression_type": None,
    }
    opts.update(overrides)
    return AIOKafkaProducer(**opts)  # type: ignore[arg-type]


Message = tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]
"""A message to send: topic, key, value, headers."""


@functools.lru_cache(maxsize=4096)  # a customer's events meet in one relay batch; about 1 MB when full
def _key_hash(key: bytes) -> int:
    return murmur2(key) & 0x7FFFFFFF  # aiokafka's murmur2 is pure Python: 5 µs a key


def partition_for(key: bytes | None, partitions: list[int]) -> int:
    """The partition the producer's default partitioner picks for a key (Kafka's: murmur2 of
    the key over the sorted partitions), so a key's messages share one partition whichever way
    they were sent. A keyless message goes to any partition (the default partitioner prefers one
    with a leader; every outbox row has its customer key)."""
    if key is None:
        return random.choice(partitions)
    return partitions[_key_hash(key) % len(partitions)]


async def send_all(producer: AIOKafkaProducer, messages: Iterable[Message]) -> None:
    """Send messages in order per partition and wait until the broker acknowledged them all.
    One record batch per partition (a new one when it is full) instead of a `send` each: the
    per-message future, serialisation and partitioning cost most of a relay's time."""
    partitions: dict[str, list[int]] = {}
    batches: dict[tuple[str, int], Any] = {}
    futures: list[asyncio.Future[Any]] = []
    try:
        for topic, key, value, headers in messages:
            if topic not in partitions:
                partitions[topic] = sorted(await producer.partitions_for(topic))
            tp = (topic, partition_for(key, partitions[topic]))
            batch = batches.get(tp)
            if batch is not None and batch.append(timestamp=None, key=key, value=value, headers=headers) is not None:
                continue
            if batch is not None:  # full (and closed by the failed append): send it, start the next
                futures.append(await producer.send_batch(batch, topic, partition=tp[1]))
            batch = batches[tp] = producer.create_batch()
            batch.append(timestamp=None, key=key, value=value, headers=headers)  # an empty batch takes any message
        for (topic, partition), batch in batches.items():
            batch.close()  # complete: no need to linger for more
            futures.append(await producer.send_batch(batch, topic, partition=partition))
    except BaseException:
        await asyncio.gather(*futures, return_exceptions=True)  # no unretrieved failures logged later
        raise
    await asyncio.gather(*futures)


def new_consumer(bootstrap: str, topics: list[str], group_id: str, **overrides: object) -> AIOKafkaConsumer:
    opts: dict[str, object] = {
        "bootstrap_servers": bootstrap,
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_partition_fetch_bytes": 4 * 1024 * 1024,
        # The embedded broker's idle fetch costs grow with the data it holds: at 100 ms it idled
        # at 7% of a core after a mixed run (3% at 500 ms); data still returns when it arrives.
        "fetch_max_wait_ms": 500,
    }
    opts.update(overrides)
    return AIOKafkaConsumer(*topics, **opts)  # type: ignore[arg-type]


async def start_client(factory: Callable[[], C], what: str, stop: asyncio.Event) -> C | None:
    """Build and start a Kafka client, retrying with backoff while the broker is unreachable.
    Returns None when asked to stop first."""
    delay = 0.2
    while not stop.is_set():
        client = factory()
        try:
            if await _race_stop(client.start(), stop):
                return client
            await _quiet_stop(client)
            return None
        except (KafkaError, OSError) as exc:
            log.warning("broker unreachable, retrying", extra={"client": what, "error": str(exc), "retry_in_s": delay})
            await _quiet_stop(client)
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                pass
            delay = min(delay * 2, 5.0)
    return None


async def _race_stop(coro: Coroutine[Any, Any, None], stop: asyncio.Event) -> bool:
    """Run `coro` unless `stop` is set first (then cancel it). True when `coro` finished."""
    work = asyncio.ensure_future(coro)
    halt = asyncio.ensure_future(stop.wait())
    await asyncio.wait([work, halt], return_when=asyncio.FIRST_COMPLETED)
    halt.cancel()
    if work.done():
        work.result()
        return True
    work.cancel()
    try:
        await work
    except (asyncio.CancelledError, Exception):  # noqa: BLE001
        pass
    return False


async def _quiet_stop(client: AIOKafkaProducer | AIOKafkaConsumer) -> None:
    try:
        await client.stop()
    except Exception:  # noqa: BLE001 - best effort cleanup of a half-started client
        pass
