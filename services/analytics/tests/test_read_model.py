"""The read model: cohorts, RFM, replay idempotency, rebuild and erasure."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import analytics_history as h
from analytics_testkit import NOW, Q1, get, load, scalar, send

from wafa_shared.clock import ManualClock
from wafa_shared.events import customer as c
from wafa_shared.events import new_event
from wafa_shared.testing.events import eventually

D = Decimal
SETTINGS = {"active_window_days": 90}
COHORT_PERIOD = {"from": "2025-10-01", "to": "2026-03-31"}


async def test_cohorts_show_the_share_of_each_first_purchase_month_buying_again(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW), **SETTINGS) as svc:
        await load(svc, h.events())
        rows = {r["cohort"]: r for r in (await get(svc, "/v1/cohorts", **COHORT_PERIOD))["cohorts"]}
        # E's first purchase (2025-06) is before the period: not a cohort of it
        assert list(rows) == ["2025-10", "2025-11", "2025-12", "2026-01", "2026-02"]
        assert rows["2025-11"]["active"] == [1, 0, 1, 1]  # A: Nov, Jan, Feb
        assert rows["2025-12"]["size"] == 2 and rows["2025-12"]["active"] == [2, 0, 0, 1]  # B, C; C again in March
        assert [D(v) for v in rows["2025-12"]["retention"]] == [D(100), D(0), D(0), D(50)]
        assert rows["2025-10"]["active"] == [1] and rows["2026-02"]["active"] == [1]


async def test_rfm_scores_are_quintiles_and_segments_follow_the_grid(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW), **SETTINGS) as svc:
        await load(svc, h.events())
        body = await get(svc, "/v1/rfm", as_of="2026-04-01T00:00:00Z", limit=3)
        assert body["segments"] == {"Loyal": 3, "Potential loyalists": 1, "Hibernating": 1, "Lost": 2}
        items = body["items"]
        nxt = body["next_cursor"]
        while nxt:
            page = await get(svc, "/v1/rfm", as_of="2026-04-01T00:00:00Z", limit=3, cursor=nxt)
            items += page["items"]
            nxt = page["next_cursor"]
        by = {r["customer_id"]: r for r in items}
        assert len(by) == 7
        # recency days at 2026-04-01 00:00 (purchases at noon): C 21.5 < E 30.5 < A 39.5 < D 58.5 < F 70.5 < B 120.5 < G 167.5
        a = by[str(h.IDS["A"])]
        assert (a["r"], a["f"], a["segment"], a["frequency"], D(a["monetary"]), a["recency_days"]) == (3, 5, "Loyal", 3, D(400), 39.5)
        assert [by[str(h.IDS[w])]["r"] for w in "CEADFBG"] == [5, 4, 3, 3, 2, 1, 1]
        assert [by[str(h.IDS[w])]["segment"] for w in "CEDFBG"] == ["Loyal", "Loyal", "Potential loyalists", "Hibernating", "Lost", "Lost"]
        assert by[str(h.IDS["F"])]["m"] == 1  # USD spend is not SAR revenue


async def test_replaying_every_event_twice_leaves_every_metric_unchanged(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW), **SETTINGS) as svc:
        original = h.events()
        await load(svc, original)
        paths = [("/v1/kpis", Q1), ("/v1/cohorts", COHORT_PERIOD), ("/v1/profitability/whale-curve", Q1), ("/v1/plans/effectiveness", Q1)]
        before = [await get(svc, p, **q) for p, q in paths]
        rfm_before = await get(svc, "/v1/rfm", as_of="2026-04-01T00:00:00Z", limit=100)
        # the same envelopes again (redelivery), then the same facts under new event ids (re-publication)
        await send(svc, original)
        await load(svc, h.events())
        assert await scalar(svc, "SELECT count(*) FROM inbox") == 2 * len(original)
        assert [await get(svc, p, **q) for p, q in paths] == before
        assert await get(svc, "/v1/rfm", as_of="2026-04-01T00:00:00Z", limit=100) == rfm_before
        # and rebuilding the aggregates from the facts gives what incremental upkeep gave
        daily = await scalar(svc, "SELECT string_agg(day || currency || orders || ':' || revenue || ':' || refunds, ',' ORDER BY day, currency) FROM a_daily")
        r = await svc.client.post("/v1/read-model/rebuild", headers=svc.auth("analytics:write"))
        assert r.status_code == 200 and r.json()["customers"] == 7
        assert (
            await scalar(svc, "SELECT string_agg(day || currency || orders || ':' || revenue || ':' || refunds, ',' ORDER BY day, currency) FROM a_daily")
            == daily
        )
        assert await scalar(svc, "SELECT sum(revenue) FROM a_daily WHERE currency = 'SAR'") == D(850)  # every SAR purchase: 400 + 50 + 200 + 60 + 70 + 70
        assert [await get(svc, p, **q) for p, q in paths] == before


async def test_erasure_drops_pii_and_keeps_anonymous_aggregates(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW), **SETTINGS) as svc:
        await load(svc, h.events())
        before = await get(svc, "/v1/kpis", **Q1)
        assert await scalar(svc, "SELECT email FROM a_customers WHERE customer_id = :c", c=h.IDS["A"]) == "amal@example.com"
        await load(svc, [new_event(c.CustomerErased(customer_id=h.IDS["A"], erased_at=h.at("2026-06-01")), source="test", subject=h.IDS["A"])])
        row = await scalar(svc, "SELECT row(display_name, email, purchase_count)::text FROM a_customers WHERE customer_id = :c", c=h.IDS["A"])
        assert row == "(,,3)"
        assert await get(svc, "/v1/kpis", **Q1) == before
        # a late re-publication of the registration does not bring the PII back
        late = [e for e in h.events() if e.type == "customer.registered"]
        await load(svc, late)
        await eventually(lambda: scalar(svc, "SELECT erased_at IS NOT NULL AND email IS NULL FROM a_customers WHERE customer_id = :c", c=h.IDS["A"]))
        assert await scalar(svc, "SELECT email FROM a_customers WHERE customer_id = :c", c=h.IDS["A"]) is None


async def test_a_touch_never_moves_back_and_keeps_its_largest_reported_cost(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW), **SETTINGS) as svc:
        completed = h.touch("completed", "A", 9, "2026-02-02", channel="phone", outcome="reached", cost=D("7.5"))
        sent = h.touch("sent", "A", 9, "2026-02-01", channel="phone", cost=D("1"))
        scheduled = h.touch("scheduled", "A", 9, "2026-01-31", channel="phone")
        # out of order, as a re-publication could deliver them
        await load(svc, [new_event(d, source="test", subject=s) for d, s in (completed, sent, scheduled)])
        row = await scalar(svc, "SELECT row(status, cost, reason)::text FROM a_touches WHERE customer_id = :c", c=h.IDS["A"])
        assert row == "(completed,7.5000,reached)"
        k = (await get(svc, "/v1/kpis", **Q1))["kpis"]
        assert D(k["cost_to_serve"]) == D("7.5")


async def test_late_purchases_merge_activity_spells_and_relink_the_purchase_sequence(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW), **SETTINGS) as svc:
        first = [h.purchase("H", d, "10") for d in ("2025-01-01", "2025-12-01")]
        await load(svc, [new_event(d, source="test", subject=s) for d, s in first])
        spells = (
            "SELECT string_agg(to_char(start_at AT TIME ZONE 'UTC', 'MM-DD') || '>' || to_char(end_at AT TIME ZONE 'UTC', 'MM-DD'), ' ' ORDER BY start_at)"
            " FROM a_spells"
        )
        assert await scalar(svc, spells) == "01-01>04-01 12-01>03-01"  # 90-day window: two spells
        late = [h.purchase("H", d, "10") for d in ("2025-03-15", "2025-06-01", "2025-08-15", "2025-11-01")]
        await load(svc, [new_event(d, source="test", subject=s) for d, s in late])
        assert await scalar(svc, spells) == "01-01>03-01"  # gaps now all under 90 days: one spell to 2026-03-01
        links = "SELECT string_agg(to_char(prev_at AT TIME ZONE 'UTC', 'MM-DD'), ',' ORDER BY occurred_at) FROM a_purchases"
        assert await scalar(svc, links) == "01-01,03-15,06-01,08-15,11-01"
        k = (await get(svc, "/v1/kpis", **{"from": "2025-06-01", "to": "2025-09-30"}))["kpis"]
        assert (k["orders"], k["buyers"], k["customers_at_start"], k["customers_at_end"]) == (2, 1, 1, 1)
        assert D(k["repeat_purchase_rate"]) == 100
