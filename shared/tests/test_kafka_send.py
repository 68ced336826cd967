"""`kafka.send_all`: a key's messages land where the producer's own partitioner puts them, in
order, however many record batches they fill."""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.partitioner import DefaultPartitioner

from wafa_shared.kafka import Message, ensure_topics, new_producer, partition_for, send_all


def test_a_key_gets_the_partition_the_default_partitioner_gives() -> None:
    keys = [str(uuid.uuid4()).encode() for _ in range(2000)] + [b"", b"c-1", "عميل".encode()]
    for count in (1, 3, 6, 16):
        partitions = list(range(count))
        assert [partition_for(k, partitions) for k in keys] == [DefaultPartitioner()(k, partitions, partitions) for k in keys]
    assert partition_for(None, [0, 1, 2]) in (0, 1, 2)


async def _read(bootstrap: str, topic: str, n: int, timeout_s: float = 30) -> list[Any]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = time.monotonic() + timeout_s
        while len(records) < n and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def test_messages_filling_several_batches_arrive_once_in_order_per_key_on_their_partition(infra: Any, topic_prefix: str) -> None:
    topic = topic_prefix + "send-all"
    await ensure_topics(infra.bootstrap, [topic], partitions=3)
    keys = [f"c-{i}".encode() for i in range(7)]
    big = b"x" * 60_000  # 512 KB batches: a key's 40 messages fill several
    messages: list[Message] = [(topic, keys[i % 7], b"%d:" % i + big, [("seq", str(i).encode())]) for i in range(280)]
    producer = new_producer(infra.bootstrap)
    await producer.start()
    try:
        await send_all(producer, messages)
    finally:
        await producer.stop()
    records = await _read(infra.bootstrap, topic, len(messages))
    assert len(records) == 280
    seqs: dict[bytes, list[int]] = defaultdict(list)
    for r in records:
        assert r.partition == partition_for(r.key, [0, 1, 2])
        assert dict(r.headers)["seq"] == r.value.split(b":")[0]
        seqs[r.key].append(int(r.value.split(b":")[0]))
    assert sorted(seqs) == sorted(keys)
    for key, got in seqs.items():
        assert got == [i for i in range(280) if keys[i % 7] == key]
