"""Queries of the touch scheduler: every SQL statement lives here."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, any_, bindparam, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_shared import pgcopy
from wafa_shared.db import DriverSql, driver
from wafa_touch.models import (
    SCHEDULED,
    SKIPPED,
    AnnounceHorizon,
    ChannelEndpoint,
    CustomerProfile,
    Enrolment,
    FatiguePolicyRow,
    Plan,
    Task,
    Touch,
    TouchDefinition,
)

CONTACTED = ("dispatching", "sent", "failed", "task", "completed")


def of_customers(customer_ids: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    """The touches of these customers, through the indexes that hold them (`touches` has no
    index of every touch by customer): their enrolments' touches, and their one-off touches."""
    ids = list(customer_ids)
    enrolments = func.array(select(Enrolment.id).where(Enrolment.customer_id.in_(ids)).scalar_subquery())
    enrolled = Touch.enrolment_id.is_not(None) & (Touch.enrolment_id == any_(enrolments))
    one_off = Touch.enrolment_id.is_(None) & Touch.customer_id.in_(ids)
    return Touch.customer_id.in_(ids) & or_(enrolled, one_off)


async def get_profile(session: AsyncSession, customer_id: uuid.UUID) -> CustomerProfile | None:
    """The current row: pending changes are flushed first and the identity map refreshed, since
    profiles are also written with Core upserts (several events share one consumer session)."""
    await session.flush()
    return await session.get(CustomerProfile, customer_id, populate_existing=True)


async def profiles(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, CustomerProfile]:
    await session.flush()
    q = select(CustomerProfile).where(CustomerProfile.customer_id.in_(list(ids))).execution_options(populate_existing=True)
    rows = (await session.scalars(q)).all()
    return {p.customer_id: p for p in rows}


async def upsert_profile(session: AsyncSession, customer_id: uuid.UUID, values: dict[str, Any]) -> None:
    await session.flush()  # ORM changes of earlier events in this session go first
    base = {"customer_id": customer_id, "custom_dates": {}, "consents": {}}
    stmt = pg_insert(CustomerProfile).values({**base, **values})
    if values:
        stmt = stmt.on_conflict_do_update(index_elements=[CustomerProfile.customer_id], set_={**values, "updated_at": func.now()})
    else:
        stmt = stmt.on_conflict_do_nothing()
    await session.execute(stmt)


async def plan_by_key(session: AsyncSession, key: str) -> Plan | None:
    return await session.scalar(select(Plan).where(Plan.key == key))


async def plans_for_trigger(session: AsyncSession, trigger: str) -> Sequence[Plan]:
    return (await session.scalars(select(Plan).where(Plan.trigger == trigger, Plan.active.is_(True)).order_by(Plan.key))).all()


