"""Set-based application of consumed events into the read model.

Handlers `queue` rows; everything queued in one consumer transaction is written just before it
commits, one statement per kind (not one per run of consecutive events of a type: on a topic
where types interleave, runs are short). The statements run in a fixed order (profiles before
erasures, purchases before refunds) and each is order-independent within its kind, so the
result does not depend on how events were split into batches.

Every statement is keyed by the producer's natural id (purchase, refund, response, touch...)
with `ON CONFLICT`, so an event applied twice - even re-published under a new event id - changes
nothing; aggregates (`a_daily`, `a_customers` counters) are only bumped by the rows the same
statement actually inserted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from wafa_analytics.context import settings_of

_PURCHASES = text("""
WITH src AS (
  SELECT DISTINCT ON (purchase_id) * FROM unnest(
    CAST(:purchase_id AS uuid[]), CAST(:customer_id AS uuid[]), CAST(:amount AS numeric[]),
    CAST(:currency AS text[]), CAST(:occurred_at AS timestamptz[]), CAST(:channel AS text[])
  ) AS s(purchase_id, customer_id, amount, currency, occurred_at, channel)
),
ins AS (
  INSERT INTO a_purchases (purchase_id, customer_id, amount, currency, occurred_at, channel)
  SELECT * FROM src ON CONFLICT DO NOTHING RETURNING *
),
daily AS (
  INSERT INTO a_daily (day, currency, orders, revenue, refunds)
  SELECT CAST(occurred_at AT TIME ZONE 'UTC' AS date), currency, count(*), sum(amount), 0 FROM ins GROUP BY 1, 2
  ON CONFLICT (day, currency) DO UPDATE
    SET orders = a_daily.orders + EXCLUDED.orders, revenue = a_daily.revenue + EXCLUDED.revenue
)
INSERT INTO a_customers (customer_id, first_purchase_at, last_purchase_at, purchase_count, revenue)
SELECT customer_id, min(occurred_at), max(occurred_at), count(*), sum(amount) FROM ins GROUP BY customer_id
ON CONFLICT (customer_id) DO UPDATE SET
  first_purchase_at = LEAST(a_customers.first_purchase_at, EXCLUDED.first_purchase_at),
  last_purchase_at = GREATEST(a_customers.last_purchase_at, EXCLUDED.last_purchase_at),
  purchase_count = a_customers.purchase_count + EXCLUDED.purchase_count,
  revenue = a_customers.revenue + EXCLUDED.revenue
