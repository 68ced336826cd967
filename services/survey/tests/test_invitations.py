"""Invitations: the purchase trigger (delay, sampling, fatigue), reminders, sampling plans,
and erasure, through the real API and broker."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from survey_testkit import T0, answer, invite, published_survey, survey_body

from wafa_shared.clock import ManualClock
from wafa_shared.events.customer import CustomerErased
from wafa_shared.events.loyalty import PurchaseRecorded
from wafa_shared.testing.events import eventually, read_events
from wafa_survey.domain.sampling import sampled


def purchase(customer_id: uuid.UUID, **kw: Any) -> PurchaseRecorded:
    return PurchaseRecorded(
        purchase_id=kw.pop("purchase_id", uuid.uuid4()),
        customer_id=customer_id,
        order_id=f"o-{uuid.uuid4().hex[:6]}",
        amount=Decimal("120.00"),
        currency="SAR",
        occurred_at=kw.pop("occurred_at", T0),
        **kw,
    )


async def invitations(svc: Any, sid: str, **params: Any) -> list[dict[str, Any]]:
    r = await svc.client.get(f"/v1/surveys/{sid}/invitations", params={"limit": 500, **params}, headers=svc.auth("surveys:read"))
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


async def consumed(svc: Any, n: int) -> bool:
    from sqlalchemy import text

    async with svc.runtime.sessions() as session:
        return int((await session.execute(text("SELECT count(*) FROM inbox"))).scalar_one()) >= n


async def test_a_purchase_invites_once_and_fatigue_holds_back_the_next_purchase(wafa_service: Any) -> None:
    async with wafa_service("survey", clock=ManualClock(T0)) as svc:
        survey = await published_survey(svc, survey_body(trigger={"event": "loyalty.purchase.recorded"}))
        sid = survey["id"]
        customer = uuid.uuid4()
        await svc.emit(purchase(customer), subject=customer)
        await svc.emit(purchase(customer, occurred_at=T0 + timedelta(days=2)), subject=customer)
        await eventually(lambda: consumed(svc, 2))
        [inv] = await invitations(svc, sid)
        assert inv["customer_id"] == str(customer) and inv["status"] == "sent"
        event = await svc.wait_for_event("wafa.survey", lambda e: e.type == "survey.invitation.created")
        assert event.data["trigger"] == "loyalty.purchase.recorded" and event.data["invitation_id"] == inv["id"]

        # the invitation link works
        token = event.data["url"].rsplit("/", 1)[1]
        r = await answer(svc, token, {"nps": 10, "csat": 5})
        assert r.status_code == 201

        # 31 days later the customer can be asked again
        await svc.emit(purchase(customer, occurred_at=T0 + timedelta(days=31)), subject=customer)
        await eventually(lambda: consumed(svc, 3))
        assert len(await invitations(svc, sid)) == 2


async def test_delayed_trigger_is_released_by_the_job_when_due(wafa_service: Any) -> None:
    clock = ManualClock(T0)
    async with wafa_service("survey", clock=clock) as svc:
        survey = await published_survey(svc, survey_body(trigger={"event": "loyalty.purchase.recorded", "delay_hours": 48, "channels": ["store"]}))
        sid = survey["id"]
        customer = uuid.uuid4()
        await svc.emit(purchase(customer, channel="web"), subject=customer)  # not a store purchase
        await svc.emit(purchase(customer, channel="store"), subject=customer)
        await eventually(lambda: consumed(svc, 2))
        [inv] = await invitations(svc, sid)
        assert inv["status"] == "scheduled" and inv["send_at"].startswith("2026-03-03T09:00")

        run = await svc.client.post("/v1/ops/jobs/survey-invitations/run", headers=svc.auth())
        assert run.json()["result"]["released"] == 0
        clock.advance(timedelta(hours=48))
        run = await svc.client.post("/v1/ops/jobs/survey-invitations/run", headers=svc.auth())
        assert run.json()["result"]["released"] == 1
        event = await svc.wait_for_event("wafa.survey", lambda e: e.type == "survey.invitation.created")
        assert event.data["customer_id"] == str(customer) and event.data["expires_at"].startswith("2026-03-17T09:00")
        assert (await invitations(svc, sid))[0]["status"] == "sent"


async def test_trigger_sampling_rate_invites_the_deterministically_sampled_purchases(wafa_service: Any) -> None:
    async with wafa_service("survey", clock=ManualClock(T0)) as svc:
        survey = await published_survey(svc, survey_body(trigger={"event": "loyalty.purchase.recorded", "sampling_rate": 0.5}))
        sid = survey["id"]
        purchases = [purchase(uuid.uuid4()) for _ in range(40)]
        for p in purchases:
            await svc.emit(p, subject=p.customer_id)
        await eventually(lambda: consumed(svc, 40))
        expected = {str(p.customer_id) for p in purchases if sampled(f"{sid}:{p.purchase_id}", 0.5)}
        assert 5 < len(expected) < 35
        assert {i["customer_id"] for i in await invitations(svc, sid)} == expected


async def test_unanswered_invitations_get_one_reminder_and_expire(wafa_service: Any) -> None:
    clock = ManualClock(T0)
    async with wafa_service("survey", clock=clock) as svc:
        survey = await published_survey(svc, survey_body(reminder_after_days=3, max_reminders=1, invitation_ttl_days=7))
        pending, answered = await invite(svc, survey["id"], 2)
        assert (await answer(svc, answered["token"], {"nps": 9, "csat": 4})).status_code == 201
        clock.advance(timedelta(days=3))
        first = await svc.client.post("/v1/ops/jobs/survey-invitations/run", headers=svc.auth())
        assert first.json()["result"] == {"released": 0, "expired": 0, "reminded": 1}
        reminder = await svc.wait_for_event("wafa.survey", lambda e: e.type == "survey.invitation.reminder_due")
        assert reminder.data["invitation_id"] == pending["id"] and reminder.data["reminder"] == 1
        clock.advance(timedelta(days=3))
        second = await svc.client.post("/v1/ops/jobs/survey-invitations/run", headers=svc.auth())
        assert second.json()["result"]["reminded"] == 0
        clock.advance(timedelta(days=1))
        third = await svc.client.post("/v1/ops/jobs/survey-invitations/run", headers=svc.auth())
        assert third.json()["result"]["expired"] == 1
        statuses = sorted(i["status"] for i in await invitations(svc, survey["id"]))
        assert statuses == ["completed", "expired"]


async def test_fatigue_throttles_invitations_across_surveys(wafa_service: Any) -> None:
    clock = ManualClock(T0)
    async with wafa_service("survey", clock=clock) as svc:
        a = await published_survey(svc)
        b = await published_survey(svc, survey_body(name="Relationship", kind="relationship", fatigue_days=30))
        customer = str(uuid.uuid4())
        body = {"invitees": [{"customer_id": customer}]}
        r = await svc.client.post(f"/v1/surveys/{a['id']}/invitations", json=body, headers=svc.auth("surveys:write"))
        assert len(r.json()["created"]) == 1
        r = await svc.client.post(f"/v1/surveys/{b['id']}/invitations", json=body, headers=svc.auth("surveys:write"))
        assert r.json()["created"] == [] and r.json()["throttled"] == [customer]
        clock.advance(timedelta(days=30))
        r = await svc.client.post(f"/v1/surveys/{b['id']}/invitations", json=body, headers=svc.auth("surveys:write"))
        assert len(r.json()["created"]) == 1


async def test_sampling_plan_sizes_the_sample_records_its_seed_and_feeds_invitations(wafa_service: Any) -> None:
    async with wafa_service("survey", clock=ManualClock(T0)) as svc:
        survey = await published_survey(svc, survey_body(kind="relationship", fatigue_days=0))
        sid = survey["id"]
        population = [{"customer_id": str(uuid.uuid4()), "stratum": "gold" if i < 250 else "silver"} for i in range(1000)]
        body = {"population": population, "margin_of_error": 0.05, "confidence": 0.95, "expected_response_rate": 0.5, "method": "stratified", "seed": 2026}
        r = await svc.client.post(f"/v1/surveys/{sid}/sampling-plans", json=body, headers=svc.auth("surveys:write"))
        assert r.status_code == 201, r.text
        plan = r.json()
        assert plan["required_responses"] == 278 and plan["invitations_needed"] == 556 and plan["seed"] == 2026
        assert plan["allocation"] == {"gold": 139, "silver": 417}
        again = (await svc.client.post(f"/v1/surveys/{sid}/sampling-plans", json=body, headers=svc.auth("surveys:write"))).json()
        assert again["selected"] == plan["selected"]

        r = await svc.client.post(f"/v1/surveys/{sid}/invitations", json={"sampling_plan_id": plan["id"]}, headers=svc.auth("surveys:write"))
        created = r.json()["created"]
        assert len(created) == 556
        for inv in created[:3]:
            assert (await answer(svc, inv["token"], {"nps": 9, "csat": 4})).status_code == 201
        res = (await svc.client.get(f"/v1/surveys/{sid}/results", headers=svc.auth("surveys:read"))).json()
        assert res["population_size"] == 1000 and res["response_rate"] == pytest.approx(3 / 556)
        assert res["margin_of_error"] == pytest.approx(1.959964 * (0.25 / 3) ** 0.5 * (997 / 999) ** 0.5, abs=1e-6)


async def test_customer_erased_anonymises_responses_and_keeps_the_statistics(wafa_service: Any) -> None:
    async with wafa_service("survey", clock=ManualClock(T0)) as svc:
        survey = await published_survey(svc)
        sid = survey["id"]
        erased, kept = await invite(svc, sid, 2)
        assert (await answer(svc, erased["token"], {"nps": 2, "csat": 1, "why_low": "اسمي أحمد ورقمي 0555"})).status_code == 201
        assert (await answer(svc, kept["token"], {"nps": 10, "csat": 5})).status_code == 201
        before = (await svc.client.get(f"/v1/surveys/{sid}/results", headers=svc.auth("surveys:read"))).json()

        customer = uuid.UUID(erased["customer_id"])
        await svc.emit(CustomerErased(customer_id=customer, erased_at=T0), subject=customer)
        await eventually(lambda: consumed(svc, 1))

        r = await svc.client.get(f"/v1/surveys/{sid}/responses.csv", headers=svc.auth("surveys:read"))
        rows = {row["nps"]: row for row in csv.DictReader(io.StringIO(r.text))}
        assert rows["2"]["customer_id"] == "" and rows["2"]["why_low"] == ""
        assert "أحمد" not in r.text
        assert rows["10"]["customer_id"] == kept["customer_id"]
        after = (await svc.client.get(f"/v1/surveys/{sid}/results", headers=svc.auth("surveys:read"))).json()
        assert after["nps"] == before["nps"] and after["csat"] == before["csat"]
        assert after["nps"]["nps"] == 0.0
        events = await read_events(svc.bootstrap, svc.topic("wafa.survey"), until=lambda evs: len(evs) >= 4)
        assert sum(e.type == "survey.response.submitted" for e in events) == 2


async def test_a_completed_touch_triggers_its_survey_and_anonymous_responses_keep_no_customer(wafa_service: Any) -> None:
    from wafa_shared.events.touch import TouchCompleted

    async with wafa_service("survey", clock=ManualClock(T0)) as svc:
        survey = await published_survey(svc, survey_body(anonymous=True, trigger={"event": "touch.completed", "channels": ["phone"]}))
        customer = uuid.uuid4()
        touch = TouchCompleted(touch_id=uuid.uuid4(), customer_id=customer, channel="phone", outcome="reached", completed_at=T0)
        await svc.emit(touch, subject=customer)
        created = await svc.wait_for_event("wafa.survey", lambda e: e.type == "survey.invitation.created")
        assert created.data["trigger"] == "touch.completed" and created.data["customer_id"] == str(customer)
        token = created.data["url"].rsplit("/", 1)[1]
        r = await answer(svc, token, {"nps": 6, "csat": 3})
        assert r.status_code == 201
        submitted = await svc.wait_for_event("wafa.survey", lambda e: e.type == "survey.response.submitted")
        assert submitted.data["customer_id"] is None and submitted.subject == r.json()["id"]
        assert submitted.data["invitation_id"] is None
        assert submitted.data["nps_category"] == "detractor"
        csv_text = (await svc.client.get(f"/v1/surveys/{survey['id']}/responses.csv", headers=svc.auth("surveys:read"))).text
        assert str(customer) not in csv_text
        changed = await svc.client.put(f"/v1/surveys/{survey['id']}", json={"questions": survey_body()["questions"], "anonymous": False}, headers=svc.auth())
        assert changed.status_code == 409 and changed.json()["type"].endswith("/anonymity-fixed")


async def test_repeating_an_invitation_request_with_its_idempotency_key_invites_once(wafa_service: Any) -> None:
    async with wafa_service("survey", clock=ManualClock(T0)) as svc:
        survey = await published_survey(svc, survey_body(fatigue_days=0))
        body = {"invitees": [{"customer_id": str(uuid.uuid4())}]}
        headers = {**svc.auth("surveys:write"), "Idempotency-Key": "batch-1"}
        first = await svc.client.post(f"/v1/surveys/{survey['id']}/invitations", json=body, headers=headers)
        again = await svc.client.post(f"/v1/surveys/{survey['id']}/invitations", json=body, headers=headers)
        assert again.headers.get("idempotent-replayed") == "true" and again.json() == first.json()
        assert len(await invitations(svc, survey["id"])) == 1


async def test_invitations_take_the_customers_loyalty_tier_as_segment(wafa_service: Any) -> None:
    from wafa_shared.events.loyalty import TierChanged

    async with wafa_service("survey", clock=ManualClock(T0)) as svc:
        survey = await published_survey(svc, survey_body(trigger={"event": "loyalty.purchase.recorded"}))
        sid = survey["id"]
        customer = uuid.uuid4()
        await svc.emit(TierChanged(customer_id=customer, from_tier="silver", to_tier="gold", reason="spend", occurred_at=T0), subject=customer)
        await svc.emit(purchase(customer, occurred_at=T0 + timedelta(hours=1)), subject=customer)
        await eventually(lambda: consumed(svc, 2))
        created = await svc.wait_for_event("wafa.survey", lambda e: e.type == "survey.invitation.created")
        token = created.data["url"].rsplit("/", 1)[1]
        assert (await answer(svc, token, {"nps": 10, "csat": 5})).status_code == 201
        gold = (await svc.client.get(f"/v1/surveys/{sid}/results", params={"segment": "gold"}, headers=svc.auth("surveys:read"))).json()
        assert gold["responses"] == 1 and gold["invited"] == 1 and gold["nps"]["nps"] == 100.0
        submitted = await svc.wait_for_event("wafa.survey", lambda e: e.type == "survey.response.submitted")
        assert submitted.data["segment"] == "gold"
