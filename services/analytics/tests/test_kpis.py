"""KPIs over the hand-computed history in `analytics_history` (Q1 2026, activity window 90 days,
so E = buyers of Q1 and S = buyers of 2025-10-03..2025-12-31)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import analytics_history as h
from analytics_testkit import NOW, Q1, get, load

from wafa_shared.clock import ManualClock

D = Decimal
SETTINGS = {"active_window_days": 90}


def dec(values: dict[str, Any], *names: str) -> list[Decimal | None]:
    return [None if values[n] is None else D(str(values[n])) for n in names]


async def test_every_kpi_equals_its_hand_computed_value(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW), **SETTINGS) as svc:
        await load(svc, h.events())
        body = await get(svc, "/v1/kpis", **Q1)
        k = body["kpis"]
        # S = {A, B, C, G}, E = {A, C, D, E, F}, N = {D, F}
        assert (k["customers_at_start"], k["customers_at_end"], k["new_customers"], k["acquisitions"]) == (4, 5, 2, 2)
        assert dec(k, "retention_rate", "churn_rate", "customer_base_growth") == [D(75), D(25), D(25)]  # (5-2)/4, 100-75, (5-4)/4
        # Q1 orders: A x2, C, D, E, F (USD) -> 6 orders by 5 buyers, 1 repeat buyer
        assert (k["orders"], k["buyers"]) == (6, 5)
        assert dec(k, "repeat_purchase_rate", "purchase_frequency") == [D(20), D("1.2")]
        # SAR revenue 200 + 100 + 120 + 60 + 30 = 510 over 5 SAR orders; F's USD order is not summed
        assert dec(k, "revenue", "refunds", "average_order_value") == [D(510), D(50), D(102)]
        assert dec(k, "referral_rate") == [D(20)]  # A referred D: 1 advocate / E=5
        # NPS answers 10, 8, 3, 9: (2 promoters - 1 detractor) / 4
        assert dec(k, "nps", "csat", "ces", "csi") == [D(25), D("3.5"), D("3.5"), D("4.25")]
        assert (k["survey_responses"], k["survey_invitations"]) == (4, 5)
        assert dec(k, "survey_response_rate") == [D(80)]
        # email 0.05 + sms 0.25 (event cost) + service call 6 + G's call 20 (event cost) + refund 3 + 500 pts x 0.01 + reward 2.50
        assert dec(k, "cost_to_serve", "cost_to_serve_per_customer") == [D("36.80"), D("7.36")]
        # churned = S - (E - N) = 1; revenue per buyer 102; a point of retention = 1 % of S x 102
        assert k["churned_customers"] == 1
        assert dec(k, "revenue_lost_to_churn", "value_of_one_retention_point", "expected_lifetime_periods") == [D(102), D("4.08"), D(4)]
        trend = {t["month"]: t for t in body["satisfaction_trend"]}
        assert list(trend) == ["2026-02", "2026-03"]
        assert dec(trend["2026-02"], "nps", "csat", "ces", "csi") == [D(0), D("3.5"), D("3.5"), D("3.5")]
        assert dec(trend["2026-03"], "nps", "csat", "ces", "csi") == [D(50), D("3.5"), D("3.5"), D(5)]


async def test_kpis_of_a_tier_segment_count_only_its_customers(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW), **SETTINGS) as svc:
        await load(svc, h.events())
        k = (await get(svc, "/v1/kpis", segment="gold", **Q1))["kpis"]
        assert (k["customers_at_start"], k["customers_at_end"], k["new_customers"], k["orders"]) == (2, 2, 0, 3)
        assert dec(k, "retention_rate", "revenue", "average_order_value", "referral_rate", "nps") == [D(100), D(420), D(140), D(50), D(50)]
        assert dec(k, "cost_to_serve_per_customer") == [D("5.4")]  # A 0.05 + 3 + 2.50, C 0.25 + 5
        assert k["survey_invitations"] == 2


async def test_period_without_data_gives_none_ratios_not_zero(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW), **SETTINGS) as svc:
        k = (await get(svc, "/v1/kpis", **{"from": "2020-01-01", "to": "2020-01-31"}))["kpis"]
        assert k["retention_rate"] is None and k["nps"] is None and k["average_order_value"] is None
        assert k["orders"] == 0


async def test_bad_period_is_a_problem_naming_the_field(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW)) as svc:
        r = await svc.client.get("/v1/kpis", params={"from": "2026-03-01", "to": "2026-01-01"}, headers=svc.auth("analytics:read"))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "to"
        r = await svc.client.get("/v1/kpis", params={"from": "yesterday", "to": "2026-01-01"}, headers=svc.auth("analytics:read"))
        assert r.status_code == 422
        r = await svc.client.get("/v1/kpis", params=Q1)
        assert r.status_code == 401
        r = await svc.client.get("/v1/kpis", params=Q1, headers=svc.auth("loyalty:read"))
        assert r.status_code == 403
