"""Consumed events: auto-enrolment, erasure, survey bonus, and the referral bonus lifecycle
(held through the referee's return window, released, or revoked on refund), through the broker."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from loyalty_testkit import T0, D, buy, create_program, enrol, ledger, member, purchase_body, run_job

from wafa_shared.clock import ManualClock
from wafa_shared.events import Event, new_event
from wafa_shared.events.customer import CustomerErased, CustomerRegistered, LeadConverted, ReferralMade, ReferralRejected
from wafa_shared.events.survey import ResponseSubmitted
from wafa_shared.testing.events import eventually, read_events


async def send(svc: Any, *events: Event) -> None:
    """Put exact events on the bus (the same event twice is a redelivery)."""
    producer = AIOKafkaProducer(bootstrap_servers=svc.bootstrap)
    await producer.start()
    try:
        for e in events:
            await producer.send_and_wait(
                svc.topic("wafa.customer" if e.type.startswith(("customer", "referral")) else "wafa.survey"), e.to_json(), key=str(e.subject).encode()
            )
    finally:
        await producer.stop()


async def applied_up_to_here(svc: Any, key: uuid.UUID) -> None:
    """Send a marker registration on the same partition (same key) and wait until it is applied:
    everything sent before it on that partition has been applied too."""
    marker = uuid.uuid4()
    await send(svc, new_event(CustomerRegistered(customer_id=marker, registered_at=T0), source="customer", subject=key))
    await eventually(lambda: get_member(svc, marker))


async def get_member(svc: Any, cid: uuid.UUID) -> Any:
    r = await svc.client.get(f"/v1/members/{cid}", headers=svc.auth("loyalty:read"))
    return r.json() if r.status_code == 200 else None


async def test_registered_customers_are_enrolled_once_and_their_birthday_month_earns_double(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc, rules={"birthday_multiplier": "2"})
        cid = uuid.uuid4()
        registered = new_event(
            CustomerRegistered(customer_id=cid, email="a@example.com", birth_date=date(1991, 3, 5), registered_at=T0), source="customer", subject=cid
        )
        await send(svc, registered)
        m = await eventually(lambda: get_member(svc, cid))
        assert m["tier"] == "Silver"  # type: ignore[index]
        await buy(svc, cid, "100")  # March purchase, March birthday
        await send(svc, registered)  # redelivery: changes nothing
        again = new_event(CustomerRegistered(customer_id=cid, registered_at=T0), source="customer", subject=cid)
        await send(svc, again)  # a second registration of the same id: enrolment is idempotent
        await applied_up_to_here(svc, cid)
        assert D((await member(svc, cid))["available"]) == D(200)
        assert len(await ledger(svc, cid)) == 1


async def test_erasure_drops_the_birth_date_and_refuses_new_purchases(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc)
        cid = await enrol(svc, birth_date="1990-01-01")
        await buy(svc, cid, "10")
        await send(svc, new_event(CustomerErased(customer_id=cid, erased_at=T0), source="customer", subject=cid))
        await applied_up_to_here(svc, cid)
        r = await svc.client.post("/v1/purchases", json=purchase_body(cid, "10"), headers=svc.auth("loyalty:write"))
        assert r.status_code == 422 and r.json()["type"].endswith("/unknown-customer")
        assert D((await member(svc, cid))["available"]) == D(10)  # the financial record stays


async def test_a_completed_survey_earns_the_survey_bonus_once(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc, rules={"survey_bonus": "25"})
        cid = await enrol(svc)
        response = new_event(
            ResponseSubmitted(response_id=uuid.uuid4(), survey_id=uuid.uuid4(), survey_kind="nps", customer_id=cid, nps=9, submitted_at=T0),
            source="survey",
            subject=cid,
        )
        await send(svc, response, response)

        async def credited() -> Any:
            m = await member(svc, cid)
            return D(m["available"]) == 25

        await eventually(credited)
        entries = await ledger(svc, cid)
        assert [(e["kind"], e["rule"], D(e["points"])) for e in entries] == [("earn", "survey_completion", D(25))]


async def test_the_survey_bonus_is_capped_per_customer_per_year(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc, rules={"survey_bonus": "25", "caps": {"survey_completion": "40"}})
        cid = await enrol(svc)
        for _ in range(3):
            data = ResponseSubmitted(response_id=uuid.uuid4(), survey_id=uuid.uuid4(), survey_kind="csat", customer_id=cid, submitted_at=T0)
            await send(svc, new_event(data, source="survey", subject=cid))
        # a marker response for another member, on the same topic and partition (key), applied last
        marker = await enrol(svc)
        data = ResponseSubmitted(response_id=uuid.uuid4(), survey_id=uuid.uuid4(), survey_kind="csat", customer_id=marker, submitted_at=T0)
        await send(svc, new_event(data, source="survey", subject=cid))

        async def marker_applied() -> bool:
            return D((await member(svc, marker))["available"]) == 25

        await eventually(marker_applied)
        assert [D(e["points"]) for e in await ledger(svc, cid)] == [D(25), D(15)]
        assert D((await member(svc, cid))["available"]) == D(40)


async def _referral(svc: Any, advocate: uuid.UUID, referee: uuid.UUID) -> uuid.UUID:
    referral_id = uuid.uuid4()
    await send(svc, new_event(ReferralMade(referral_id=referral_id, advocate_id=advocate, referee_id=referee, made_at=T0), source="customer", subject=advocate))

    async def recorded() -> Any:
        r = (await svc.client.get(f"/v1/members/{advocate}/referrals", headers=svc.auth("loyalty:read"))).json()
        return r if r else None

    bonuses = await eventually(recorded)
    assert bonuses[0]["state"] == "awaiting_purchase"  # type: ignore[index]
    return referral_id


async def test_referral_bonus_stays_pending_through_the_return_window_then_is_released(wafa_service: Any) -> None:
    clock = ManualClock(T0)
    async with wafa_service("loyalty", clock=clock) as svc:
        await create_program(svc, pending_days=14, rules={"referral_bonus": "500"})
        advocate, referee = await enrol(svc), await enrol(svc)
        referral_id = await _referral(svc, advocate, referee)
        await buy(svc, referee, "80")
        m = await member(svc, advocate)
        assert (D(m["available"]), D(m["pending"])) == (0, 500)
        held = [(e["kind"], e["rule"], D(e["pending_delta"])) for e in await ledger(svc, advocate)]
        assert held == [("pending", "referral", D(500))]
        clock.set(T0 + timedelta(days=13))
        await run_job(svc, "mature-points")
        assert D((await member(svc, advocate))["pending"]) == 500
        clock.set(T0 + timedelta(days=14))
        await run_job(svc, "mature-points")
        m = await member(svc, advocate)
        assert (D(m["available"]), D(m["pending"])) == (500, 0)
        [bonus] = (await svc.client.get(f"/v1/members/{advocate}/referrals", headers=svc.auth("loyalty:read"))).json()
        assert bonus["state"] == "released"
        ev = await svc.wait_for_event("wafa.loyalty", lambda e: e.type == "loyalty.referral.bonus.released")
        assert ev.data["referral_id"] == str(referral_id) and D(ev.data["points"]) == 500 and ev.subject == str(advocate)


async def test_referral_bonus_is_revoked_when_the_qualifying_purchase_is_refunded(wafa_service: Any) -> None:
    clock = ManualClock(T0)
    async with wafa_service("loyalty", clock=clock) as svc:
        await create_program(svc, pending_days=14, rules={"referral_bonus": "500"})
        advocate, referee = await enrol(svc), await enrol(svc)
        await _referral(svc, advocate, referee)
        p = await buy(svc, referee, "80")
        clock.set(T0 + timedelta(days=5))
        r = await svc.client.post(f"/v1/purchases/{p['id']}/refund", json={"amount": "80", "reason": "returned"}, headers=svc.auth("loyalty:write"))
        assert r.status_code == 201
        m = await member(svc, advocate)
        assert (D(m["available"]), D(m["pending"])) == (0, 0)
        [bonus] = (await svc.client.get(f"/v1/members/{advocate}/referrals", headers=svc.auth("loyalty:read"))).json()
        assert (bonus["state"], bonus["reason"]) == ("revoked", "qualifying purchase refunded")
        assert [e["kind"] for e in await ledger(svc, advocate)] == ["pending", "revoke"]
        clock.set(T0 + timedelta(days=30))
        await run_job(svc, "mature-points")
        assert D((await member(svc, advocate))["available"]) == 0
        await svc.wait_for_event("wafa.loyalty", lambda e: e.type == "loyalty.referral.bonus.revoked")


async def test_purchase_events_carry_amount_currency_customer_and_lines(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc, pending_days=7)
        cid = await enrol(svc)
        p = await buy(svc, cid, "42.50", channel="pos", store="riyadh-1")
        await svc.client.post(f"/v1/purchases/{p['id']}/refund", json={"amount": "2.50"}, headers=svc.auth("loyalty:write"))
        events = await read_events(svc.bootstrap, svc.topic("wafa.loyalty"), until=lambda evs: any(e.type == "loyalty.purchase.refunded" for e in evs))
        rec = next(e for e in events if e.type == "loyalty.purchase.recorded")
        assert rec.subject == str(cid)
        assert (D(rec.data["amount"]), rec.data["currency"], rec.data["first_purchase"], rec.data["store"]) == (D("42.50"), "SAR", True, "riyadh-1")
        assert rec.data["lines"] == [{"sku": "SKU-1", "category": "grocery", "quantity": "1", "amount": "42.50"}]
        earned = next(e for e in events if e.type == "loyalty.points.earned")
        assert (D(earned.data["points"]), earned.data["pending"], earned.data["rule"]) == (D(42), True, "base_spend")
        refunded = next(e for e in events if e.type == "loyalty.purchase.refunded")
        assert D(refunded.data["amount"]) == D("2.50")


async def test_a_rejected_referral_is_visible_with_its_reason_on_the_advocates_referrals_and_ledger(wafa_service: Any) -> None:
    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc, rules={"referral_bonus": "500"})
        advocate = await enrol(svc)
        referral_id = uuid.uuid4()
        rejected = ReferralRejected(
            referral_id=referral_id, advocate_id=advocate, reason="self_referral_phone", detail="+966501234567 is the advocate's own phone", rejected_at=T0
        )
        await send(svc, new_event(rejected, source="customer", subject=advocate))

        async def listed() -> Any:
            r = (await svc.client.get(f"/v1/members/{advocate}/referrals", headers=svc.auth("loyalty:read"))).json()
            return r if r else None

        [bonus] = await eventually(listed)  # type: ignore[misc]
        assert (bonus["referral_id"], bonus["state"], bonus["reason"], D(bonus["points"])) == (str(referral_id), "rejected", "self_referral_phone", 0)
        [entry] = await ledger(svc, advocate)
        assert (entry["kind"], D(entry["points"]), entry["reason"]) == (
            "referral_rejected",
            0,
            "self_referral_phone: +966501234567 is the advocate's own phone",
        )
        assert D((await member(svc, advocate))["available"]) == 0


async def test_lead_converted_after_the_referees_purchase_holds_the_bonus_from_that_purchase(wafa_service: Any) -> None:
    clock = ManualClock(T0)
    async with wafa_service("loyalty", clock=clock) as svc:
        await create_program(svc, pending_days=14, rules={"referral_bonus": "300"})
        advocate, referee = await enrol(svc), await enrol(svc)
        p = await buy(svc, referee, "60")
        referral_id = uuid.uuid4()
        converted = LeadConverted(customer_id=referee, referral_id=referral_id, advocate_id=advocate, converted_at=T0)
        await send(svc, new_event(converted, source="customer", subject=referee))

        async def held() -> Any:
            r = (await svc.client.get(f"/v1/members/{advocate}/referrals", headers=svc.auth("loyalty:read"))).json()
            return r if r and r[0]["state"] == "pending" else None

        [bonus] = await eventually(held)  # type: ignore[misc]
        assert (bonus["purchase_id"], bonus["release_at"][:10]) == (p["id"], "2026-03-24")
        assert D((await member(svc, advocate))["pending"]) == 300


async def test_a_referees_purchase_locks_the_advocate_with_the_buyers_in_id_order(wafa_service: Any) -> None:
    """The bonus credits the advocate: locking it later, out of id order, could deadlock with a
    concurrent group that holds the advocate and waits for the referee."""
    import asyncpg
    import pytest

    from wafa_loyalty import repository as repo
    from wafa_shared.migrations import asyncpg_dsn

    async with wafa_service("loyalty", clock=ManualClock(T0)) as svc:
        await create_program(svc, rules={"referral_bonus": "500"})
        advocate, referee = await enrol(svc), await enrol(svc)
        await _referral(svc, advocate, referee)
        async with svc.runtime.sessions() as session, session.begin():
            members, referees = await repo.lock_members(session, [referee])
            assert set(members) == {advocate, referee} and referees == {referee}
            other = await asyncpg.connect(asyncpg_dsn(svc.settings.database_url))
            try:
                with pytest.raises(asyncpg.LockNotAvailableError):
                    await other.execute("SELECT 1 FROM members WHERE customer_id = $1 FOR UPDATE NOWAIT", advocate)
            finally:
                await other.close()
