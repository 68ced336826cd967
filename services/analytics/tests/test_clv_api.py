"""CLV fits as background jobs through the API, and at-risk signals on the bus."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import analytics_history as h
import numpy as np
import pytest
from analytics_testkit import NOW, at, get, load, scalar

from wafa_analytics.domain import bgnbd, gammagamma
from wafa_shared.clock import ManualClock
from wafa_shared.events import Event, new_event
from wafa_shared.events import loyalty as lo
from wafa_shared.events import survey as sv

START = at("2025-01-06")
AS_OF = "2026-01-05T00:00:00+00:00"


def simulated_purchases(n: int, seed: int = 7) -> list[Event]:
    """Customers acquired on 2025-01-06 buying by the BG/NBD story (r=0.5, alpha=6 weeks, a=0.8,
    b=2.5) for 52 weeks, at most once a day, spend ~ Gamma."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        cid = uuid.uuid5(uuid.NAMESPACE_URL, f"sim-{seed}-{i}")
        lam = rng.gamma(0.5, 1 / 6.0)
        p = rng.beta(0.8, 2.5)
        t, days = 0.0, {0}
        while True:
            if rng.random() < p and len(days) > 1:
                break
            t += rng.exponential(1 / lam) if lam > 0 else 1e9
            if t >= 52:
                break
            days.add(int(t * 7))
        for d in sorted(days):
            amount = Decimal(str(round(float(rng.gamma(6, 8.0)), 2)))
            when = START + timedelta(days=d)
            data = lo.PurchaseRecorded(purchase_id=uuid.uuid4(), customer_id=cid, order_id=f"{i}-{d}", amount=amount, currency="SAR", occurred_at=when)
            out.append(new_event(data, source="test", subject=cid))
    return out


async def run_fit(svc: Any, as_of: str, **extra: Any) -> dict[str, Any]:
    r = await svc.client.post("/v1/clv/fits", json={"as_of": as_of, **extra}, headers=svc.auth("analytics:write"))
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "queued" and r.json()["progress"] == 0
    run = await svc.client.post("/v1/ops/jobs/clv-fit/run", headers=svc.auth())
    assert run.status_code == 200, run.text
    fit = await get(svc, f"/v1/clv/fits/{r.json()['id']}")
    assert fit["status"] == "done" and fit["progress"] == 1.0, fit
    return fit  # type: ignore[no-any-return]


async def test_clv_fit_runs_as_a_job_and_stores_model_and_customer_values(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW)) as svc:
        r = await svc.client.get("/v1/clv/model", headers=svc.auth("analytics:read"))
        assert r.status_code == 404 and r.json()["type"].endswith("/no-clv-model")
        events = simulated_purchases(400)
        await load(svc, events)
        fit = await run_fit(svc, AS_OF, horizon_months=12, annual_discount_rate="0.1")
        model = await get(svc, "/v1/clv/model")
        assert model["id"] == fit["id"]
        bg = model["params"]["bgnbd"]
        assert model["summary"]["customers"] == 400
        # a small sample: the estimates land near the simulated truth
        assert 0.2 < bg["r"] < 1.2 and 2 < bg["alpha"] < 15
        # each customer's stored values are the models applied to his own (x, t_x, T, m)
        cid = events[0].subject
        c = await get(svc, f"/v1/clv/customers/{cid}")
        p = bgnbd.BGNBDParams(bg["r"], bg["alpha"], bg["a"], bg["b"])
        x, t_x, T = (np.array([c[k]]) for k in ("x", "t_x", "t_obs"))
        assert c["p_alive"] == pytest.approx(float(bgnbd.probability_alive(p, x, t_x, T)[0]))
        gg = model["params"]["gamma_gamma"]
        assert c["expected_spend"] == pytest.approx(
            float(gammagamma.expected_spend(gammagamma.GammaGammaParams(gg["p"], gg["q"], gg["gamma"]), x, np.array([c["monetary"]]))[0])
        )
        assert c["clv"] > 0 and 0 <= c["loyalty_index"] <= 100
        missing = await svc.client.get(f"/v1/clv/customers/{uuid.uuid4()}", headers=svc.auth("analytics:read"))
        assert missing.status_code == 404