""")

# Spells of the given customers recomputed from their purchases (gaps and islands): a purchase
# more than a window after the previous one starts a new spell. Recomputing (rather than
# extending) keeps late, out-of-order purchases exact.
SPELLS_SQL = """
DELETE FROM a_spells WHERE {scope};
INSERT INTO a_spells (customer_id, start_at, end_at)
SELECT customer_id, min(occurred_at), max(occurred_at) + make_interval(days => CAST(:window_days AS int))
FROM (
  SELECT customer_id, occurred_at, sum(brk) OVER (PARTITION BY customer_id ORDER BY occurred_at) AS island
  FROM (
    SELECT customer_id, occurred_at,
      CASE WHEN occurred_at <= lag(occurred_at) OVER w + make_interval(days => CAST(:window_days AS int)) THEN 0 ELSE 1 END AS brk
    FROM a_purchases WHERE {scope} WINDOW w AS (PARTITION BY customer_id ORDER BY occurred_at)
  ) x
) y GROUP BY customer_id, island
"""
_SPELLS_DELETE = text(SPELLS_SQL.split(";")[0].format(scope="customer_id = ANY(CAST(:customers AS uuid[]))"))
_SPELLS_INSERT = text(SPELLS_SQL.split(";")[1].format(scope="customer_id = ANY(CAST(:customers AS uuid[]))"))
SPELLS_DELETE_ALL = text("DELETE FROM a_spells")

# Each purchase's links to the customer's two previous purchases; only changed rows are written.
# The scope bounds both sides of the join, so the rows to update are found by the customer index
# rather than by a scan of every purchase (whatever the planner guesses of the array's size).
PREV_SQL = """
UPDATE a_purchases p SET prev_at = x.prev_at, prev2_at = x.prev2_at
FROM (
  SELECT purchase_id, lag(occurred_at) OVER w AS prev_at, lag(occurred_at, 2) OVER w AS prev2_at
  FROM a_purchases WHERE {scope} WINDOW w AS (PARTITION BY customer_id ORDER BY occurred_at, purchase_id)
) x
WHERE {outer} AND p.purchase_id = x.purchase_id AND (p.prev_at IS DISTINCT FROM x.prev_at OR p.prev2_at IS DISTINCT FROM x.prev2_at)
"""
_PREV = text(PREV_SQL.format(scope="customer_id = ANY(CAST(:customers AS uuid[]))", outer="p.customer_id = ANY(CAST(:customers AS uuid[]))"))
PREV_ALL = text(PREV_SQL.format(scope="true", outer="true"))
SPELLS_INSERT_ALL = text(SPELLS_SQL.split(";")[1].format(scope="true"))

_REFUNDS = text("""
WITH src AS (
  SELECT DISTINCT ON (refund_id) * FROM unnest(
    CAST(:refund_id AS uuid[]), CAST(:purchase_id AS uuid[]), CAST(:customer_id AS uuid[]),
    CAST(:amount AS numeric[]), CAST(:currency AS text[]), CAST(:occurred_at AS timestamptz[])
  ) AS s(refund_id, purchase_id, customer_id, amount, currency, occurred_at)
),
ins AS (
  INSERT INTO a_refunds (refund_id, purchase_id, customer_id, amount, currency, occurred_at)
  SELECT * FROM src ON CONFLICT DO NOTHING RETURNING *
)
INSERT INTO a_daily (day, currency, orders, revenue, refunds)
SELECT CAST(occurred_at AT TIME ZONE 'UTC' AS date), currency, 0, 0, sum(amount) FROM ins GROUP BY 1, 2
ON CONFLICT (day, currency) DO UPDATE SET refunds = a_daily.refunds + EXCLUDED.refunds
""")

_REGISTERED = text("""
INSERT INTO a_customers (customer_id, kind, registered_at, referred_by, display_name, email)
SELECT DISTINCT ON (customer_id) * FROM unnest(
  CAST(:customer_id AS uuid[]), CAST(:kind AS text[]), CAST(:registered_at AS timestamptz[]),
  CAST(:referred_by AS uuid[]), CAST(:display_name AS text[]), CAST(:email AS text[])
) AS s(customer_id, kind, registered_at, referred_by, display_name, email)
ON CONFLICT (customer_id) DO UPDATE SET
  kind = EXCLUDED.kind, registered_at = EXCLUDED.registered_at, referred_by = EXCLUDED.referred_by,
  display_name = CASE WHEN a_customers.erased_at IS NULL THEN EXCLUDED.display_name END,
  email = CASE WHEN a_customers.erased_at IS NULL THEN EXCLUDED.email END
""")

_UPDATED = text("""
UPDATE a_customers c SET kind = s.kind, display_name = s.display_name, email = s.email
FROM unnest(CAST(:customer_id AS uuid[]), CAST(:kind AS text[]), CAST(:display_name AS text[]), CAST(:email AS text[]))
  AS s(customer_id, kind, display_name, email)
WHERE c.customer_id = s.customer_id AND c.erased_at IS NULL
""")

_ERASED = text("""
INSERT INTO a_customers (customer_id, erased_at)
SELECT DISTINCT ON (customer_id) * FROM unnest(CAST(:customer_id AS uuid[]), CAST(:erased_at AS timestamptz[])) AS s(customer_id, erased_at)
ON CONFLICT (customer_id) DO UPDATE SET display_name = NULL, email = NULL,
  erased_at = COALESCE(a_customers.erased_at, EXCLUDED.erased_at)
