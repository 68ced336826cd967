"""The transactional outbox: write an event in the same transaction as the state change.

`publish` only inserts a row; the relay (`relay.py`) sends it to Kafka after commit. So an
accepted request is never lost, even when the broker is down, and nothing is published for
a transaction that rolled back.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_shared.db import DriverSql
from wafa_shared.events.catalog import CATALOG
from wafa_shared.events.envelope import Event, EventData, envelope_fields, envelope_json, new_event
from wafa_shared.observability import context_headers

SHARDS = 16
OUTBOX_FLAG = "wafa.outbox.pending"


def shard_of(key: str | None) -> int:
    """Stable shard of a key: one key's events always go through one relay lease, in order."""
    return zlib.crc32((key or "").encode()) % SHARDS


# One statement for any number of events: arrays in, rows out (cheaper than an ORM
# executemany, which costs ~4x the CPU per row on this hot path), on the driver connection.
# A hot path may run it as a data-modifying CTE of its own statement, with `outbox_params`.
OUTBOX_INSERT_SQL = (
    "INSERT INTO outbox (event_id, topic, key, shard, type, payload, headers) "
    "SELECT e, t, k, s, ty, pl::jsonb, hd::jsonb FROM unnest("
    "CAST(:ids AS uuid[]), CAST(:topics AS text[]), CAST(:keys AS text[]), CAST(:shards AS smallint[]), "
    "CAST(:types AS text[]), CAST(:payloads AS text[]), CAST(:headers AS text[])) AS u(e, t, k, s, ty, pl, hd)"
)
_INSERT = DriverSql(OUTBOX_INSERT_SQL)


SOURCE_INFO = "wafa.source"
PREFIX_INFO = "wafa.topic_prefix"


def bind_publisher(info: dict[str, object], *, source: str, topic_prefix: str) -> dict[str, object]:
    """Session info that tells `publish` which service is the source and the topic prefix."""
    info[SOURCE_INFO] = source
    info[PREFIX_INFO] = topic_prefix
    return info


async def add_events(session: AsyncSession, events: list[Event], headers: list[str] | None = None) -> None:
    """Queue events for publication in the session's transaction (one multi-row insert).
    `headers`: see `outbox_params`."""
    await add_envelopes(session, [e.fields() for e in events], headers)


async def add_envelopes(session: AsyncSession, envelopes: Sequence[Mapping[str, Any]], headers: list[str] | None = None) -> None:
    """`add_events` for envelope fields (`envelope_fields`): hot paths queue their events
    without building an `Event` each."""
    if envelopes:
        await _INSERT.execute(session, outbox_params(session, envelopes, headers))
        outbox_written(session)


def outbox_written(session: AsyncSession) -> None:
    """Outbox rows were written in this session: the relay is woken after its commit."""
    session.info[OUTBOX_FLAG] = True


def trace_headers() -> str:
    """The current request's trace headers as an outbox row stores them (JSON)."""
    return orjson.dumps(context_headers()).decode()


def outbox_params(session: AsyncSession, envelopes: Sequence[Mapping[str, Any]], headers: list[str] | None = None) -> dict[str, object]:
    """The parameters of `OUTBOX_INSERT_SQL` for these envelopes (`envelope_fields`, or an
    `Event`'s `fields()`). A caller that runs the insert inside its own statement calls
    `outbox_written` when rows were written. `headers`: each event's `trace_headers()`, taken
    where its request ran (events of several requests written together); by default every
    event gets the current context's."""
    prefix = str(session.info.get(PREFIX_INFO, ""))
    assert headers is None or len(headers) == len(envelopes)
    return {
        "ids": [e["id"] for e in envelopes],
        "topics": [prefix + CATALOG.schema(e["type"], e["dataversion"]).topic for e in envelopes],
        "keys": [e["subject"] for e in envelopes],
        "shards": [shard_of(e["subject"]) for e in envelopes],
        "types": [e["type"] for e in envelopes],
        "payloads": [envelope_json(e).decode() for e in envelopes],
        "headers": headers if headers is not None else [trace_headers()] * len(envelopes),
    }


async def add_data(session: AsyncSession, items: Sequence[tuple[EventData, object]], *, time: datetime | None = None, chunk: int = 2000) -> None:
    """Queue typed payloads, each with its subject, `chunk` per statement: what `add_events`
    does for `new_event`s of them, without building an `Event` each (bulk writers queue
    hundreds of thousands: the envelopes go from their fields to JSON, a third of the cost)."""
    source, headers = str(session.info.get(SOURCE_INFO, "wafa")), trace_headers()
    for i in range(0, len(items), chunk):
        envelopes = [envelope_fields(data, source=source, subject=subject, time=time) for data, subject in items[i : i + chunk]]
        await add_envelopes(session, envelopes, [headers] * len(envelopes))


async def publish(session: AsyncSession, data: EventData, *, subject: object | None, time: datetime | None = None) -> Event:
    """Build the envelope for `data` (source: the session's service) and queue it.
    Returns the event; its id is final."""
    source = str(session.info.get(SOURCE_INFO, "wafa"))
    event = new_event(data, source=source, subject=subject, time=time)
    await add_events(session, [event])
    return event
