"""Bus benchmark: raw aiokafka produce->consume vs. our outbox -> Kafka -> inbox pipeline with
PostgreSQL writes on both sides, on the embedded broker and PostgreSQL, in one run.

    make bench-bus            (or: .venv/bin/python bench/bus.py --events 50000)

Prints a table and writes bench/results/bus.json. The baseline and the pipeline move the same
number of events of the same size through the same broker.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from harness import postgres_rss, remove_home
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wafa_shared.db import create_engine
from wafa_shared.embedded.broker import EmbeddedBroker, free_port
from wafa_shared.embedded.postgres import EmbeddedPostgres
from wafa_shared.events import Event
from wafa_shared.events.envelope import new_event
from wafa_shared.events.loyalty import PointsEarned
from wafa_shared.inbox import ConsumerSpec, Handlers, InboxConsumer
from wafa_shared.kafka import ensure_topics
from wafa_shared.migrations import upgrade
from wafa_shared.outbox import add_events, bind_publisher
from wafa_shared.relay import OutboxRelay
from wafa_shared.services import SERVICES

PARTITIONS = 6


def sample_event(i: int) -> Event:
    data = PointsEarned(customer_id=uuid.UUID(int=i % 5000), points=i % 97, rule="base", occurred_at=datetime.now(UTC))
    return new_event(data, source="bench", subject=data.customer_id)


async def raw_baseline(bootstrap: str, n: int, payload: bytes) -> float:
    topic = f"raw.{uuid.uuid4().hex[:6]}"
    await ensure_topics(bootstrap, [topic], PARTITIONS)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"g.{topic}", enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2, max_batch_size=512 * 1024)
    await producer.start()
    start = time.perf_counter()

    async def produce() -> None:
        futures = [await producer.send(topic, payload, key=str(i % 5000).encode()) for i in range(n)]
        await asyncio.gather(*futures)

    async def consume() -> None:
        got = 0
        while got < n:
            batch = await consumer.getmany(timeout_ms=500, max_records=1000)
            for records in batch.values():
                got += len(records)
            if batch:
                await consumer.commit()

    await asyncio.gather(produce(), consume())
    elapsed = time.perf_counter() - start
    await producer.stop()
    await consumer.stop()
    return n / elapsed


async def pipeline(pg: EmbeddedPostgres, bootstrap: str, n: int) -> dict[str, float]:
    migrations = next(s for s in SERVICES if s.name == "loyalty").migrations_dir()
    src_url, dst_url = pg.url("bench_src"), pg.url("bench_dst")
    for url in (src_url, dst_url):
        await upgrade(url, migrations)
    src_engine, dst_engine = create_engine(src_url), create_engine(dst_url)
    prefix = f"b{uuid.uuid4().hex[:6]}."
    src = async_sessionmaker(src_engine, expire_on_commit=False, info=bind_publisher({}, source="bench", topic_prefix=prefix))
    dst = async_sessionmaker(dst_engine, expire_on_commit=False)
    async with dst() as s, s.begin():
        await s.execute(text("CREATE TABLE IF NOT EXISTS bench_effects (event_id uuid PRIMARY KEY, customer_id uuid, points numeric)"))
        await s.execute(text("TRUNCATE bench_effects, inbox"))
    await ensure_topics(bootstrap, [prefix + "wafa.loyalty"], PARTITIONS)

    handlers = Handlers()

    @handlers.on_batch("loyalty.points.earned")
    async def apply(session: AsyncSession, items: list[tuple[Event, Any]]) -> None:
        await session.execute(
            text("INSERT INTO bench_effects SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:cs AS uuid[]), CAST(:ps AS numeric[]))"),
            {"ids": [e.id for e, _ in items], "cs": [d.customer_id for _, d in items], "ps": [d.points for _, d in items]},
        )

    events = [sample_event(i) for i in range(n)]
    t0 = time.perf_counter()
    for i in range(0, n, 1000):
        async with src() as s, s.begin():
            await add_events(s, events[i : i + 1000])
    write_s = time.perf_counter() - t0

    relay = OutboxRelay(src, bootstrap, service="bench", batch_size=1000, poll_interval_s=0.05)
    consumer = InboxConsumer(ConsumerSpec("bench", ["wafa.loyalty"], handlers), dst, bootstrap, service="bench", topic_prefix=prefix)
    consumer_task = asyncio.create_task(consumer.run())
    while not consumer.connected:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # let the group settle before the clock starts (not a correctness wait)
    start = time.perf_counter()
    relay_task = asyncio.create_task(relay.run())
    while True:
        async with dst() as s:
            done = (await s.execute(text("SELECT count(*) FROM bench_effects"))).scalar_one()
        if done >= n:
            break
        await asyncio.sleep(0.02)
    elapsed = time.perf_counter() - start
    relay.stop()
    consumer.stop()
    await asyncio.gather(relay_task, consumer_task)
    await src_engine.dispose()
    await dst_engine.dispose()
    return {"events_per_s": n / elapsed, "outbox_write_per_s": n / write_s, "elapsed_s": elapsed}


async def main(n: int) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="wafa-bench-"))
    pg = EmbeddedPostgres(home / "pg", free_port())
    broker = EmbeddedBroker(free_port())
    pg.start()
    broker.start()
    try:
        payload = sample_event(1).to_json()
        raw = await raw_baseline(broker.bootstrap, n, payload)
        ours = await pipeline(pg, broker.bootstrap, n)
        pg_rss = postgres_rss(pg)
        broker_rss = psutil.Process(broker.proc.pid).memory_info().rss if broker.proc else 0
        return {
            "events": n,
            "event_bytes": len(payload),
            "raw_aiokafka_events_per_s": round(raw),
            "outbox_kafka_inbox_events_per_s": round(ours["events_per_s"]),
            "ratio_to_raw": round(ours["events_per_s"] / raw, 3),
            "outbox_write_events_per_s": round(ours["outbox_write_per_s"]),
            "rss_mb": {"bench_process": round(psutil.Process().memory_info().rss / 1e6), "postgres": round(pg_rss / 1e6), "broker": round(broker_rss / 1e6)},
        }
    finally:
        broker.stop()
        pg.stop()
        remove_home(home)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50000)
    args = parser.parse_args()
    result = asyncio.run(main(args.events))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "bus.json").write_text(json.dumps(result, indent=2))
    print(f"{'scenario':<38}{'events/s':>12}")
    print(f"{'raw aiokafka produce->consume':<38}{result['raw_aiokafka_events_per_s']:>12,}")
    print(f"{'outbox->Kafka->inbox (PG both sides)':<38}{result['outbox_kafka_inbox_events_per_s']:>12,}")
    print(f"{'ratio (ours / raw)':<38}{result['ratio_to_raw']:>12}")
    print(f"{'outbox writes (1000 per tx)':<38}{result['outbox_write_events_per_s']:>12,}")
    print(f"events={result['events']} size={result['event_bytes']}B rss_mb={result['rss_mb']}")