""")

_TIER = text("""
INSERT INTO a_customers (customer_id, tier, tier_changed_at)
SELECT DISTINCT ON (customer_id) customer_id, tier, at FROM unnest(
  CAST(:customer_id AS uuid[]), CAST(:tier AS text[]), CAST(:at AS timestamptz[])
) AS s(customer_id, tier, at) ORDER BY customer_id, at DESC
ON CONFLICT (customer_id) DO UPDATE SET tier = EXCLUDED.tier, tier_changed_at = EXCLUDED.tier_changed_at
WHERE a_customers.tier_changed_at IS NULL OR a_customers.tier_changed_at <= EXCLUDED.tier_changed_at
""")

_REFERRALS = text("""
INSERT INTO a_referrals (referral_id, advocate_id, referee_id, made_at)
SELECT * FROM unnest(CAST(:referral_id AS uuid[]), CAST(:advocate_id AS uuid[]), CAST(:referee_id AS uuid[]), CAST(:made_at AS timestamptz[]))
ON CONFLICT DO NOTHING
""")

_ENROLMENTS = text("""
INSERT INTO a_enrolments (enrolment_id, customer_id, plan_id, plan_key, holdout, enrolled_at)
SELECT * FROM unnest(CAST(:enrolment_id AS uuid[]), CAST(:customer_id AS uuid[]), CAST(:plan_id AS uuid[]),
  CAST(:plan_key AS text[]), CAST(:holdout AS boolean[]), CAST(:enrolled_at AS timestamptz[]))
ON CONFLICT DO NOTHING
""")

_REDEMPTIONS = text("""
INSERT INTO a_redemptions (redemption_id, customer_id, points, cost, occurred_at)
SELECT * FROM unnest(CAST(:redemption_id AS uuid[]), CAST(:customer_id AS uuid[]), CAST(:points AS numeric[]),
  CAST(:cost AS numeric[]), CAST(:occurred_at AS timestamptz[]))
ON CONFLICT DO NOTHING
""")

_RESPONSES = text("""
INSERT INTO a_responses (response_id, survey_id, survey_kind, customer_id, nps, csat, ces, csi, submitted_at)
SELECT * FROM unnest(CAST(:response_id AS uuid[]), CAST(:survey_id AS uuid[]), CAST(:survey_kind AS text[]),
  CAST(:customer_id AS uuid[]), CAST(:nps AS int[]), CAST(:csat AS numeric[]), CAST(:ces AS numeric[]),
  CAST(:csi AS numeric[]), CAST(:submitted_at AS timestamptz[]))
ON CONFLICT DO NOTHING
""")

_INVITATIONS = text("""
INSERT INTO a_invitations (invitation_id, survey_id, customer_id, created_at)
SELECT * FROM unnest(CAST(:invitation_id AS uuid[]), CAST(:survey_id AS uuid[]), CAST(:customer_id AS uuid[]), CAST(:created_at AS timestamptz[]))
ON CONFLICT DO NOTHING
""")

# A touch's status only moves forward; its cost is the largest reported.
_TOUCHES = text("""
INSERT INTO a_touches (touch_id, customer_id, plan_id, channel, status, rank, reason, cost, at)
SELECT DISTINCT ON (touch_id) * FROM unnest(CAST(:touch_id AS uuid[]), CAST(:customer_id AS uuid[]), CAST(:plan_id AS uuid[]),
  CAST(:channel AS text[]), CAST(:status AS text[]), CAST(:rank AS int[]), CAST(:reason AS text[]),
  CAST(:cost AS numeric[]), CAST(:at AS timestamptz[]))
  AS s(touch_id, customer_id, plan_id, channel, status, rank, reason, cost, at)
ORDER BY touch_id, rank DESC
ON CONFLICT (touch_id) DO UPDATE SET
  status = CASE WHEN EXCLUDED.rank >= a_touches.rank THEN EXCLUDED.status ELSE a_touches.status END,
  reason = CASE WHEN EXCLUDED.rank >= a_touches.rank THEN EXCLUDED.reason ELSE a_touches.reason END,
  at = CASE WHEN EXCLUDED.rank >= a_touches.rank THEN EXCLUDED.at ELSE a_touches.at END,
  rank = GREATEST(a_touches.rank, EXCLUDED.rank),
  cost = GREATEST(a_touches.cost, EXCLUDED.cost),
  plan_id = COALESCE(a_touches.plan_id, EXCLUDED.plan_id)
""")

_TASKS = text("""
INSERT INTO a_tasks (task_id, touch_id, customer_id, channel, assignee, due_at)
SELECT DISTINCT ON (task_id) * FROM unnest(CAST(:task_id AS uuid[]), CAST(:touch_id AS uuid[]), CAST(:customer_id AS uuid[]),
  CAST(:channel AS text[]), CAST(:assignee AS text[]), CAST(:due_at AS timestamptz[]))
  AS s(task_id, touch_id, customer_id, channel, assignee, due_at)
