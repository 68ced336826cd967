"""Set-based queries of the purchase path: a constant number of statements per purchase or batch.

- `lock_members`: the members locked (`FOR UPDATE`, in id order) and which of them have a
  referral bonus awaiting their first purchase, one statement; `known_orders`: the orders
  already recorded, one statement.
- `write_purchases`: one statement (data-modifying CTEs over `unnest` arrays) that inserts the
  purchases (`ON CONFLICT (order_id) DO NOTHING`), and only if they were inserted: their ledger
  entries, point lots and qualifying credits, and the members' new balances; it also returns
  each requested member's qualifying credit in its window as of before this statement (its
  snapshot is taken after the member locks are held, so every earlier change is counted).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_shared.db import DriverSql, Target
from wafa_shared.outbox import OUTBOX_INSERT_SQL, outbox_params, outbox_written

_MEMBER = "m.customer_id, m.program_id, m.birth_date, m.tier, m.tier_rank, m.available, m.pending, m.purchases, m.last_activity_at, m.erased"
_PURCHASE = "p.id, p.order_id, p.customer_id, p.amount, p.refunded_amount, p.currency, p.occurred_at, p.points, p.qualifying, p.first_purchase, p.fingerprint"

_LOCK_MANY = DriverSql(
    "WITH awaiting AS (SELECT r.referee_id, r.advocate_id FROM referral_bonuses r "
    "WHERE r.referee_id = ANY(CAST(:ids AS uuid[])) AND r.state = 'awaiting_purchase') "
    f"SELECT {_MEMBER}, m.purchases = 0 AND m.customer_id IN (SELECT referee_id FROM awaiting) "
    "FROM members m WHERE m.customer_id = ANY(CAST(:ids AS uuid[]) || ARRAY(SELECT advocate_id FROM awaiting)) "
    "ORDER BY m.customer_id FOR UPDATE OF m"
)
_KNOWN = DriverSql(f"SELECT {_PURCHASE} FROM purchases p WHERE p.order_id = ANY(CAST(:orders AS text[]))")

_WRITE = DriverSql(
    """
