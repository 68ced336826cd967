"""At-risk detection: publish `analytics.customer.at_risk` once per customer and reason.

Reasons: `low-p-alive` (a CLV fit found P(alive) below `at_risk_p_alive`) and
`valuable-detractor` (a customer whose lifetime revenue reached `high_value_revenue` answered
NPS 0-6). `a_at_risk` remembers what was published, so re-running a fit or replaying a
response publishes nothing twice; a fit that sees a flagged customer above the threshold again
clears his `low-p-alive` flag, so a later fall is signalled again.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_analytics.context import settings_of
from wafa_analytics.domain.satisfaction import is_detractor
from wafa_shared.events.analytics import CustomerAtRisk
from wafa_shared.events.survey import ResponseSubmitted
from wafa_shared.outbox import add_data

_FLAG_DETRACTORS = text("""
INSERT INTO a_at_risk (customer_id, reason, detected_at)
SELECT DISTINCT ON (s.customer_id) s.customer_id, 'valuable-detractor', s.at
FROM unnest(CAST(:customer_id AS uuid[]), CAST(:at AS timestamptz[])) AS s(customer_id, at)
JOIN a_customers c ON c.customer_id = s.customer_id
WHERE c.revenue >= :threshold
ON CONFLICT DO NOTHING
RETURNING customer_id, detected_at
""")

# A customer the latest fit sees above the threshold again has recovered: his signal is cleared,
# so a later fall is signalled anew.
_CLEAR_RECOVERED = text("""
DELETE FROM a_at_risk r USING a_clv_customers c
WHERE r.reason = 'low-p-alive' AND c.fit_id = :fit_id AND c.customer_id = r.customer_id AND c.p_alive >= :threshold
""")

_FLAG_LOW_P_ALIVE = text("""
INSERT INTO a_at_risk (customer_id, reason, detected_at)
SELECT customer_id, 'low-p-alive', :now FROM a_clv_customers WHERE fit_id = :fit_id AND p_alive < :threshold
ON CONFLICT DO NOTHING
RETURNING customer_id
""")


async def _publish(session: AsyncSession, signals: Sequence[CustomerAtRisk]) -> None:
    await add_data(session, [(s, s.customer_id) for s in signals])


async def flag_valuable_detractors(session: AsyncSession, responses: Sequence[ResponseSubmitted]) -> int:
    hits = [r for r in responses if r.customer_id is not None and is_detractor(r.nps)]
    if not hits:
        return 0
    threshold = settings_of(session).high_value_revenue
    rows = (
        await session.execute(_FLAG_DETRACTORS, {"customer_id": [r.customer_id for r in hits], "at": [r.submitted_at for r in hits], "threshold": threshold})
    ).all()
    nps = {r.customer_id: r.nps for r in hits}
    await _publish(session, [CustomerAtRisk(customer_id=cid, reason="valuable-detractor", detected_at=at, nps=nps[cid]) for cid, at in rows])
    return len(rows)


async def flag_low_p_alive(session: AsyncSession, fit_id: uuid.UUID, threshold: float, now: datetime) -> int:
    await session.execute(_CLEAR_RECOVERED, {"fit_id": fit_id, "threshold": threshold})
    rows = (await session.execute(_FLAG_LOW_P_ALIVE, {"fit_id": fit_id, "threshold": threshold, "now": now})).scalars().all()
    if not rows:
        return 0
    found = await session.execute(
        text("SELECT customer_id, p_alive, clv FROM a_clv_customers WHERE fit_id = :f AND customer_id = ANY(CAST(:ids AS uuid[]))"),
        {"f": fit_id, "ids": list(rows)},
    )
    signals = [
        CustomerAtRisk(
            customer_id=cid,
            reason="low-p-alive",
            probability_alive=Decimal(str(round(p_alive, 4))),
            clv=Decimal(str(round(clv, 2))),
            fit_id=fit_id,
            detected_at=now,
        )
        for cid, p_alive, clv in found.all()
    ]
    await _publish(session, signals)
    return len(rows)
