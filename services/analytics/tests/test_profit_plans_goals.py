"""Profitability (activity-based costing, whale curve), plan uplift and goals on the Q1 history."""

from __future__ import annotations

import math
import uuid
from decimal import Decimal
from typing import Any

import analytics_history as h
import pytest
from analytics_testkit import NOW, Q1, get, load

from wafa_shared.clock import ManualClock

D = Decimal
SETTINGS = {"active_window_days": 90}


async def test_whale_curve_ranks_customer_profit_and_ends_at_total_profit(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW), **SETTINGS) as svc:
        await load(svc, h.events())
        w = await get(svc, "/v1/profitability/whale-curve", **Q1)
        # profit = revenue - refunds - 60 % product cost - cost to serve:
        # A 300-50-150-5.55 = 94.45; C 120-72-5.25 = 42.75; D 60-36-6 = 18; E 30-18 = 12; G 0-20 = -20
        assert w["customers"] == 5 and w["unprofitable_customers"] == 1
        assert D(w["total_profit"]) == D("147.20")
        assert [D(p["cumulative_profit"]) for p in w["points"]] == [D("94.45"), D("137.20"), D("155.20"), D("167.20"), D("147.20")]
        last = w["points"][-1]
        assert D(last["cumulative_profit"]) == D(w["total_profit"]) and D(last["cumulative_profit_pct"]) == 100 and D(last["customers_pct"]) == 100
        assert w["peak"]["rank"] == 4 and D(w["peak"]["cumulative_profit_pct"]) == D("113.5870")  # 167.20 / 147.20
        tiers = {g["group"]: g for g in w["by_tier"]}
        assert (tiers["gold"]["customers"], D(tiers["gold"]["profit"])) == (2, D("137.20"))
        assert (tiers["none"]["customers"], D(tiers["none"]["profit"])) == (3, D(10))
        assert sum(D(g["profit"]) for g in w["by_segment"]) == D("147.20")
        first = await get(svc, "/v1/profitability/customers", limit=3, **Q1)
        rest = await get(svc, "/v1/profitability/customers", limit=3, cursor=first["next_cursor"], **Q1)
        ranked = first["items"] + rest["items"]
        assert [r["customer_id"] for r in ranked] == [str(h.IDS[x]) for x in "ACDEG"] and rest["next_cursor"] is None
        a = ranked[0]
        assert [D(a[k]) for k in ("revenue", "refunds", "product_cost", "cost_to_serve", "profit")] == [D(300), D(50), D(150), D("5.55"), D("94.45")]


async def test_activity_rates_are_configurable(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW), product_cost_rate=D("0.5"), service_call_cost=D(10), **SETTINGS) as svc:
        await load(svc, h.events())
        w = await get(svc, "/v1/profitability/whale-curve", **Q1)
        # A 250-125-5.55 = 119.45; C 120-60-5.25 = 54.75; D 60-30-10 = 20; E 30-15 = 15; G -20
        assert D(w["total_profit"]) == D("189.20")


async def test_plan_effectiveness_compares_treated_with_holdout_with_confidence_intervals(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW), **SETTINGS) as svc:
        await load(svc, h.events())
        plans = (await get(svc, "/v1/plans/effectiveness", **Q1))["plans"]
        assert len(plans) == 1
        p = plans[0]
        assert p["plan_id"] == str(h.P1) and (p["treated"], p["holdout"]) == (3, 2)  # A, C, D reached; B, G held out; E only scheduled
        assert (p["retention"]["treated"], p["retention"]["holdout"], p["retention"]["uplift"]) == (1.0, 0.0, 1.0)
        s = p["spend"]
        se = math.sqrt(((300 - 160) ** 2 + (120 - 160) ** 2 + (60 - 160) ** 2) / 2 / 3)  # holdout spend has no variance
        assert (s["treated"], s["holdout"], s["uplift"]) == (160.0, 0.0, 160.0)
        assert s["ci_low"] == pytest.approx(160 - 1.959964 * se, abs=1e-4) and s["ci_high"] == pytest.approx(160 + 1.959964 * se, abs=1e-4)
        r = p["referral_rate"]
        assert r["uplift"] == pytest.approx(1 / 3)
        assert r["ci_high"] - r["uplift"] == pytest.approx(1.959964 * math.sqrt((1 / 3) * (2 / 3) / 3), abs=1e-4)