WITH p AS (
  INSERT INTO purchases (id, order_id, customer_id, amount, refunded_amount, currency, occurred_at, channel, store, lines, points,
                         qualifying, first_purchase, fingerprint)
  SELECT u.id, u.order_id, u.customer_id, u.amount, 0, u.currency, u.occurred_at, u.channel, u.store, CAST(u.lines AS jsonb), u.points,
         u.qualifying, u.first_purchase, u.fingerprint
  FROM unnest(CAST(:p_id AS uuid[]), CAST(:p_order AS text[]), CAST(:p_customer AS uuid[]), CAST(:p_amount AS text[])::numeric[],
              CAST(:p_currency AS text[]), CAST(:p_at AS timestamptz[]), CAST(:p_channel AS text[]), CAST(:p_store AS text[]),
              CAST(:p_lines AS text[]), CAST(:p_points AS text[])::numeric[], CAST(:p_qualifying AS text[])::numeric[], CAST(:p_first AS boolean[]),
              CAST(:p_fingerprint AS text[]))
       WITH ORDINALITY AS u(id, order_id, customer_id, amount, currency, occurred_at, channel, store, lines, points, qualifying,
                            first_purchase, fingerprint, ord)
  WHERE true
  ORDER BY u.ord
  ON CONFLICT (order_id) DO NOTHING
  RETURNING id
), le AS (
  INSERT INTO ledger_entries (customer_id, kind, points, pending_delta, balance_after, pending_after, rule, purchase_id, detail, occurred_at)
  SELECT u.customer_id, u.kind, u.points, u.pending_delta, u.balance_after, u.pending_after, u.rule, u.purchase_id, CAST(u.detail AS jsonb),
         u.occurred_at
  FROM unnest(CAST(:l_customer AS uuid[]), CAST(:l_kind AS text[]), CAST(:l_points AS text[])::numeric[], CAST(:l_pending AS text[])::numeric[],
              CAST(:l_balance AS text[])::numeric[], CAST(:l_pending_after AS text[])::numeric[], CAST(:l_rule AS text[]), CAST(:l_purchase AS uuid[]),
              CAST(:l_detail AS text[]), CAST(:l_at AS timestamptz[]))
       WITH ORDINALITY AS u(customer_id, kind, points, pending_delta, balance_after, pending_after, rule, purchase_id, detail, occurred_at, ord)
  WHERE u.purchase_id IN (SELECT id FROM p)
  ORDER BY u.ord
), lo AS (
  INSERT INTO point_lots (customer_id, purchase_id, rule, points, remaining, state, earned_at, matures_at, expires_at)
  SELECT u.customer_id, u.purchase_id, u.rule, u.points, u.remaining, u.state, u.earned_at, u.matures_at, u.expires_at
  FROM unnest(CAST(:o_customer AS uuid[]), CAST(:o_purchase AS uuid[]), CAST(:o_rule AS text[]), CAST(:o_points AS text[])::numeric[],
              CAST(:o_remaining AS text[])::numeric[], CAST(:o_state AS text[]), CAST(:o_earned AS timestamptz[]), CAST(:o_matures AS timestamptz[]),
              CAST(:o_expires AS timestamptz[]))
       WITH ORDINALITY AS u(customer_id, purchase_id, rule, points, remaining, state, earned_at, matures_at, expires_at, ord)
  WHERE u.purchase_id IN (SELECT id FROM p)
  ORDER BY u.ord
), qc AS (
  INSERT INTO qualifying_credits (customer_id, purchase_id, amount, credited_at)
  SELECT u.customer_id, u.purchase_id, u.amount, u.credited_at
  FROM unnest(CAST(:c_customer AS uuid[]), CAST(:c_purchase AS uuid[]), CAST(:c_amount AS text[])::numeric[], CAST(:c_at AS timestamptz[]))
       WITH ORDINALITY AS u(customer_id, purchase_id, amount, credited_at, ord)
  WHERE u.purchase_id IN (SELECT id FROM p)
  ORDER BY u.ord
), mu AS (
  UPDATE members AS m
  SET available = u.available, pending = u.pending, purchases = u.purchases, last_activity_at = u.last_activity_at
  FROM unnest(CAST(:m_customer AS uuid[]), CAST(:m_available AS text[])::numeric[], CAST(:m_pending AS text[])::numeric[], CAST(:m_purchases AS integer[]),
              CAST(:m_last AS timestamptz[])) AS u(customer_id, available, pending, purchases, last_activity_at)
  WHERE m.customer_id = u.customer_id AND (SELECT count(*) FROM p) = :n
), ob AS (
  """
    + OUTBOX_INSERT_SQL
    + """
  WHERE (SELECT count(*) FROM p) = :n
)
SELECT (SELECT count(*) FROM p) AS inserted,
       ARRAY(SELECT (SELECT coalesce(sum(q.amount), 0) FROM qualifying_credits q
                     WHERE q.customer_id = w.customer_id AND q.credited_at >= w.w_start AND q.credited_at < w.w_end)
             FROM unnest(CAST(:w_customer AS uuid[]), CAST(:w_start AS timestamptz[]), CAST(:w_end AS timestamptz[]))
                  WITH ORDINALITY AS w(customer_id, w_start, w_end, ord)
             ORDER BY w.ord) AS credits
"""
)

_SET_TIERS = DriverSql("""
UPDATE members AS m SET tier = u.tier, tier_rank = u.tier_rank, tier_since = u.since, tier_review_at = u.review_at
FROM unnest(CAST(:customer AS uuid[]), CAST(:tier AS text[]), CAST(:rank AS integer[]), CAST(:since AS timestamptz[]),
            CAST(:review AS timestamptz[])) AS u(customer_id, tier, tier_rank, since, review_at)
WHERE m.customer_id = u.customer_id
""")

_CAP_USAGE = DriverSql("""
SELECT (SELECT coalesce(sum(e.points + e.pending_delta), 0) FROM ledger_entries e
        WHERE e.customer_id = w.customer_id AND e.rule = w.rule AND e.kind IN ('earn', 'pending')
          AND e.occurred_at >= w.w_start AND e.occurred_at < w.w_end)
FROM unnest(CAST(:customer AS uuid[]), CAST(:rule AS text[]), CAST(:start AS timestamptz[]), CAST(:end AS timestamptz[]))
     WITH ORDINALITY AS w(customer_id, rule, w_start, w_end, ord)