ON CONFLICT DO NOTHING
""")

_POINTS = text("""
INSERT INTO a_points (event_id, customer_id, kind, delta, occurred_at)
SELECT DISTINCT ON (event_id) * FROM unnest(CAST(:event_id AS uuid[]), CAST(:customer_id AS uuid[]), CAST(:kind AS text[]),
  CAST(:delta AS numeric[]), CAST(:occurred_at AS timestamptz[]))
  AS s(event_id, customer_id, kind, delta, occurred_at)
ON CONFLICT DO NOTHING
""")

STATEMENTS: dict[str, Any] = {
    "purchases": _PURCHASES,
    "refunds": _REFUNDS,
    "registered": _REGISTERED,
    "updated": _UPDATED,
    "erased": _ERASED,
    "tier": _TIER,
    "referrals": _REFERRALS,
    "redemptions": _REDEMPTIONS,
    "responses": _RESPONSES,
    "invitations": _INVITATIONS,
    "touches": _TOUCHES,
    "enrolments": _ENROLMENTS,
    "tasks": _TASKS,
    "points": _POINTS,
}


def columns(rows: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    """Rows as one array per column: the parameters of an `unnest(...)` statement."""
    keys = rows[0].keys()
    return {k: [r[k] for r in rows] for k in keys}


ORDER = (
    "registered",
    "updated",
    "erased",
    "tier",
    "purchases",
    "refunds",
    "referrals",
    "redemptions",
    "invitations",
    "responses",
    "touches",
    "enrolments",
    "tasks",
    "points",
)
PENDING = "wafa.analytics.pending"


def last_by(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """The last row per key (one customer's events arrive in order)."""
    return list({r[key]: r for r in rows}.values())


def merge_touches(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per touch: its furthest status, its largest cost, its plan."""
    merged: dict[Any, dict[str, Any]] = {}
    for r in rows:
        m = merged.get(r["touch_id"])
        if m is None:
            merged[r["touch_id"]] = r
            continue
        cost = max((x for x in (m["cost"], r["cost"]) if x is not None), default=None)
        winner = r if r["rank"] >= m["rank"] else m
        merged[r["touch_id"]] = {**winner, "cost": cost, "plan_id": m["plan_id"] or r["plan_id"]}
    return list(merged.values())


PREPARE = {"registered": lambda rows: last_by(rows, "customer_id"), "updated": lambda rows: last_by(rows, "customer_id"), "touches": merge_touches}


def queue(session: AsyncSession, kind: str, rows: Sequence[dict[str, Any]]) -> None:
    """Queue rows to be written when the consumer's transaction commits."""
    if not rows:
        return
    pending = session.info.get(PENDING)
    if pending is None:
        pending = session.info[PENDING] = {}
        event.listen(session.sync_session, "before_commit", _flush)
    pending.setdefault(kind, []).extend(rows)


def _flush(sync_session: Session) -> None:
    # A sync hook: with asyncio sessions it runs inside the session's greenlet, so the sync API
    # below still talks to asyncpg without blocking the loop.
    pending = sync_session.info.pop(PENDING, None)
    if not pending:
        return
    for kind in ORDER:
        rows = pending.get(kind)
        if rows:
            prepared = PREPARE.get(kind, list)(rows)
            sync_session.execute(STATEMENTS[kind], columns(prepared))
    if pending.get("purchases"):
        customers = list({r["customer_id"] for r in pending["purchases"]})
        window = settings_of(sync_session).active_window_days  # type: ignore[arg-type]
        sync_session.execute(_SPELLS_DELETE, {"customers": customers})
        sync_session.execute(_SPELLS_INSERT, {"customers": customers, "window_days": window})
        sync_session.execute(_PREV, {"customers": customers})


async def rebuild_spells(session: AsyncSession, window_days: int) -> None:
    """Recompute every customer's activity spells."""
    await session.execute(SPELLS_DELETE_ALL)
    await session.execute(SPELLS_INSERT_ALL, {"window_days": window_days})


async def rebuild_links(session: AsyncSession) -> None:
    """Recompute every purchase's links to the customer's previous purchases."""
    await session.execute(PREV_ALL)
