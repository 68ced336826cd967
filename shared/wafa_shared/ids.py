"""New ids: UUIDv7 layout (RFC 9562), increasing as a single-threaded process makes them.

Why not `uuid4`: a random key lands on a random page of every index it enters (the primary
key of a purchase, of an outbox row, of each consumer's inbox), so inserts touch pages all
over a large index; time-ordered ids land on its right edge. They are also cheaper to make:
one random draw per millisecond instead of an `os.urandom` call per id.

Layout: 48 bits of Unix time in ms, version 7, 12 random bits, variant, 14 random bits, then a
48-bit counter starting at a random value below 2**47 (so it cannot wrap within a block).
Ids reveal their creation time and neighbours are guessable: an id is never a secret (use
`secrets` for tokens and codes).
"""

from __future__ import annotations

import itertools
import secrets
import time
import uuid
from dataclasses import dataclass

_COUNTER_BITS = 48


@dataclass(frozen=True)
class IdBlock:
    """Ids sharing their first 10 bytes (one millisecond's prefix) and counting up from
    `start`. Bulk writers that encode ids as bytes themselves (binary COPY) use the prefix and
    `tail` directly."""

    prefix: bytes
    start: int

    @classmethod
    def new(cls, ms: int | None = None) -> IdBlock:
        ms = int(time.time() * 1000) if ms is None else ms
        rand_a, rand_b = 0x7000 | secrets.randbits(12), 0x8000 | secrets.randbits(14)
        return cls(ms.to_bytes(6, "big") + rand_a.to_bytes(2, "big") + rand_b.to_bytes(2, "big"), secrets.randbits(_COUNTER_BITS - 1))

    def tail(self, k: int) -> bytes:
        """The last 6 bytes of the block's `k`-th id."""
        return (self.start + k).to_bytes(6, "big")

    def uuid(self, k: int) -> uuid.UUID:
        return uuid.UUID(bytes=self.prefix + self.tail(k))


def ordered_ids(n: int) -> list[uuid.UUID]:
    """`n` new ids in increasing order (one block)."""
    block = IdBlock.new()
    return [block.uuid(k) for k in range(n)]


class _Sequence:
    """The process's id sequence: a new random block each millisecond, a counter within it.
    Safe across threads in that ids stay distinct (`next` on an `itertools.count` is atomic, a
    block is replaced whole, and two threads renewing at once each get a distinct random block);
    their order is not kept then: ids of one millisecond may come from either thread's block.
    Services are single-threaded asyncio processes."""

    def __init__(self) -> None:
        self.block: tuple[int, int, itertools.count[int]] = (-1, 0, itertools.count())

    def next(self) -> uuid.UUID:
        ms = time.time_ns() // 1_000_000
        block_ms, base, counter = self.block
        if ms != block_ms:
            base = int.from_bytes(IdBlock.new(ms).prefix, "big") << _COUNTER_BITS
            counter = itertools.count(secrets.randbits(_COUNTER_BITS - 1))
            self.block = (ms, base, counter)
        return uuid.UUID(int=base | next(counter))


_SEQUENCE = _Sequence()


def new_id() -> uuid.UUID:
    """A new time-ordered id (see the module docstring)."""
    return _SEQUENCE.next()