ORDER BY w.ord
""")


@dataclass
class MemberState:
    """The locked member row, changed in memory and written back by `write_purchases`."""

    customer_id: uuid.UUID
    program_id: uuid.UUID
    birth_date: date | None
    tier: str | None
    tier_rank: int | None
    available: Decimal
    pending: Decimal
    purchases: int
    last_activity_at: datetime | None
    erased: bool


@dataclass
class KnownPurchase:
    id: uuid.UUID
    order_id: str
    customer_id: uuid.UUID
    amount: Decimal
    refunded_amount: Decimal
    currency: str
    occurred_at: datetime
    points: Decimal
    qualifying: Decimal
    first_purchase: bool
    fingerprint: str


def _member(row: Any) -> MemberState:
    return MemberState(*tuple(row)[:10])


async def lock_members(session: AsyncSession, ids: list[uuid.UUID]) -> tuple[dict[uuid.UUID, MemberState], set[uuid.UUID]]:
    """Lock these members, and the advocates whose referral bonus awaits one of them, in id
    order (so concurrent batches cannot deadlock: a first purchase credits its advocate); also
    which of them are referees whose referral bonus awaits their first purchase."""
    rows = await _LOCK_MANY.fetch(session, {"ids": sorted(set(ids))})
    return {r[0]: _member(r) for r in rows}, {r[0] for r in rows if r[10]}


async def known_orders(session: AsyncSession, order_ids: list[str]) -> dict[str, KnownPurchase]:
    rows = await _KNOWN.fetch(session, {"orders": list(set(order_ids))})
    return {r[1]: KnownPurchase(*r) for r in rows}


async def cap_usage(session: AsyncSession, keys: list[tuple[uuid.UUID, str, datetime, datetime]]) -> list[Decimal]:
    """Points already earned per (member, rule, [start, end)), in the order of `keys`."""
    if not keys:
        return []
    cols = list(zip(*keys, strict=True))
    rows = await _CAP_USAGE.fetch(session, {"customer": list(cols[0]), "rule": list(cols[1]), "start": list(cols[2]), "end": list(cols[3])})
    return [Decimal(r[0]) for r in rows]


_P_KEYS: tuple[str, ...] = (
    "p_id",
    "p_order",
    "p_customer",
    "p_amount",
    "p_currency",
    "p_at",
    "p_channel",
    "p_store",
    "p_lines",
    "p_points",
    "p_qualifying",
    "p_first",
    "p_fingerprint",
)
_L_KEYS: tuple[str, ...] = ("l_customer", "l_kind", "l_points", "l_pending", "l_balance", "l_pending_after", "l_rule", "l_purchase", "l_detail", "l_at")
_O_KEYS: tuple[str, ...] = ("o_customer", "o_purchase", "o_rule", "o_points", "o_remaining", "o_state", "o_earned", "o_matures", "o_expires")
_C_KEYS: tuple[str, ...] = ("c_customer", "c_purchase", "c_amount", "c_at")


@dataclass
class Writes:
    """Rows of one `write_purchases` statement, column by column."""

    purchases: dict[str, list[Any]] = field(default_factory=lambda: {k: [] for k in _P_KEYS})
    ledger: dict[str, list[Any]] = field(default_factory=lambda: {k: [] for k in _L_KEYS})
    lots: dict[str, list[Any]] = field(default_factory=lambda: {k: [] for k in _O_KEYS})
    credits: dict[str, list[Any]] = field(default_factory=lambda: {k: [] for k in _C_KEYS})

    @property
    def count(self) -> int:
        return len(self.purchases["p_id"])


def _append(columns: dict[str, list[Any]], values: tuple[Any, ...]) -> None:
    for key, value in zip(columns, values, strict=True):
        columns[key].append(value)


def add_purchase(w: Writes, *values: Any) -> None:
    _append(w.purchases, values)


def add_ledger(w: Writes, *values: Any) -> None:
    _append(w.ledger, values)


def add_lot(w: Writes, *values: Any) -> None:
    _append(w.lots, values)


def add_credit(w: Writes, *values: Any) -> None:
    _append(w.credits, values)


_AS_TEXT = ("p_amount", "p_points", "p_qualifying", "l_points", "l_pending", "l_balance", "l_pending_after", "o_points", "o_remaining", "c_amount")
"""Numeric columns of `_WRITE`, sent as text: asyncpg's binary numeric encoding and
PostgreSQL's decoding of it cost 1.06 µs a value, text and `numeric_in` 0.44 µs."""


