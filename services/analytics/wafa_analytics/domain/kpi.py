"""Key performance indicators from counted facts. Pure arithmetic, exact decimals.

Definitions (course documents 000 and 003; the CRM guide 002):
- A customer is *active* at an instant if they bought in the `active_window_days` before it.
- S = customers active at the start of the period, E = active at its end, N = customers whose
  first purchase falls in the period.
- Customer retention rate CRR = (E - N) / S x 100; churn rate = 100 - CRR.
- Customer-base growth = (E - S) / S x 100; acquisitions = N.
- Repeat-purchase rate = buyers with >= 2 orders in the period / buyers x 100.
- Purchase frequency = orders / buyers; average order value = revenue / orders (reporting
  currency only).
- Referral rate = customers who referred someone in the period / E x 100 (document 003: how many
  customers bring new customers).
- NPS = % promoters (9-10) - % detractors (0-6); CSAT, CES, CSI = mean of the period's scores.
- Survey response rate = responses / invitations created in the period x 100.
- Cost to serve per customer = activity costs of the period (touches, service calls, refunds
  handled, rewards redeemed) / E.
- Retention economics: churned customers = S - (E - N); revenue lost to churn = churned x
  revenue per buyer in the period; one point of retention is worth 1 % of S x revenue per buyer;
  expected customer lifetime = 1 / churn (in periods of the query's length).
Every ratio whose denominator is zero is None (not 0: nothing was measured).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

Q = Decimal("0.0001")


@dataclass(frozen=True)
class Facts:
    start_active: int
    end_active: int
    new: int
    orders: int
    orders_in_currency: int
    buyers: int
    repeat_buyers: int
    revenue: Decimal
    refunds: Decimal
    advocates: int
    responses: int
    nps_answers: int
    promoters: int
    detractors: int
    csat: Decimal | None
    ces: Decimal | None
    csi: Decimal | None
    invitations: int
    activity_cost: Decimal


def ratio(num: Decimal | int, den: Decimal | int, scale: int = 1) -> Decimal | None:
    if den == 0:
        return None
    return (Decimal(num) * scale / Decimal(den)).quantize(Q)


def _q(v: Decimal | None) -> Decimal | None:
    return None if v is None else Decimal(v).quantize(Q)


def compute(f: Facts) -> dict[str, object]:
    s, e, n = f.start_active, f.end_active, f.new
    crr = ratio(e - n, s, 100)
    churned = s - (e - n)
    revenue_per_buyer = ratio(f.revenue, f.buyers)
    churn = None if crr is None else (Decimal(100) - crr)
    return {
        "customers_at_start": s,
        "customers_at_end": e,
        "new_customers": n,
        "retention_rate": crr,
        "churn_rate": churn,
        "acquisitions": n,
        "customer_base_growth": ratio(e - s, s, 100),
        "orders": f.orders,
        "buyers": f.buyers,
        "repeat_purchase_rate": ratio(f.repeat_buyers, f.buyers, 100),
        "purchase_frequency": ratio(f.orders, f.buyers),
        "revenue": _q(f.revenue),
        "refunds": _q(f.refunds),
        "average_order_value": ratio(f.revenue, f.orders_in_currency),
        "referral_rate": ratio(f.advocates, e, 100),
        "nps": None if f.nps_answers == 0 else ratio(f.promoters - f.detractors, f.nps_answers, 100),
        "csat": _q(f.csat),
        "ces": _q(f.ces),
        "csi": _q(f.csi),
        "survey_responses": f.responses,
        "survey_invitations": f.invitations,
        "survey_response_rate": ratio(f.responses, f.invitations, 100),
        "cost_to_serve": _q(f.activity_cost),
        "cost_to_serve_per_customer": ratio(f.activity_cost, e),
        "churned_customers": churned,
        "revenue_lost_to_churn": None if revenue_per_buyer is None else (revenue_per_buyer * max(churned, 0)).quantize(Q),
        "value_of_one_retention_point": None if revenue_per_buyer is None else (revenue_per_buyer * s / 100).quantize(Q),
        "expected_lifetime_periods": None if not churn else (Decimal(100) / churn).quantize(Q),
    }


KPI_NAMES = (
    "retention_rate",
    "churn_rate",
    "customer_base_growth",
    "acquisitions",
    "repeat_purchase_rate",
    "purchase_frequency",
    "average_order_value",
    "revenue",
    "referral_rate",
    "nps",
    "csat",
    "ces",
    "csi",
    "survey_response_rate",
    "cost_to_serve_per_customer",
)

# What a goal can target: the KPIs above and the points liability (outstanding points x point
# cost at the end of the period, from `points_liability`).
GOAL_KPIS = (*KPI_NAMES, "points_liability")