async def insert_plans_if_missing(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    await session.execute(pg_insert(Plan).values(rows).on_conflict_do_nothing(index_elements=[Plan.key]))


TOUCH_COLUMNS = (
    "id", "customer_id", "plan_id", "enrolment_id", "definition_id", "seq", "channel", "priority", "status", "reason", "due_at",
    "original_due_at", "window_end", "sent_at", "completed_at", "attempts", "next_attempt_at", "delivery_status", "payload",
)  # fmt: skip

_DEFINITION_IDS = text("SELECT digest, id FROM touch_definitions WHERE digest = ANY(CAST(:digests AS uuid[]))")
_INSERT_DEFINITIONS = text(
    """
    INSERT INTO touch_definitions (digest, def_key, content_key, key_message, referral_cta, cost, sla_hours)
    SELECT * FROM unnest(CAST(:digest AS uuid[]), CAST(:def_key AS text[]), CAST(:content_key AS text[]),
      CAST(:key_message AS text[]), CAST(:referral_cta AS boolean[]), CAST(:cost AS numeric[]), CAST(:sla_hours AS int[]))
    ON CONFLICT (digest) DO NOTHING
    """
)


async def definition_ids(session: AsyncSession, digests: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """The ids of the stored definitions among these digests."""
    return {d: i for d, i in await session.execute(_DEFINITION_IDS, {"digests": digests})}


async def insert_definitions(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert definition rows (`definitions.Definition.row`), ignoring those stored meanwhile."""
    await session.execute(_INSERT_DEFINITIONS, {c: [r[c] for r in rows] for c in rows[0]})


async def copy_touches(session: AsyncSession, columns: Sequence[str], records: list[tuple[Any, ...]]) -> None:
    """COPY touch records (tuples in the order of `columns`; `payload` as JSON text) in the
    session's transaction. Columns left out take their defaults (the id: `gen_random_uuid()`)."""
    if records:
        await (await driver(session)).copy_records_to_table("touches", records=records, columns=list(columns))


async def copy_touch_rows(session: AsyncSession, columns: Sequence[str], rows: AsyncIterable[bytes]) -> None:
    """COPY touches already encoded in binary COPY form (`wafa_shared.pgcopy`), streamed."""
    await pgcopy.copy_binary(await driver(session), "touches", columns, rows)


async def insert_touches(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert touches (dicts with the same keys, e.g. `TOUCH_COLUMNS`) with COPY."""
    if not rows:
        return
    columns = list(rows[0])
    await copy_touches(session, columns, [tuple(orjson.dumps(r[c]).decode() if c == "payload" else r[c] for c in columns) for r in rows])


_INSERT_ENROLMENTS = DriverSql(
    """
    INSERT INTO enrolments (id, plan_id, customer_id, dedupe_key, status, holdout, bucket, trigger, anchor_at, enrolled_at)
    SELECT * FROM unnest(CAST(:id AS uuid[]), CAST(:plan_id AS uuid[]), CAST(:customer_id AS uuid[]), CAST(:dedupe_key AS uuid[]),
      CAST(:status AS text[]), CAST(:holdout AS boolean[]), CAST(:bucket AS int[]), CAST(:trigger AS text[]),
      CAST(:anchor_at AS timestamptz[]), CAST(:enrolled_at AS timestamptz[]))
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id
    """
)


async def insert_enrolments(session: AsyncSession, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    """Insert enrolments in one statement whatever their number, ignoring duplicates on
    `dedupe_key`; returns the ids inserted."""
    if not rows:
        return set()
    await session.flush()
    inserted = await _INSERT_ENROLMENTS.fetch(session, {c: [r[c] for r in rows] for c in _INSERT_ENROLMENTS.names})
    return {r[0] for r in inserted}


_ANNOUNCE = text(
    """
    WITH due AS (
      SELECT id FROM touches
      WHERE status = 'scheduled' AND scheduled_announced_at IS NULL
        AND due_at > COALESCE(CAST(:after AS timestamptz), '-infinity') AND due_at <= :horizon
      ORDER BY due_at LIMIT :limit FOR UPDATE SKIP LOCKED
    )
    UPDATE touches t SET scheduled_announced_at = :now
    FROM due WHERE t.id = due.id
    RETURNING t.id, t.customer_id, t.plan_id, t.channel, t.due_at
    """
)


async def mark_announced(session: AsyncSession, now: datetime, after: datetime | None, horizon: datetime, limit: int) -> list[Any]:
    """Claim up to `limit` scheduled touches due in (`after`, `horizon`] not announced yet, in
    due order (SKIP LOCKED: a touch a dispatcher holds is announced by it), and mark them
    announced at `now`; returns (id, customer_id, plan_id, channel, due_at) of each."""
    params = {"now": now, "after": after, "horizon": horizon, "limit": limit}
    return list((await session.execute(_ANNOUNCE, params)).all())


_ENSURE_HORIZON = text("INSERT INTO announce_horizon (id, horizon) VALUES (1, NULL) ON CONFLICT (id) DO NOTHING")


async def lock_horizon(session: AsyncSession) -> datetime | None:
    """The announce horizon, locked for update until the transaction ends: writers of touches
    (`shared_horizon`) wait, so none commits a touch behind the job's back."""
    await session.execute(_ENSURE_HORIZON)
    return await session.scalar(select(AnnounceHorizon.horizon).where(AnnounceHorizon.id == 1).with_for_update())


async def shared_horizon(session: AsyncSession) -> datetime | None:
    """The announce horizon, share-locked until the transaction ends (the job cannot move it
    meanwhile): a touch written due on or before it must be announced by its writer."""
    q = select(AnnounceHorizon.horizon).where(AnnounceHorizon.id == 1).with_for_update(read=True)
    row = (await session.execute(q)).first()
    if row is None:  # emptied tables (tests): the job has not run, nothing is behind it
        await session.execute(_ENSURE_HORIZON)
        return None
    return row[0]


async def set_horizon(session: AsyncSession, horizon: datetime) -> None:
    await session.execute(update(AnnounceHorizon).where(AnnounceHorizon.id == 1).values(horizon=horizon))


async def set_announced(session: AsyncSession, ids: list[uuid.UUID], now: datetime) -> None:
    if ids:
        await session.execute(update(Touch).where(Touch.id.in_(ids)).values(scheduled_announced_at=now))


async def active_enrolment(session: AsyncSession, plan_id: uuid.UUID, customer_id: uuid.UUID) -> Enrolment | None:
    return await session.scalar(
        select(Enrolment)
        .where(Enrolment.plan_id == plan_id, Enrolment.customer_id == customer_id, Enrolment.status.in_(("active", "holdout")))
        .order_by(Enrolment.enrolled_at.desc())
        .limit(1)
    )


async def fact_touches(session: AsyncSession, enrolment: Enrolment, def_keys: list[str], reasons: Sequence[str]) -> Sequence[Touch]:
    """An enrolment's touches of `def_keys` that may still be re-dated: scheduled, or skipped
    for a missing fact."""
    return (
        await session.scalars(
            select(Touch).where(
                Touch.enrolment_id == enrolment.id,
                Touch.definition_id.in_(select(TouchDefinition.id).where(TouchDefinition.def_key.in_(def_keys))),
                (Touch.status == "scheduled") | ((Touch.status == "skipped") & Touch.reason.in_(list(reasons))),
            )
        )
    ).all()


async def customer_enrolments(session: AsyncSession, customer_id: uuid.UUID) -> Sequence[Enrolment]:
    return (await session.scalars(select(Enrolment).where(Enrolment.customer_id == customer_id).order_by(Enrolment.enrolled_at, Enrolment.id))).all()


async def skip_scheduled(session: AsyncSession, where: Any, reason: str) -> list[Touch]:
    """Mark matching touches that have not reached the customer yet skipped — scheduled ones and
    messages still in their delivery retries — and return them (for the events). A withdrawn
    consent or an erasure must stop a retry as surely as a future touch."""
    stmt = update(Touch).where(Touch.status.in_(("scheduled", "dispatching")), where).values(status="skipped", reason=reason).returning(Touch)
    rows = (await session.scalars(stmt)).all()
    return list(rows)


async def cancel_open_tasks(session: AsyncSession, customer_id: uuid.UUID) -> None:
    await session.execute(update(Task).where(Task.customer_id == customer_id, Task.status == "open").values(status="cancelled", outcome="customer-erased"))


async def get_policy(session: AsyncSession) -> FatiguePolicyRow | None:
    return await session.get(FatiguePolicyRow, 1)


async def save_policy(session: AsyncSession, values: dict[str, Any]) -> None:
    stmt = pg_insert(FatiguePolicyRow).values(id=1, **values)
    await session.execute(stmt.on_conflict_do_update(index_elements=[FatiguePolicyRow.id], set_={**values, "updated_at": func.now()}))


async def lease_due(session: AsyncSession, now: datetime, limit: int, customer_ids: list[uuid.UUID] | None = None) -> Sequence[Touch]:
    """Scheduled touches due by `now`, locked (SKIP LOCKED: replicas share the work), highest
    priority first per customer."""
    q = select(Touch).where(SCHEDULED, Touch.due_at <= now)
    if customer_ids is not None:
        q = q.where(of_customers(customer_ids))
    q = q.order_by(Touch.due_at).limit(limit).with_for_update(skip_locked=True)
    return (await session.scalars(q)).all()


_LOCK_CUSTOMERS = text(
    "SELECT count(pg_advisory_xact_lock(k)) FROM "
    "(SELECT DISTINCT hashtextextended(CAST(c AS text), 7) AS k FROM unnest(CAST(:ids AS uuid[])) AS c ORDER BY k) s"
)


async def lock_customers(session: AsyncSession, ids: Iterable[uuid.UUID]) -> None:
    """Serialise fatigue decisions per customer across replicas until the transaction ends
    (locks taken in one global order, so two dispatchers cannot deadlock)."""
    await session.execute(_LOCK_CUSTOMERS, {"ids": sorted(ids)})


async def contact_history(session: AsyncSession, customer_ids: Iterable[uuid.UUID], since: datetime) -> dict[uuid.UUID, list[datetime]]:
    rows = await session.execute(
        select(Touch.customer_id, Touch.sent_at).where(Touch.customer_id.in_(list(customer_ids)), Touch.sent_at > since, Touch.status.in_(CONTACTED))
    )
    out: dict[uuid.UUID, list[datetime]] = {}
    for cid, at in rows:
        if at is not None:
            out.setdefault(cid, []).append(at)
    return out


async def plan_spend(session: AsyncSession, plan_ids: Iterable[uuid.UUID], since: datetime) -> dict[uuid.UUID, Decimal]:
    rows = await session.execute(
        select(Touch.plan_id, func.sum(TouchDefinition.cost))
        .join(TouchDefinition, TouchDefinition.id == Touch.definition_id)
        .where(Touch.plan_id.in_(list(plan_ids)), Touch.sent_at >= since, Touch.status.in_(CONTACTED))
        .group_by(Touch.plan_id)
    )
    return {pid: total for pid, total in rows if pid is not None}


async def plans_by_id(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Plan]:
    rows = (await session.scalars(select(Plan).where(Plan.id.in_(list(ids))))).all()
    return {p.id: p for p in rows}


async def bulk_update_touches(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """UPDATE by primary key, grouped by the set of columns changed."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(sorted(r)), []).append(r)
    for group in groups.values():
        await session.execute(update(Touch), group)


_LOCK_TEAM = text("SELECT name, active, assigned_count FROM team_members WHERE active OR name = ANY(:owners) ORDER BY name FOR UPDATE")
_COUNT_ASSIGNMENTS = text(
    "UPDATE team_members m SET assigned_count = m.assigned_count + a.n "
    "FROM unnest(CAST(:names AS text[]), CAST(:counts AS bigint[])) AS a(name, n) WHERE m.name = a.name"
)


async def assign(session: AsyncSession, owners: list[str | None]) -> list[str | None]:
    """One assignee per new task: its customer's owner, else round robin (the active member with
    the fewest assignments so far, ties by name). The members are locked in name order and
    counted in one statement, so concurrent dispatchers neither deadlock nor pick from a stale
    count. None where there is neither an owner nor an active member."""
    named = sorted({o for o in owners if o})
    rows = (await session.execute(_LOCK_TEAM, {"owners": named})).all()
    counts = {r.name: r.assigned_count for r in rows}
    active = [r.name for r in rows if r.active]
    added: dict[str, int] = {}
    picked: list[str | None] = []
    for owner in owners:
        name = owner or (min(active, key=lambda n: (counts[n], n)) if active else None)
        if name is not None and name in counts:
            counts[name] += 1
            added[name] = added.get(name, 0) + 1
        picked.append(name)
    if added:
        await session.execute(_COUNT_ASSIGNMENTS, {"names": list(added), "counts": list(added.values())})
    return picked


async def endpoints(session: AsyncSession) -> dict[str, ChannelEndpoint]:
    return {e.channel: e for e in (await session.scalars(select(ChannelEndpoint))).all()}


_LEASE_DELIVERIES = text(
    """
    WITH due AS (
      SELECT id FROM touches WHERE status = 'dispatching' AND next_attempt_at <= :now
      ORDER BY next_attempt_at LIMIT :limit FOR UPDATE SKIP LOCKED
    )
    UPDATE touches t SET next_attempt_at = CAST(:now AS timestamptz) + interval '2 minutes'
    FROM due WHERE t.id = due.id
    RETURNING t.id
    """
)


async def lease_deliveries(session: AsyncSession, now: datetime, limit: int) -> list[Touch]:
    ids = list((await session.execute(_LEASE_DELIVERIES, {"now": now, "limit": limit})).scalars().all())
    if not ids:
        return []
    return list((await session.scalars(select(Touch).where(Touch.id.in_(ids)))).all())


# Touches in time order; undated ones (skipped when planned) by their creation.
TIMELINE_ORDER = func.coalesce(Touch.due_at, Touch.created_at)


def timeline_query(customer_id: uuid.UUID) -> Select[Touch]:
    return select(Touch).where(of_customers([customer_id]))


def touches_query(status: str | None, due_before: datetime | None, customer_id: uuid.UUID | None) -> Select[Touch]:
    q = select(Touch).where(Touch.due_at.is_not(None))
    if status:
        # Inline, so that the plan can pick the partial index that holds this status.
        q = q.where(Touch.status == bindparam("status", status, literal_execute=True))
    if due_before:
        q = q.where(Touch.due_at < due_before)
    if customer_id:
        q = q.where(of_customers([customer_id]))
    return q


def tasks_query(status: str | None, assignee: str | None, customer_id: uuid.UUID | None) -> Select[Task]:
    q = select(Task)
    if status:
        q = q.where(Task.status == status)
    if assignee:
        q = q.where(Task.assignee == assignee)
    if customer_id:
        q = q.where(Task.customer_id == customer_id)
    return q


async def load_per_day(session: AsyncSession, start: datetime, end: datetime) -> list[tuple[Any, str, int]]:
    day = func.date_trunc("day", Touch.due_at)
    rows = await session.execute(
        select(day, Touch.channel, func.count())
        .where(SCHEDULED, Touch.due_at >= start, Touch.due_at < end)
        .group_by(day, Touch.channel)
        .order_by(day, Touch.channel)
    )
    return [(d, c, n) for d, c, n in rows]


async def overdue_tasks(session: AsyncSession, now: datetime) -> list[tuple[str, int, datetime]]:
    rows = await session.execute(
        select(Task.assignee, func.count(), func.min(Task.due_at))
        .where(Task.status == "open", Task.due_at < now)
        .group_by(Task.assignee)
        .order_by(Task.assignee)
    )
    return [(a, n, d) for a, n, d in rows]


async def skipped_by_reason(session: AsyncSession, since: datetime | None) -> list[tuple[str, int]]:
    q = select(Touch.reason, func.count()).where(SKIPPED)
    if since is not None:
        q = q.where(Touch.created_at >= since)
    rows = await session.execute(q.group_by(Touch.reason).order_by(func.count().desc(), Touch.reason))
    return [(r or "", n) for r, n in rows]


def month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month_start(now: datetime) -> datetime:
    start = month_start(now)
    return (start + timedelta(days=32)).replace(day=1)
