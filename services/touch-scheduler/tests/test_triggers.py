"""Enrolment triggers and customer facts from other services' events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from touch_testkit import customer_id, first_buyer, first_purchase, register, timeline, wait_profile, wait_touches

from wafa_shared.clock import ManualClock
from wafa_shared.events.customer import ConsentChanged, CustomerErased, ReferralMade
from wafa_shared.events.survey import InvitationCreated, ResponseSubmitted
from wafa_shared.testing.events import eventually
from wafa_shared.testing.webhook_sink import webhook_sink
from wafa_touch.enrolment import dedupe_key
from wafa_touch.models import CustomerProfile

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


async def tasks_of(svc: Any, cid: uuid.UUID) -> list[dict[str, Any]]:
    r = await svc.client.get("/v1/tasks", params={"customer_id": str(cid)}, headers=svc.auth("touches:read"))
    return r.json()["items"]  # type: ignore[no-any-return]


async def test_a_detractor_response_yields_a_service_recovery_call_task_due_within_24_hours(wafa_service) -> None:
    async with wafa_service("touch-scheduler", clock=ManualClock(T0)) as svc:
        cid = uuid.uuid4()
        await register(svc, cid, T0, owner="noura")
        await wait_profile(svc, cid, 5)
        submitted = T0 + timedelta(hours=13)  # 01:00 at night in Riyadh: a task, not a call now
        await svc.emit(
            ResponseSubmitted(
                response_id=uuid.uuid4(), survey_id=uuid.uuid4(), survey_kind="nps", customer_id=cid, nps=3, nps_category="detractor", submitted_at=submitted
            ),
            subject=cid,
        )
        [task] = await eventually(lambda: tasks_of(svc, cid), timeout_s=30)  # type: ignore[misc]
        assert task["kind"] == "phone" and task["assignee"] == "noura"
        due = datetime.fromisoformat(task["due_at"])
        assert submitted < due <= submitted + timedelta(hours=24)
        event = await svc.wait_for_event("wafa.touch", lambda e: e.type == "task.assigned" and e.subject == str(cid))
        assert event.data["task_id"] == task["id"]
        follow = {t["def_key"]: t for t in await timeline(svc, cid)}
        assert follow["recovery-follow-up"]["status"] == "scheduled"


async def test_a_promoter_or_a_happy_csat_triggers_nothing(wafa_service) -> None:
    async with wafa_service("touch-scheduler", clock=ManualClock(T0)) as svc:
        cid = uuid.uuid4()
        await register(svc, cid, T0)
        await wait_profile(svc, cid, 5)
        await svc.emit(
            ResponseSubmitted(response_id=uuid.uuid4(), survey_id=uuid.uuid4(), survey_kind="csat", customer_id=cid, csat=Decimal("4"), submitted_at=T0),
            subject=cid,
        )
        await svc.emit(
            ResponseSubmitted(response_id=uuid.uuid4(), survey_id=uuid.uuid4(), survey_kind="csat", customer_id=cid, csat=Decimal("2"), submitted_at=T0),
            subject=cid,
        )
        await eventually(lambda: tasks_of(svc, cid), timeout_s=30)
        assert len(await tasks_of(svc, cid)) == 1  # only the CSAT of 2


async def test_withdrawing_email_consent_skips_future_emails_at_once_and_erasure_skips_everything_and_drops_pii(wafa_service) -> None:
    async with wafa_service("touch-scheduler", clock=ManualClock(T0)) as svc:
        cid = customer_id()
        await register(svc, cid, T0)
        await wait_profile(svc, cid, 5)
        await first_purchase(svc, cid, T0)
        await wait_touches(svc, cid, 33)
        await svc.emit(ConsentChanged(customer_id=cid, channel="email", status="withdrawn", changed_at=T0 + timedelta(minutes=5)), subject=cid)

        async def emails_skipped() -> list[dict[str, Any]] | None:
            items = [t for t in await timeline(svc, cid) if t["channel"] in ("email", "survey_invite")]
            return items if all(t["status"] == "skipped" for t in items) else None

        skipped = await eventually(emails_skipped, timeout_s=30)
        assert len(skipped) == 15 and {t["reason"] for t in skipped} == {"no-consent:email"}  # type: ignore[arg-type]
        assert sum(t["status"] == "scheduled" for t in await timeline(svc, cid)) == 18

        await svc.emit(CustomerErased(customer_id=cid, erased_at=T0 + timedelta(minutes=10)), subject=cid)

        async def all_skipped() -> bool:
            return all(t["status"] == "skipped" for t in await timeline(svc, cid))

        await eventually(all_skipped, timeout_s=30)
        reasons = {t["reason"] for t in await timeline(svc, cid)}
        assert reasons == {"no-consent:email", "customer-erased"}
        async with svc.runtime.sessions() as s:
            p = await s.get(CustomerProfile, cid)
            assert p is not None and (p.email, p.phone, p.display_name, p.birth_date) == (None, None, None, None) and p.erased_at is not None


async def test_a_referral_enrols_the_advocate_in_advocate_appreciation_with_33_touches(wafa_service) -> None:
    async with wafa_service("touch-scheduler", clock=ManualClock(T0)) as svc:
        advocate = customer_id("advocate-appreciation")
        await register(svc, advocate, T0)
        await wait_profile(svc, advocate, 5)
        await svc.emit(ReferralMade(referral_id=uuid.uuid4(), advocate_id=advocate, referee_id=uuid.uuid4(), made_at=T0), subject=advocate)
        items = await wait_touches(svc, advocate, 33)
        assert len(items) == 33 and all(t["status"] == "scheduled" for t in items)
        thanks = next(t for t in items if t["def_key"] == "referral-thank-you")
        assert datetime.fromisoformat(thanks["due_at"]) == T0 + timedelta(days=1) and thanks["referral_cta"] is False


async def test_a_survey_invitation_is_delivered_through_the_email_partner_with_its_link(wafa_service) -> None:
    # The invitation is due when the survey service created it (the event's time: now).
    clock = ManualClock(datetime.now(UTC) + timedelta(minutes=1))
    async with webhook_sink() as sink, wafa_service("touch-scheduler", clock=clock) as svc:
        await svc.client.put("/v1/channels/survey_invite", json={"url": sink.url}, headers=svc.auth())
        r = await svc.client.put("/v1/fatigue-policy", json={"quiet_start": None, "quiet_end": None}, headers=svc.auth())
        assert r.status_code == 200, r.text
        cid = uuid.uuid4()
        await register(svc, cid, T0)
        await wait_profile(svc, cid, 5)
        inv = InvitationCreated(
            invitation_id=uuid.uuid4(), survey_id=uuid.uuid4(), customer_id=cid, url="https://s.example/i/abc", expires_at=clock.now() + timedelta(days=14)
        )
        await svc.emit(inv, subject=cid)
        await wait_touches(svc, cid, 1)
        r = await svc.client.post("/v1/ops/jobs/dispatch/run", headers=svc.auth())
        assert r.status_code == 200
        import json

        [msg] = sink.received
        body = json.loads(msg.body)
        assert body["channel"] == "survey_invite" and body["data"]["url"] == "https://s.example/i/abc"


async def test_an_at_risk_customer_enters_win_back(wafa_service) -> None:
    from wafa_shared.events.analytics import CustomerAtRisk

    async with wafa_service("touch-scheduler", clock=ManualClock(T0)) as svc:
        cid = customer_id("win-back")
        await register(svc, cid, T0)
        await svc.emit(CustomerAtRisk(customer_id=cid, reason="recency", probability_alive=Decimal("0.2"), detected_at=T0), subject=cid)
        items = await wait_touches(svc, cid, 5)
        assert [t["def_key"] for t in items] == ["win-back-note", "win-back-sms", "win-back-call", "win-back-offer", "win-back-survey"]


async def test_profile_projection_keeps_facts_needed_to_contact(wafa_service) -> None:
    async with wafa_service("touch-scheduler", clock=ManualClock(T0)) as svc:
        cid = uuid.uuid4()
        await register(svc, cid, T0, tz="Europe/London", country="gb")
        await wait_profile(svc, cid, 5)
        async with svc.runtime.sessions() as s:
            p = await s.get(CustomerProfile, cid)
            assert p is not None and (p.time_zone, p.country, p.consents["email"]) == ("Europe/London", "GB", "granted")


async def test_a_converted_lead_schedules_a_thank_you_update_to_its_advocate(wafa_service) -> None:
    from wafa_shared.events.customer import LeadConverted

    async with wafa_service("touch-scheduler", clock=ManualClock(T0)) as svc:
        advocate, lead = uuid.uuid4(), uuid.uuid4()
        await register(svc, advocate, T0)
        await svc.emit(LeadConverted(customer_id=lead, referral_id=uuid.uuid4(), advocate_id=advocate, converted_at=T0), subject=lead)
        [touch] = await wait_touches(svc, advocate, 1)
        assert (touch["def_key"], touch["channel"], touch["content_key"], touch["due_at"]) == (
            "referred-lead-converted",
            "email",
            "referred-lead-update",
            T0.isoformat().replace("+00:00", "Z"),
        )


async def test_a_first_purchase_imported_from_months_ago_skips_the_touches_whose_window_has_closed(wafa_service) -> None:
    # The purchase happened at T0 but arrives 200 days later (a historical import): touches
    # that could only have been sent before today are skipped at once, never announced or sent.
    now = T0 + timedelta(days=200)
    async with wafa_service("touch-scheduler", clock=ManualClock(now)) as svc:
        _, items = await first_buyer(svc, T0)
        passed = [t for t in items if t["status"] == "skipped"]
        assert passed and {t["reason"] for t in passed} == {"window-passed"}
        assert all(datetime.fromisoformat(t["due_at"]) < now for t in passed)
        assert all(t["status"] == "scheduled" and datetime.fromisoformat(t["due_at"]) > now - timedelta(days=31) for t in items if t not in passed)
        skipped_ids = {t["id"] for t in passed}
        seen: set[str] = set()

        def all_skip_events(e: Any) -> bool:
            if e.type == "touch.skipped" and e.data["touch_id"] in skipped_ids:
                assert e.data["reason"] == "window-passed"
                seen.add(e.data["touch_id"])
            return seen == skipped_ids

        await svc.wait_for_event("wafa.touch", all_skip_events)


async def test_the_migrations_dedupe_key_for_an_existing_enrolment_is_the_one_a_new_trigger_computes(wafa_service: Any) -> None:
    """Migration 0006 hashed existing keys in SQL (`md5(key)::uuid`); a trigger replayed after it
    must meet the same key, or the customer would be enrolled twice."""
    async with wafa_service("touch-scheduler") as svc, svc.runtime.sessions() as session:
        key = f"{uuid.uuid4()}:{uuid.uuid4()}:purchase-ref"
        assert await session.scalar(text("SELECT md5(:key)::uuid"), {"key": key}) == dedupe_key(key)
