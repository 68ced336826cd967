"""Time-ordered ids: RFC 9562 version 7 layout, increasing, unique across threads."""

from __future__ import annotations

import threading
import time
import uuid

from wafa_shared.ids import IdBlock, new_id, ordered_ids


def test_new_ids_are_version_7_carry_their_millisecond_and_increase() -> None:
    before = time.time_ns() // 1_000_000
    ids = [new_id() for _ in range(20_000)]
    after = time.time_ns() // 1_000_000
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert all(before <= i.int >> 80 <= after for i in ids)
    assert ids == sorted(ids, key=lambda i: i.bytes)  # PostgreSQL orders uuids by their bytes
    assert len(set(ids)) == len(ids)


def test_ids_made_by_threads_at_once_are_all_distinct() -> None:
    made: list[list[uuid.UUID]] = [[] for _ in range(4)]

    def work(out: list[uuid.UUID]) -> None:
        out.extend(new_id() for _ in range(20_000))

    threads = [threading.Thread(target=work, args=(out,)) for out in made]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for out in made for i in out]
    assert len(set(everything)) == 80_000


def test_a_block_shares_its_prefix_and_counts_up_in_its_tail() -> None:
    block = IdBlock.new(ms=1_700_000_000_123)
    first, second = block.uuid(0), block.uuid(1)
    assert first.bytes[:10] == second.bytes[:10] == block.prefix
    assert second.int - first.int == 1
    assert first.int >> 80 == 1_700_000_000_123 and first.version == 7
    assert block.uuid(5).bytes[10:] == block.tail(5)
    ids = ordered_ids(1000)
    assert ids == sorted(ids, key=lambda i: i.bytes) and len(set(ids)) == 1000
