"""Use cases of the analytics service: each takes the session first and returns plain data."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_analytics import ingest
from wafa_analytics import repository as repo
from wafa_analytics.domain import kpi, rfm, uplift, whale
from wafa_analytics.periods import Period
from wafa_analytics.settings import Settings


def rates(settings: Settings) -> repo.Rates:
    return repo.Rates(
        touch_by_channel=dict(settings.touch_cost_by_channel),
        service_call=settings.service_call_cost,
        refund_handling=settings.refund_handling_cost,
        reward_point=settings.reward_point_cost,
        product_cost_rate=settings.product_cost_rate,
    )


async def kpis(session: AsyncSession, settings: Settings, p: Period, *, segment: str | None, members: list[Any] | None = None) -> dict[str, object]:
    facts = await repo.kpi_facts(session, p.start, p.end, segment=segment, currency=settings.currency, rates=rates(settings), members=members)
    return kpi.compute(facts)


async def satisfaction_trend(session: AsyncSession, p: Period, *, segment: str | None, members: list[Any] | None = None) -> list[dict[str, Any]]:
    out = []
    for r in await repo.satisfaction_trend(session, p.start, p.end, segment=segment, members=members):
        nps = None if r["nps_answers"] == 0 else kpi.ratio(r["promoters"] - r["detractors"], r["nps_answers"], 100)
        out.append({"month": r["month"], "responses": r["responses"], "nps": nps, "csat": r["csat"], "ces": r["ces"], "csi": r["csi"]})
    return out


async def cohorts(session: AsyncSession, p: Period) -> list[dict[str, Any]]:
    """Retention matrix: per first-purchase month, the share of the cohort buying k months later."""
    by: dict[str, dict[int, int]] = defaultdict(dict)
    for cohort, age, buyers in await repo.cohort_counts(session, p.start, p.end):
        by[cohort][age] = buyers
    out = []
    for cohort in sorted(by):
        size = by[cohort].get(0, 0)
        last = max(by[cohort])
        counts = [by[cohort].get(k, 0) for k in range(last + 1)]
        out.append({"cohort": cohort, "size": size, "active": counts, "retention": [kpi.ratio(c, size, 100) for c in counts]})
    return out


async def rfm_scores(session: AsyncSession, settings: Settings, as_of: datetime) -> list[dict[str, Any]]:
    rows = await repo.rfm_inputs(session, as_of, settings.currency)
    r = rfm.quintile_scores([x[1] for x in rows], higher_is_better=False)
    f = rfm.quintile_scores([x[2] for x in rows])
    m = rfm.quintile_scores([float(x[3]) for x in rows])
    return [
        {
            "customer_id": row[0],
            "recency_days": round(row[1], 4),
            "frequency": row[2],
            "monetary": row[3],
            "r": r[i],
            "f": f[i],
            "m": m[i],
            "segment": rfm.segment(r[i], f[i]),
        }
        for i, row in enumerate(rows)
    ]


async def profitability(session: AsyncSession, settings: Settings, p: Period, *, max_points: int) -> dict[str, Any]:
    customers = await repo.customer_profits(session, p.start, p.end, currency=settings.currency, rates=rates(settings))
    points, total, peak = whale.curve([c["profit"] for c in customers], max_points=max_points)
    segments = {s["customer_id"]: s["segment"] for s in await rfm_scores(session, settings, p.end)}

    def group(key: str | None, c: dict[str, Any], acc: dict[str, dict[str, Any]]) -> None:
        g = acc.setdefault(key or "none", {"customers": 0, "revenue": Decimal(0), "cost_to_serve": Decimal(0), "profit": Decimal(0)})
        g["customers"] += 1
        g["revenue"] += c["revenue"]
        g["cost_to_serve"] += c["cost_to_serve"]
        g["profit"] += c["profit"]

    by_tier: dict[str, dict[str, Any]] = {}
    by_segment: dict[str, dict[str, Any]] = {}
    for c in customers:
        group(c["tier"], c, by_tier)
        group(segments.get(c["customer_id"]), c, by_segment)
    return {
        "customers": len(customers),
        "total_profit": total,
        "unprofitable_customers": sum(1 for c in customers if c["profit"] < 0),
        "peak": peak,
        "points": points,
        "by_tier": [{"group": k, **v} for k, v in sorted(by_tier.items())],
        "by_segment": [{"group": k, **v} for k, v in sorted(by_segment.items())],
    }


async def plan_effectiveness(session: AsyncSession, settings: Settings, p: Period) -> list[dict[str, Any]]:
    groups: dict[Any, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: {"treated": [], "holdout": []})
    for r in await repo.plan_outcomes(session, p.start, p.end, currency=settings.currency):
        groups[r["plan_id"]][r["grp"]].append(r)
    keys = await repo.plan_keys(session)
    out = []
    for plan_id in sorted(groups, key=str):
        t, h = groups[plan_id]["treated"], groups[plan_id]["holdout"]
        out.append(
            {
                "plan_id": plan_id,
                "plan_key": keys.get(plan_id),
                "treated": len(t),
                "holdout": len(h),
                "retention": uplift.rates([r["orders"] > 0 for r in t], [r["orders"] > 0 for r in h]),
                "spend": uplift.means([float(r["spend"]) for r in t], [float(r["spend"]) for r in h]),
                "referral_rate": uplift.rates([r["referrals"] > 0 for r in t], [r["referrals"] > 0 for r in h]),
            }
        )
    return out


async def rebuild_aggregates(session: AsyncSession, settings: Settings) -> dict[str, int]:
    """Recompute the daily aggregates, the customers' purchase counters and the activity spells
    from the stored facts (after a restore, after changing the activity window, or to check that
    incremental maintenance has not drifted)."""
    await ingest.rebuild_spells(session, settings.active_window_days)
    await ingest.rebuild_links(session)
    await session.execute(text("DELETE FROM a_daily"))
    await session.execute(
        text("""