def write_params(
    session: AsyncSession,
    w: Writes,
    members: list[MemberState],
    windows: list[tuple[uuid.UUID, datetime, datetime]],
    events: list[dict[str, Any]],
    headers: list[str],
) -> dict[str, Any]:
    """The parameters of `write_purchases`, the members' balances copied as they are now (the
    batch plans its next part while this one is written)."""
    params: dict[str, Any] = {**w.purchases, **w.ledger, **w.lots, **w.credits, **outbox_params(session, events, headers), "n": w.count}
    params.update({key: [str(v) for v in params[key]] for key in _AS_TEXT})
    params.update(
        m_customer=[m.customer_id for m in members],
        m_available=[str(m.available) for m in members],
        m_pending=[str(m.pending) for m in members],
        m_purchases=[m.purchases for m in members],
        m_last=[m.last_activity_at for m in members],
        w_customer=[c for c, _, _ in windows],
        w_start=[s for _, s, _ in windows],
        w_end=[e for _, _, e in windows],
    )
    return params


async def write_purchases(session: AsyncSession, conn: asyncpg.Connection, params: dict[str, Any]) -> tuple[int, list[Decimal]]:
    """Write everything in one statement on the session's driver connection `conn`, the
    purchases' events in the outbox included (a round trip fewer per purchase). Returns how
    many purchases were inserted (the others' order ids were recorded concurrently: then no
    balance or event was written, and the caller rolls back) and the qualifying credit of each window (`w_*`) before this
    statement."""
    row = await _WRITE.fetchrow(conn, params)
    assert row is not None
    if params["ids"] and row[0] == params["n"]:
        outbox_written(session)
    return int(row[0]), [Decimal(c) for c in row[1]]


async def set_tiers(session: AsyncSession, rows: list[tuple[uuid.UUID, str, int, datetime, datetime]]) -> None:
    if rows:
        cols = list(zip(*rows, strict=True))
        await _SET_TIERS.execute(
            session, {"customer": list(cols[0]), "tier": list(cols[1]), "rank": list(cols[2]), "since": list(cols[3]), "review": list(cols[4])}
        )


_VIEW = DriverSql("""
SELECT m.program_id, m.tier, m.tier_rank, m.tier_since, m.tier_review_at, m.subscription_tier, m.subscription_ends_at, m.available, m.pending,
       m.last_activity_at,
       (SELECT coalesce(sum(q.amount), 0) FROM qualifying_credits q
        WHERE q.customer_id = m.customer_id AND q.credited_at >= :cal_start AND q.credited_at < :cal_end) AS credit_calendar,
       (SELECT coalesce(sum(q.amount), 0) FROM qualifying_credits q
        WHERE q.customer_id = m.customer_id AND q.credited_at >= :roll_start AND q.credited_at < :roll_end) AS credit_rolling,
       (SELECT coalesce(sum(l.remaining), 0) FROM point_lots l
        WHERE l.customer_id = m.customer_id AND l.state = 'available' AND l.remaining > 0 AND l.expires_at <= :horizon) AS expiring
FROM members m WHERE m.customer_id = :customer_id
""")


class MemberView(NamedTuple):
    """A row of `_VIEW`, in its column order."""

    program_id: uuid.UUID
    tier: str | None
    tier_rank: int | None
    tier_since: datetime | None
    tier_review_at: datetime | None
    subscription_tier: str | None
    subscription_ends_at: datetime | None
    available: Decimal
    pending: Decimal
    last_activity_at: datetime | None
    credit_calendar: Decimal
    credit_rolling: Decimal
    expiring: Decimal


Windows = dict[str, tuple[datetime, datetime]]


async def member_view_row(on: Target, customer_id: uuid.UUID, windows: Windows, horizon: datetime) -> MemberView | None:
    """The member with its qualifying credit in both kinds of window (calendar year, rolling 12
    months: the program decides which counts) and its points expiring before `horizon`; one
    statement on a driver connection (member lookups are the hottest read): in the session's
    transaction, or on a pooled connection outside any (`db.driver_connection`)."""
    (cal_start, cal_end), (roll_start, roll_end) = windows["calendar_year"], windows["rolling_12m"]
    params = {"customer_id": customer_id, "cal_start": cal_start, "cal_end": cal_end, "roll_start": roll_start, "roll_end": roll_end, "horizon": horizon}
    record = await _VIEW.fetchrow(on, params)
    return MemberView(*record) if record is not None else None
