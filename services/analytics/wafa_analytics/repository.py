"""Queries of the analytics read model. Periods are half-open [start, end) in UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_analytics.domain.kpi import Facts
from wafa_analytics.domain.satisfaction import DETRACTOR_MAX, PROMOTER_MIN


@dataclass(frozen=True)
class Rates:
    """Activity-based costing rates (reporting currency)."""

    touch_by_channel: dict[str, Decimal]
    service_call: Decimal
    refund_handling: Decimal
    reward_point: Decimal
    product_cost_rate: Decimal

    def params(self) -> dict[str, Any]:
        return {
            "rate_channel": list(self.touch_by_channel),
            "rate_value": list(self.touch_by_channel.values()),
            "call_cost": self.service_call,
            "refund_cost": self.refund_handling,
            "point_cost": self.reward_point,
        }


# Customers in the segment (a tier); NULL segment: everybody.
# ... and, when `:members` is given (an RFM segment's customers), only those.
_SEG = (
    "((CAST(:segment AS text) IS NULL OR {col} IN (SELECT customer_id FROM a_customers WHERE tier = CAST(:segment AS text)))"
    " AND (CAST(:members AS uuid[]) IS NULL OR {col} = ANY(CAST(:members AS uuid[]))))"
)

# Activity cost per customer over [start, end): delivered touches (event cost, else the channel
# rate; completed phone/call touches are service calls), refunds handled, rewards redeemed.
ACTIVITY_COSTS = """
activity AS (
  SELECT customer_id, sum(c) AS cost FROM (
    SELECT t.customer_id, CASE WHEN t.cost IS NOT NULL THEN t.cost
                               WHEN t.channel IN ('phone', 'call') AND t.status = 'completed' THEN CAST(:call_cost AS numeric)
                               ELSE COALESCE(r.rate, 0) END AS c
    FROM a_touches t
    LEFT JOIN unnest(CAST(:rate_channel AS text[]), CAST(:rate_value AS numeric[])) AS r(channel, rate) ON r.channel = t.channel
    WHERE t.status IN ('sent', 'completed') AND t.at >= :start AND t.at < :end
    UNION ALL
    SELECT customer_id, CAST(:refund_cost AS numeric) FROM a_refunds WHERE occurred_at >= :start AND occurred_at < :end
    UNION ALL
    SELECT customer_id, COALESCE(cost, points * CAST(:point_cost AS numeric)) FROM a_redemptions WHERE occurred_at >= :start AND occurred_at < :end
  ) x GROUP BY customer_id
)"""


async def kpi_facts(
    session: AsyncSession, start: datetime, end: datetime, *, segment: str | None, currency: str, rates: Rates, members: list[Any] | None = None
) -> Facts:
    """The counted facts of a period. S and E come from activity spells (built with the
    service's activity window), the rest from the facts of the period."""
    p: dict[str, Any] = {"start": start, "end": end, "segment": segment, "members": members, "currency": currency, **rates.params()}
    seg = _SEG.format(col="customer_id")
    row = (
        await session.execute(
            text(f"""
WITH {ACTIVITY_COSTS},
period AS (
  SELECT count(*) AS orders, count(*) FILTER (WHERE currency = :currency) AS orders_cur,
         COALESCE(sum(amount) FILTER (WHERE currency = :currency), 0) AS revenue,
         count(*) FILTER (WHERE prev_at IS NULL OR prev_at < :start) AS buyers,
         count(*) FILTER (WHERE prev_at >= :start AND (prev2_at IS NULL OR prev2_at < :start)) AS repeat_buyers
  FROM a_purchases WHERE occurred_at >= :start AND occurred_at < :end AND {seg}
)
SELECT
  (SELECT count(*) FROM a_spells WHERE start_at < :start AND end_at >= :start AND {seg}) AS s,
  (SELECT count(*) FROM a_spells WHERE start_at < :end AND end_at >= :end AND {seg}) AS e,
  (SELECT count(*) FROM a_customers WHERE first_purchase_at >= :start AND first_purchase_at < :end AND {seg}) AS n,
  period.orders, period.orders_cur, period.buyers, period.repeat_buyers, period.revenue,
  (SELECT COALESCE(sum(amount), 0) FROM a_refunds WHERE currency = :currency AND occurred_at >= :start AND occurred_at < :end AND {seg}) AS refunds,
  (SELECT count(DISTINCT advocate_id) FROM a_referrals WHERE made_at >= :start AND made_at < :end AND {_SEG.format(col="advocate_id")}) AS advocates,
  (SELECT COALESCE(sum(cost), 0) FROM activity WHERE {seg}) AS activity_cost,
  (SELECT count(*) FROM a_invitations WHERE created_at >= :start AND created_at < :end AND {seg}) AS invitations
FROM period
"""),
            p,
        )
    ).one()
    sv = (
        await session.execute(
            text(f"""
SELECT count(*) AS responses, count(nps) AS nps_answers,
       count(*) FILTER (WHERE nps >= {PROMOTER_MIN}) AS promoters, count(*) FILTER (WHERE nps <= {DETRACTOR_MAX}) AS detractors,
       avg(csat) AS csat, avg(ces) AS ces, avg(csi) AS csi
FROM a_responses WHERE submitted_at >= :start AND submitted_at < :end AND {seg}"""),
            p,
        )
    ).one()
    return Facts(
        start_active=row.s,
        end_active=row.e,
        new=row.n,
        orders=int(row.orders),
        orders_in_currency=int(row.orders_cur),
        buyers=row.buyers,
        repeat_buyers=row.repeat_buyers,
        revenue=Decimal(row.revenue),
        refunds=Decimal(row.refunds),
        advocates=row.advocates,
        responses=sv.responses,
        nps_answers=sv.nps_answers,
        promoters=sv.promoters,
        detractors=sv.detractors,
        csat=sv.csat,
        ces=sv.ces,
        csi=sv.csi,
        invitations=row.invitations,
        activity_cost=Decimal(row.activity_cost),
    )


async def satisfaction_trend(
    session: AsyncSession, start: datetime, end: datetime, *, segment: str | None, members: list[Any] | None = None
) -> list[dict[str, Any]]:
    """NPS, CSAT, CES and CSI per calendar month (UTC) of the period."""
    rows = await session.execute(
        text(f"""
SELECT to_char(date_trunc('month', submitted_at AT TIME ZONE 'UTC'), 'YYYY-MM') AS month, count(*) AS responses,
       count(nps) AS nps_answers, count(*) FILTER (WHERE nps >= {PROMOTER_MIN}) AS promoters,
       count(*) FILTER (WHERE nps <= {DETRACTOR_MAX}) AS detractors, avg(csat) AS csat, avg(ces) AS ces, avg(csi) AS csi
FROM a_responses WHERE submitted_at >= :start AND submitted_at < :end AND {_SEG.format(col="customer_id")}
GROUP BY 1 ORDER BY 1"""),
        {"start": start, "end": end, "segment": segment, "members": members},
    )
    return [dict(r._mapping) for r in rows]


async def cohort_counts(session: AsyncSession, start: datetime, end: datetime) -> list[tuple[str, int, int]]:
    """(cohort month, months since, distinct buyers) for cohorts by first-purchase month in the
    period, counting purchases up to `end`."""
    rows = await session.execute(
        text("""
WITH firsts AS (
  SELECT customer_id, date_trunc('month', first_purchase_at AT TIME ZONE 'UTC') AS cohort
  FROM a_customers WHERE first_purchase_at >= :start AND first_purchase_at < :end
)
SELECT to_char(f.cohort, 'YYYY-MM') AS cohort,
       (extract(year FROM m) * 12 + extract(month FROM m) - extract(year FROM f.cohort) * 12 - extract(month FROM f.cohort))::int AS age,
       count(DISTINCT f.customer_id) AS buyers
FROM firsts f
JOIN a_purchases p ON p.customer_id = f.customer_id AND p.occurred_at < :end
CROSS JOIN LATERAL (SELECT date_trunc('month', p.occurred_at AT TIME ZONE 'UTC') AS m) mm
GROUP BY 1, 2 ORDER BY 1, 2"""),
        {"start": start, "end": end},
    )
    return [(r.cohort, r.age, r.buyers) for r in rows]


async def rfm_inputs(session: AsyncSession, as_of: datetime, currency: str) -> list[tuple[Any, float, int, Decimal]]:
    """(customer, days since last purchase, purchases, revenue) over purchases before `as_of`."""
    rows = await session.execute(
        text("""
SELECT customer_id, extract(epoch FROM (:as_of - max(occurred_at))) / 86400.0 AS recency, count(*) AS frequency,
       COALESCE(sum(amount) FILTER (WHERE currency = :currency), 0) AS monetary
FROM a_purchases WHERE occurred_at < :as_of GROUP BY customer_id"""),
        {"as_of": as_of, "currency": currency},
    )
    return [(r.customer_id, float(r.recency), int(r.frequency), Decimal(r.monetary)) for r in rows]


async def clv_inputs(session: AsyncSession, as_of: datetime, currency: str) -> list[tuple[Any, int, float, float, float]]:
    """Per customer: (id, repeat purchases x, t_x and T in weeks, mean repeat-purchase value).
    Purchases on the same day count as one transaction, as in the CDNOW summary."""
    rows = await session.execute(
        text("""
WITH days AS (
  SELECT customer_id, CAST(occurred_at AT TIME ZONE 'UTC' AS date) AS d,
         sum(amount) FILTER (WHERE currency = :currency) AS spend
  FROM a_purchases WHERE occurred_at < :as_of GROUP BY 1, 2
),
ranked AS (SELECT *, row_number() OVER (PARTITION BY customer_id ORDER BY d) AS k FROM days)
SELECT customer_id, count(*) - 1 AS x,
       (max(d) - min(d)) / 7.0 AS t_x,
       (CAST(:as_of AT TIME ZONE 'UTC' AS date) - min(d)) / 7.0 AS t_obs,
       COALESCE(avg(spend) FILTER (WHERE k > 1), 0) AS m
FROM ranked GROUP BY customer_id"""),
        {"as_of": as_of, "currency": currency},
    )
    return [(r.customer_id, int(r.x), float(r.t_x), float(r.t_obs), float(r.m)) for r in rows]


async def customer_profits(session: AsyncSession, start: datetime, end: datetime, *, currency: str, rates: Rates) -> list[dict[str, Any]]:
    """Profit per customer over the period: revenue - refunds - product cost - cost to serve."""
    rows = await session.execute(
        text(f"""
WITH {ACTIVITY_COSTS},
rev AS (SELECT customer_id, sum(amount) AS revenue FROM a_purchases WHERE currency = :currency AND occurred_at >= :start AND occurred_at < :end GROUP BY 1),
ref AS (SELECT customer_id, sum(amount) AS refunds FROM a_refunds WHERE currency = :currency AND occurred_at >= :start AND occurred_at < :end GROUP BY 1),
ids AS (SELECT customer_id FROM rev UNION SELECT customer_id FROM ref UNION SELECT customer_id FROM activity)
SELECT ids.customer_id, c.tier, COALESCE(rev.revenue, 0) AS revenue, COALESCE(ref.refunds, 0) AS refunds,
       COALESCE(activity.cost, 0) AS cost_to_serve
FROM ids LEFT JOIN rev USING (customer_id) LEFT JOIN ref USING (customer_id) LEFT JOIN activity USING (customer_id)
LEFT JOIN a_customers c ON c.customer_id = ids.customer_id"""),
        {"start": start, "end": end, "currency": currency, **rates.params()},
    )
    out = []
    for r in rows:
        net = Decimal(r.revenue) - Decimal(r.refunds)
        product_cost = (net * rates.product_cost_rate).quantize(Decimal("0.0001"))
        cost = Decimal(r.cost_to_serve)
        out.append(
            {
                "customer_id": r.customer_id,
                "tier": r.tier,
                "revenue": Decimal(r.revenue),
                "refunds": Decimal(r.refunds),
                "product_cost": product_cost,
                "cost_to_serve": cost,
                "profit": net - product_cost - cost,
            }
        )
    return out


async def plan_outcomes(session: AsyncSession, start: datetime, end: datetime, *, currency: str) -> list[dict[str, Any]]:
    """Per plan and group, each member's purchases, spend and referrals in [start, end).
    Groups come from `touch.plan.enrolled` (treated: enrolled; holdout: the control group,
    intention to treat). Customers of a plan without an enrolment event fall back to their
    touches: reached by a sent/completed touch = treated, a touch skipped with reason `holdout`
    = holdout."""
    rows = await session.execute(
        text("""
WITH enrolled AS (
  SELECT plan_id, customer_id, CASE WHEN bool_or(NOT holdout) THEN 'treated' ELSE 'holdout' END AS grp
  FROM a_enrolments GROUP BY plan_id, customer_id
),
touched AS (
  SELECT plan_id, customer_id,
         CASE WHEN bool_or(status IN ('sent', 'completed')) THEN 'treated'
              WHEN bool_or(status = 'skipped' AND reason = 'holdout') THEN 'holdout' END AS grp
  FROM a_touches t WHERE plan_id IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM a_enrolments e WHERE e.plan_id = t.plan_id AND e.customer_id = t.customer_id)
  GROUP BY plan_id, customer_id
),
membership AS (SELECT * FROM enrolled UNION ALL SELECT * FROM touched)
SELECT m.plan_id, m.grp, m.customer_id,
  (SELECT count(*) FROM a_purchases p WHERE p.customer_id = m.customer_id AND p.occurred_at >= :start AND p.occurred_at < :end) AS orders,
  (SELECT COALESCE(sum(amount), 0) FROM a_purchases p WHERE p.customer_id = m.customer_id AND p.currency = :currency
     AND p.occurred_at >= :start AND p.occurred_at < :end) AS spend,
  (SELECT count(*) FROM a_referrals r WHERE r.advocate_id = m.customer_id AND r.made_at >= :start AND r.made_at < :end) AS referrals
FROM membership m WHERE m.grp IS NOT NULL"""),
        {"start": start, "end": end, "currency": currency},
    )
    return [dict(r._mapping) for r in rows]


async def satisfaction_series(
    session: AsyncSession, start: datetime, end: datetime, *, tier: str | None, unit: str, members: list[Any] | None = None
) -> list[dict[str, Any]]:
    """Responses, NPS counts and mean CSAT, CES and CSI per UTC week (ISO, from Monday) or month."""
    assert unit in ("week", "month")
    rows = await session.execute(
        text(f"""
SELECT CAST(date_trunc('{unit}', submitted_at AT TIME ZONE 'UTC') AS date) AS bucket, count(*) AS responses,
       count(nps) AS nps_answers, count(*) FILTER (WHERE nps >= {PROMOTER_MIN}) AS promoters,
       count(*) FILTER (WHERE nps <= {DETRACTOR_MAX}) AS detractors, avg(csat) AS csat, avg(ces) AS ces, avg(csi) AS csi
FROM a_responses WHERE submitted_at >= :start AND submitted_at < :end AND {_SEG.format(col="customer_id")}
GROUP BY 1 ORDER BY 1"""),
        {"start": start, "end": end, "segment": tier, "members": members},
    )
    return [dict(r._mapping) for r in rows]


async def tier_distribution(session: AsyncSession, start: datetime, end: datetime, *, currency: str) -> list[dict[str, Any]]:
    """Customers (not erased) per current loyalty tier, with those who bought in [start, end)
    and their revenue in the reporting currency. Customers without a tier are `none`."""
    rows = await session.execute(
        text("""
WITH rev AS (
  SELECT customer_id, COALESCE(sum(amount) FILTER (WHERE currency = :currency), 0) AS revenue
  FROM a_purchases WHERE occurred_at >= :start AND occurred_at < :end GROUP BY 1
)
SELECT COALESCE(c.tier, 'none') AS tier, count(*) AS customers, count(rev.customer_id) AS buyers, COALESCE(sum(rev.revenue), 0) AS revenue
FROM a_customers c LEFT JOIN rev USING (customer_id) WHERE c.erased_at IS NULL
GROUP BY 1 ORDER BY 1"""),
        {"start": start, "end": end, "currency": currency},
    )
    return [dict(r._mapping) for r in rows]


async def customers_in_tier(session: AsyncSession, tier: str) -> set[Any]:
    return set((await session.execute(text("SELECT customer_id FROM a_customers WHERE tier = :tier"), {"tier": tier})).scalars())


async def plan_keys(session: AsyncSession) -> dict[Any, str]:
    """Each plan's key (its readable name) as carried on `touch.plan.enrolled`."""
    rows = await session.execute(text("SELECT DISTINCT ON (plan_id) plan_id, plan_key FROM a_enrolments WHERE plan_key IS NOT NULL ORDER BY plan_id"))
    return {r.plan_id: r.plan_key for r in rows}