async def test_customer_summary_counts_purchase_days_in_weeks_up_to_as_of(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW)) as svc:
        await load(svc, h.events() + simulated_purchases(60))
        await run_fit(svc, "2026-04-01T00:00:00+00:00")
        a = await get(svc, f"/v1/clv/customers/{h.IDS['A']}")
        # A bought 2025-11-10, 2026-01-15, 2026-02-20: x = 2; t_x = 102 days; T = 142 days; mean repeat spend (200 + 100) / 2
        assert (a["x"], a["t_x"], a["t_obs"], a["monetary"]) == (2, pytest.approx(102 / 7), pytest.approx(142 / 7), 150.0)


async def test_low_probability_alive_publishes_at_risk_once_per_customer(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW), at_risk_p_alive=0.3) as svc:
        await load(svc, simulated_purchases(300))
        fit = await run_fit(svc, AS_OF)
        low = await scalar(svc, "SELECT count(*) FROM a_clv_customers WHERE fit_id = :f AND p_alive < 0.3", f=uuid.UUID(fit["id"]))
        assert low > 0 and fit["summary"]["at_risk_flagged"] == low
        event = await svc.wait_for_event("wafa.analytics", lambda e: e.type == "analytics.customer.at_risk")
        assert event.data["reason"] == "low-p-alive" and float(event.data["probability_alive"]) < 0.3 and event.data["fit_id"] == fit["id"]
        again = await run_fit(svc, AS_OF)
        assert again["summary"]["at_risk_flagged"] == 0  # nobody is signalled twice
        assert await scalar(svc, "SELECT count(*) FROM a_at_risk") == low


async def test_high_value_customer_answering_as_detractor_is_signalled_at_risk(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW), high_value_revenue=Decimal(1000)) as svc:
        big, small = uuid.uuid4(), uuid.uuid4()
        buys = [
            lo.PurchaseRecorded(
                purchase_id=uuid.uuid4(), customer_id=who, order_id=str(who), amount=Decimal(amount), currency="SAR", occurred_at=at("2026-05-01")
            )
            for who, amount in ((big, "1500"), (small, "20"))
        ]
        await load(svc, [new_event(b, source="test", subject=b.customer_id) for b in buys])

        def answer(who: uuid.UUID) -> Event:
            data = sv.ResponseSubmitted(
                response_id=uuid.uuid4(), survey_id=uuid.uuid4(), survey_kind="nps", customer_id=who, nps=2, submitted_at=at("2026-05-10")
            )
            return new_event(data, source="test", subject=who)

        big_answer = answer(big)
        await load(svc, [big_answer, answer(small)])
        event = await svc.wait_for_event("wafa.analytics", lambda e: e.type == "analytics.customer.at_risk")
        assert event.subject == str(big) and event.data["reason"] == "valuable-detractor" and event.data["nps"] == 2
        await load(svc, [new_event(sv.ResponseSubmitted.model_validate(big_answer.data), source="test", subject=big)])  # re-published
        assert await scalar(svc, "SELECT count(*) FROM a_at_risk") == 1
        assert await scalar(svc, "SELECT count(*) FROM outbox") == 1


async def test_fit_request_is_validated_and_idempotent(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW)) as svc:
        r = await svc.client.post("/v1/clv/fits", json={"as_of": "2026-01-01T00:00:00", "horizon_months": 0}, headers=svc.auth("analytics:write"))
        assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} >= {"as_of", "horizon_months"}
        headers = {**svc.auth("analytics:write"), "Idempotency-Key": "fit-1"}
        a = await svc.client.post("/v1/clv/fits", json={"as_of": AS_OF}, headers=headers)
        b = await svc.client.post("/v1/clv/fits", json={"as_of": AS_OF}, headers=headers)
        assert a.json()["id"] == b.json()["id"]
        assert await scalar(svc, "SELECT count(*) FROM a_clv_fits") == 1
        r = await svc.client.post("/v1/clv/fits", json={"as_of": AS_OF}, headers=svc.auth("analytics:read"))
        assert r.status_code == 403


async def test_fit_without_data_fails_visibly_and_leaves_no_model(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW)) as svc:
        r = await svc.client.post("/v1/clv/fits", json={"as_of": AS_OF}, headers=svc.auth("analytics:write"))
        await svc.client.post("/v1/ops/jobs/clv-fit/run", headers=svc.auth())
        fit = await get(svc, f"/v1/clv/fits/{r.json()['id']}")
        assert fit["status"] == "failed" and "no customers" in fit["error"]
        assert (await svc.client.get("/v1/clv/model", headers=svc.auth("analytics:read"))).status_code == 404
