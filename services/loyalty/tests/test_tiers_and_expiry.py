"""Tiers read only qualifying credit: upgrade at once, downgrade at period end after the grace
period; expiry consumes the oldest points first and never lowers a tier."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from loyalty_testkit import T0, D, buy, create_program, enrol, ledger, member, run_job

from wafa_shared.clock import ManualClock
from wafa_shared.testing.events import read_events


async def test_upgrade_is_immediate_and_downgrade_waits_for_the_period_end_plus_grace(wafa_service: Any) -> None:
    clock = ManualClock(T0)
    async with wafa_service("loyalty", clock=clock) as svc:
        await create_program(svc, downgrade_grace_days=30)
        cid = await enrol(svc)
        assert (await member(svc, cid))["tier"] == "Silver"
        p = await buy(svc, cid, "1200")
        m = await member(svc, cid)
        assert m["tier"] == "Gold" and m["next_tier"] is None
        assert m["tier_review_at"].startswith("2027-01-31")
        # a partial refund lowers the credit below Gold, but the tier holds until review
        await svc.client.post(f"/v1/purchases/{p['id']}/refund", json={"amount": "300"}, headers=svc.auth("loyalty:write"))
        assert D((await member(svc, cid))["qualifying"]["credit"]) == D(900)
        assert (await member(svc, cid))["tier"] == "Gold"
        clock.set(datetime(2027, 1, 30, tzinfo=UTC))  # new period, still in grace
        assert (await run_job(svc, "review-tiers"))["tier_changes"] == 0
        assert (await member(svc, cid))["tier"] == "Gold"
        clock.set(datetime(2027, 1, 31, tzinfo=UTC))  # 2026 credit (900) does not hold Gold
        assert (await run_job(svc, "review-tiers"))["tier_changes"] == 1
        m = await member(svc, cid)
        assert m["tier"] == "Silver" and m["tier_review_at"] is None
        assert m["next_tier"]["message"] == "spend 1000.00 SAR more by 2027-12-31 to reach Gold"
        events = await read_events(svc.bootstrap, svc.topic("wafa.loyalty"), until=lambda evs: sum(e.type == "loyalty.tier.changed" for e in evs) >= 3)
        changes = [(e.data["from_tier"], e.data["to_tier"], e.data["reason"]) for e in events if e.type == "loyalty.tier.changed"]
        assert changes == [(None, "Silver", "enrolled"), ("Silver", "Gold", "upgrade"), ("Gold", "Silver", "downgrade_at_period_end")]


async def test_a_tier_earned_in_one_year_is_kept_through_the_next_when_requalified(wafa_service: Any) -> None:
    clock = ManualClock(T0)
    async with wafa_service("loyalty", clock=clock) as svc:
        await create_program(svc)
        cid = await enrol(svc)
        await buy(svc, cid, "1000")
        clock.set(datetime(2027, 1, 1, tzinfo=UTC))
        await run_job(svc, "review-tiers")
        m = await member(svc, cid)
        assert m["tier"] == "Gold" and m["tier_review_at"].startswith("2028-01-01")
        clock.set(datetime(2028, 1, 1, tzinfo=UTC))
        await run_job(svc, "review-tiers")
        assert (await member(svc, cid))["tier"] == "Silver"


async def test_expiry_consumes_the_oldest_points_first_and_never_lowers_the_tier(wafa_service: Any) -> None:
    clock = ManualClock(T0)
    async with wafa_service("loyalty", clock=clock) as svc:
        await create_program(svc, expiry_mode="fixed", expiry_months=12, qualification_basis="points")
        cid = await enrol(svc)
        await buy(svc, cid, "1000")  # lot 1: 1000, expires 2027-03-10 -> Gold on points
        clock.set(T0 + timedelta(days=60))
        await buy(svc, cid, "50", at=T0 + timedelta(days=60))  # lot 2: 50 x 1.5 (Gold) = 75, expires 2027-05-09
        r = await svc.client.post(f"/v1/members/{cid}/adjustments", json={"points": "-30", "reason": "test"}, headers=svc.auth("loyalty:write"))
        assert r.status_code == 201
        clock.set(datetime(2027, 2, 20, tzinfo=UTC))
        m = await member(svc, cid)
        assert D(m["expiring_soon"]["points"]) == D(970)  # what is left of lot 1
        clock.set(datetime(2027, 3, 10, 12, tzinfo=UTC))
        assert (await run_job(svc, "expire-points"))["members_with_expired_points"] == 1
        assert (await run_job(svc, "expire-points"))["members_with_expired_points"] == 0
        m = await member(svc, cid)
        assert D(m["available"]) == D(75)
        assert m["tier"] == "Gold"
        clock.set(datetime(2027, 5, 9, 12, tzinfo=UTC))
        await run_job(svc, "expire-points")
        assert D((await member(svc, cid))["available"]) == 0
        expiries = [D(e["points"]) for e in await ledger(svc, cid) if e["kind"] == "expire"]
        assert expiries == [D(-970), D(-75)]
        ev = await svc.wait_for_event("wafa.loyalty", lambda e: e.type == "loyalty.points.expired")
        assert D(ev.data["points"]) == D(970)


async def test_inactivity_expiry_takes_everything_after_n_months_without_a_purchase(wafa_service: Any) -> None:
    clock = ManualClock(T0)
    async with wafa_service("loyalty", clock=clock) as svc:
        await create_program(svc, expiry_mode="inactivity", expiry_months=6)
        cid = await enrol(svc)
        await buy(svc, cid, "120")
        clock.set(datetime(2026, 9, 10, 11, 59, tzinfo=UTC))
        await run_job(svc, "expire-points")
        assert D((await member(svc, cid))["available"]) == D(120)
        clock.set(datetime(2026, 9, 10, 12, 0, tzinfo=UTC))
        await run_job(svc, "expire-points")
        assert D((await member(svc, cid))["available"]) == 0


async def test_economics_show_liability_breakage_tiers_and_reward_cost(wafa_service: Any) -> None:
    clock = ManualClock(T0)
    async with wafa_service("loyalty", clock=clock) as svc:
        await create_program(svc, expiry_mode="fixed", expiry_months=1)
        a, b = await enrol(svc), await enrol(svc)
        await buy(svc, a, "1500")  # Gold
        r = await svc.client.post("/v1/rewards", json={"name": "Mug", "kind": "gift", "cost_points": "500", "cost": "12.00"}, headers=svc.auth("loyalty:write"))
        await svc.client.post("/v1/redemptions", json={"customer_id": str(a), "reward_id": r.json()["id"]}, headers=svc.auth("loyalty:write"))
        await buy(svc, b, "200")
        clock.set(datetime(2026, 4, 10, 12, tzinfo=UTC))
        await run_job(svc, "expire-points")  # a: 1000 left expires, b: 200 expires
        await buy(svc, b, "100", at=datetime(2026, 4, 10, 12, tzinfo=UTC))
        e = (await svc.client.get("/v1/economics?from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z", headers=svc.auth("loyalty:read"))).json()
        assert D(e["outstanding_points"]) == D(100)
        assert D(e["liability"]) == D("5.00")  # 100 x 0.05
        assert D(e["points_earned"]) == D(1800) and D(e["points_expired"]) == D(1200)
        assert D(e["breakage_rate"]) == D("0.6667")
        assert e["tier_distribution"] == {"Gold": 1, "Silver": 1}
        assert e["redemptions_in_period"] == 1 and D(e["reward_cost_in_period"]) == D("12.00")


async def test_a_paid_membership_tier_holds_until_the_subscription_ends_then_falls_back_to_the_earned_tier(wafa_service: Any) -> None:
    clock = ManualClock(T0)
    async with wafa_service("loyalty", clock=clock) as svc:
        tiers = [
            {"name": "Silver", "threshold": "0"},
            {"name": "Gold", "threshold": "1000", "earn_multiplier": "1.5"},
            {"name": "Platinum Club", "threshold": "999999", "earn_multiplier": "2", "paid": True},
        ]
        await create_program(svc, tiers=tiers)
        cid = await enrol(svc)
        await buy(svc, cid, "1000")  # earns Gold
        ends = (T0 + timedelta(days=90)).isoformat()
        r = await svc.client.put(f"/v1/members/{cid}/subscription", json={"tier": "Platinum Club", "ends_at": ends}, headers=svc.auth("loyalty:write"))
        assert r.status_code == 200, r.text
        assert (r.json()["tier"], r.json()["subscription_tier"]) == ("Platinum Club", "Platinum Club")
        p = await buy(svc, cid, "100")
        assert D(p["points"]) == D(200)  # the paid tier's x2
        bad = await svc.client.put(f"/v1/members/{cid}/subscription", json={"tier": "Gold", "ends_at": ends}, headers=svc.auth("loyalty:write"))
        assert bad.status_code == 422 and bad.json()["type"].endswith("/not-a-paid-tier")
        clock.set(T0 + timedelta(days=89))
        await run_job(svc, "review-tiers")
        assert (await member(svc, cid))["tier"] == "Platinum Club"
        clock.set(T0 + timedelta(days=90))
        assert (await run_job(svc, "review-tiers"))["tier_changes"] == 1
        m = await member(svc, cid)
        assert (m["tier"], m["subscription_tier"]) == ("Gold", None)
        ev = await svc.wait_for_event("wafa.loyalty", lambda e: e.type == "loyalty.tier.changed" and e.data["reason"] == "subscription_ended")
        assert (ev.data["from_tier"], ev.data["to_tier"]) == ("Platinum Club", "Gold")