async def test_relative_goal_tracks_progress_against_the_previous_period(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW), **SETTINGS) as svc:
        await load(svc, h.events())
        body = {"name": "CSI +10 % in Q1", "kpi": "csi", "period_from": "2026-01-01", "period_to": "2026-03-31", "mode": "relative", "target": "10"}
        r = await svc.client.post("/v1/goals", json=body, headers={**svc.auth("analytics:write"), "Idempotency-Key": "g-1"})
        assert r.status_code == 201, r.text
        again = await svc.client.post("/v1/goals", json=body, headers={**svc.auth("analytics:write"), "Idempotency-Key": "g-1"})
        assert again.json()["id"] == r.json()["id"]
        g = await get(svc, f"/v1/goals/{r.json()['id']}")
        pr = g["progress"]
        # baseline: CSI of 2025-10-03..2025-12-31 = 4 (B); target 4.4; now 4.25 -> 62.5 % of the way
        assert [D(pr[k]) for k in ("baseline", "target_value", "current", "progress_pct")] == [D(4), D("4.4"), D("4.25"), D("62.5")]
        assert pr["achieved"] is False and pr["measured_to"] == "2026-03-31"
        absolute = {**body, "name": "CRR 70", "kpi": "retention_rate", "mode": "absolute", "target": "70"}
        r2 = await svc.client.post("/v1/goals", json=absolute, headers=svc.auth("analytics:write"))
        assert r2.json()["progress"]["achieved"] is True and D(r2.json()["progress"]["current"]) == 75
        listed = await get(svc, "/v1/goals")
        assert [x["name"] for x in listed["items"]] == ["CSI +10 % in Q1", "CRR 70"]


async def test_goal_on_an_unknown_kpi_or_backwards_period_is_rejected_and_stores_nothing(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW)) as svc:
        bad = {"name": "x", "kpi": "happiness", "period_from": "2026-01-01", "period_to": "2026-03-31", "target": "1"}
        r = await svc.client.post("/v1/goals", json=bad, headers=svc.auth("analytics:write"))
        assert r.status_code == 422 and any("kpi" in e["field"] for e in r.json()["errors"])
        r = await svc.client.post("/v1/goals", json={**bad, "kpi": "nps", "period_to": "2025-01-01"}, headers=svc.auth("analytics:write"))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "period_to"
        assert (await get(svc, "/v1/goals"))["items"] == []


async def test_plan_enrolments_define_treated_and_holdout_over_touches(wafa_service: Any) -> None:
    from wafa_shared.events import touch as to

    plan_enrolled = getattr(to, "PlanEnrolled", None)
    if plan_enrolled is None:
        pytest.skip("touch.plan.enrolled is not in the event catalog of this checkout")
    async with wafa_service("analytics", clock=ManualClock(NOW), **SETTINGS) as svc:
        p2 = uuid.uuid4()
        members = {"A": False, "C": False, "B": True, "E": True}  # E bought in Q1 (30), B did not
        history = [(d, s) for d, s in h.history() if getattr(d, "plan_id", None) is None]  # no P1 touches
        enrolments = [
            (
                plan_enrolled(
                    enrolment_id=uuid.uuid4(),
                    customer_id=h.IDS[w],
                    plan_id=p2,
                    plan_key="client-for-life",
                    holdout=ho,
                    trigger="test",
                    enrolled_at=h.at("2025-12-15"),
                ),
                h.IDS[w],
            )
            for w, ho in members.items()
        ]
        await load(svc, h.envelopes(history + enrolments))
        plans = (await get(svc, "/v1/plans/effectiveness", **Q1))["plans"]
        assert [(p["plan_id"], p["treated"], p["holdout"]) for p in plans] == [(str(p2), 2, 2)]
        p = plans[0]
        assert (p["retention"]["treated"], p["retention"]["holdout"], p["retention"]["uplift"]) == (1.0, 0.5, 0.5)
        assert (p["spend"]["treated"], p["spend"]["holdout"]) == (210.0, 15.0)  # (300 + 120) / 2, (0 + 30) / 2