INSERT INTO a_daily (day, currency, orders, revenue, refunds)
SELECT day, currency, sum(orders), sum(revenue), sum(refunds) FROM (
  SELECT CAST(occurred_at AT TIME ZONE 'UTC' AS date) AS day, currency, count(*) AS orders, sum(amount) AS revenue, 0 AS refunds FROM a_purchases GROUP BY 1, 2
  UNION ALL
  SELECT CAST(occurred_at AT TIME ZONE 'UTC' AS date), currency, 0, 0, sum(amount) FROM a_refunds GROUP BY 1, 2
) x GROUP BY day, currency""")
    )
    res = await session.execute(
        text("""
UPDATE a_customers c SET first_purchase_at = s.first, last_purchase_at = s.last, purchase_count = s.n, revenue = s.revenue
FROM (SELECT customer_id, min(occurred_at) AS first, max(occurred_at) AS last, count(*) AS n, sum(amount) AS revenue FROM a_purchases GROUP BY 1) s
WHERE c.customer_id = s.customer_id""")
    )
    days = (await session.execute(text("SELECT count(*) FROM a_daily"))).scalar_one()
    return {"days": int(days), "customers": int(res.rowcount)}  # type: ignore[attr-defined]


async def satisfaction_series(session: AsyncSession, p: Period, *, tier: str | None, unit: str, members: list[Any] | None = None) -> list[dict[str, Any]]:
    out = []
    for r in await repo.satisfaction_series(session, p.start, p.end, tier=tier, unit=unit, members=members):
        nps = None if r["nps_answers"] == 0 else kpi.ratio(r["promoters"] - r["detractors"], r["nps_answers"], 100)
        q = {k: None if r[k] is None else Decimal(r[k]).quantize(kpi.Q) for k in ("csat", "ces", "csi")}
        out.append({"start": r["bucket"], "responses": r["responses"], "nps": nps, **q})
    return out


async def tier_distribution(session: AsyncSession, settings: Settings, p: Period) -> dict[str, Any]:
    rows = await repo.tier_distribution(session, p.start, p.end, currency=settings.currency)
    total = sum(r["customers"] for r in rows)
    tiers = [
        {
            "tier": r["tier"],
            "customers": r["customers"],
            "share": kpi.ratio(r["customers"], total, 100),
            "buyers": r["buyers"],
            "revenue": Decimal(r["revenue"]).quantize(kpi.Q),
        }
        for r in rows
    ]
    return {"customers": total, "tiers": tiers}


async def rfm_grid(session: AsyncSession, settings: Settings, as_of: datetime, *, tier: str | None) -> dict[str, Any]:
    """The 5 x 5 RFM grid: customers per (R, F) cell, the cell's segment and mean monetary value."""
    scores = await rfm_scores(session, settings, as_of)
    if tier is not None:
        members = await repo.customers_in_tier(session, tier)
        scores = [s for s in scores if s["customer_id"] in members]
    cells: dict[tuple[int, int], list[Decimal]] = defaultdict(list)
    for s in scores:
        cells[(s["r"], s["f"])].append(Decimal(s["monetary"]))
    grid = [
        {
            "r": r,
            "f": f,
            "segment": rfm.segment(r, f),
            "customers": len(cells[(r, f)]),
            "mean_monetary": kpi.ratio(sum(cells[(r, f)], Decimal(0)), len(cells[(r, f)])),
        }
        for r in range(1, 6)
        for f in range(1, 6)
    ]
    counts: dict[str, int] = defaultdict(int)
    for c in grid:
        counts[c["segment"]] += c["customers"]
    return {"customers": len(scores), "cells": grid, "segments": {k: counts.get(k, 0) for k in rfm.SEGMENTS}}


async def rfm_members(session: AsyncSession, settings: Settings, rfm_segment: str | None, as_of: datetime) -> list[Any] | None:
    """The customers of an RFM segment as scored at `as_of` (None: no segment asked, everybody)."""
    if rfm_segment is None:
        return None
    return [r["customer_id"] for r in await rfm_scores(session, settings, as_of) if r["segment"] == rfm_segment]
