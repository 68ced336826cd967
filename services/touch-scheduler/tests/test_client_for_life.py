"""A first purchase enrols the customer in Client for Life: exactly 33 touches in 12 months,
on the right local dates, none in quiet hours; holdout customers get nothing."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from touch_testkit import customer_id, first_buyer, first_purchase, register, timeline, wait_profile, wait_touches

from wafa_shared.clock import ManualClock
from wafa_shared.testing.events import eventually, read_events
from wafa_touch.domain.timing import in_quiet

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
RIYADH = ZoneInfo("Asia/Riyadh")


async def test_a_new_customer_with_a_birthday_gets_exactly_the_client_for_life_schedule(wafa_service) -> None:
    # A look-ahead window longer than the plan, so the announce job publishes all 33 at once.
    async with wafa_service("touch-scheduler", clock=ManualClock(T0), announce_window_days=400) as svc:
        cid = customer_id()
        await register(svc, cid, T0, quiet=(time(20, 0), time(11, 0)))
        await wait_profile(svc, cid, 5)
        await first_purchase(svc, cid, T0)
        items = await wait_touches(svc, cid, 33)
        assert len(items) == 33
        assert all(t["status"] == "scheduled" for t in items), Counter((t["def_key"], t["reason"]) for t in items if t["status"] != "scheduled")
        dues = [datetime.fromisoformat(t["due_at"]) for t in items]
        assert min(dues) >= T0 and max(dues) <= datetime(2027, 1, 11, tzinfo=UTC)
        kinds = Counter(t["channel"] for t in items)
        assert kinds == {"email": 13, "letter": 2, "phone": 4, "card": 4, "gift": 2, "sms": 4, "survey_invite": 2, "push": 2}
        birthday = next(t for t in items if t["def_key"] == "birthday-card")
        local = datetime.fromisoformat(birthday["due_at"]).astimezone(RIYADH)
        assert (local.date(), local.time()) == (date(2026, 7, 4), time(10, 0))
        for t in items:
            if t["channel"] in ("email", "sms", "push", "survey_invite"):
                assert not in_quiet(datetime.fromisoformat(t["due_at"]).astimezone(RIYADH).time(), time(20, 0), time(11, 0)), t
        assert sum(t["referral_cta"] for t in items) == 33
        assert dues == sorted(dues)  # the timeline is in time order
        paged, cursor = [], None
        while True:
            params = {"limit": 10, **({"cursor": cursor} if cursor else {})}
            page = (await svc.client.get(f"/v1/customers/{cid}/touches", params=params, headers=svc.auth("touches:read"))).json()
            paged += [t["id"] for t in page["items"]]
            if not (cursor := page["next_cursor"]):
                break
        assert paged == [t["id"] for t in items]
        r = await svc.client.post("/v1/ops/jobs/announce-due-touches/run", headers=svc.auth())
        assert r.status_code == 200 and r.json()["result"] == {"announced": 33}, r.text
        events = await read_events(svc.bootstrap, svc.topic("wafa.touch"), until=lambda evs: sum(e.type == "touch.scheduled" for e in evs) >= 33)
        enrolled = [e for e in events if e.type == "touch.plan.enrolled"]
        assert len(enrolled) == 1 and enrolled[0].data["holdout"] is False and enrolled[0].data["plan_key"] == "client-for-life"
        scheduled = {e.data["touch_id"]: e.data["due_at"] for e in events if e.type == "touch.scheduled"}
        assert scheduled == {t["id"]: t["due_at"] for t in items}
        r = await svc.client.post("/v1/ops/jobs/announce-due-touches/run", headers=svc.auth())
        assert r.json()["result"] == {"announced": 0}  # each touch is announced once


async def test_touches_are_announced_only_when_they_come_due_within_the_look_ahead_window(wafa_service) -> None:
    clock = ManualClock(T0)
    async with wafa_service("touch-scheduler", clock=clock) as svc:  # default window: 7 days
        cid, items = await first_buyer(svc, T0)  # the API shows the whole year at once
        dues = {t["id"]: datetime.fromisoformat(t["due_at"]) for t in items}
        await svc.wait_for_event("wafa.touch", lambda e: e.type == "touch.plan.enrolled" and e.subject == str(cid))

        async def announce() -> int:
            r = await svc.client.post("/v1/ops/jobs/announce-due-touches/run", headers=svc.auth())
            assert r.status_code == 200, r.text
            return int(r.json()["result"]["announced"])

        expected: set[str] = set()
        for days in (0, 0, 30, 100, 100, 370):
            clock.set(T0 + timedelta(days=days))
            newly = {tid for tid, due in dues.items() if due <= clock.now() + timedelta(days=7)} - expected
            assert await announce() == len(newly), days
            expected |= newly
            n = len(expected)
            until = lambda evs, n=n: sum(e.type == "touch.scheduled" for e in evs) >= n  # noqa: E731
            events = await read_events(svc.bootstrap, svc.topic("wafa.touch"), until=until)
            announced = [e.data["touch_id"] for e in events if e.type == "touch.scheduled"]
            assert sorted(announced) == sorted(expected), days  # each once, none ahead of the window
        assert 0 < len({t for t, d in dues.items() if d <= T0 + timedelta(days=7)}) < 33 and expected == set(dues)


async def test_touches_due_within_the_announced_horizon_are_announced_as_they_are_written(wafa_service) -> None:
    clock = ManualClock(T0)
    async with wafa_service("touch-scheduler", clock=clock) as svc:  # default window: 7 days

        async def announce() -> int:
            r = await svc.client.post("/v1/ops/jobs/announce-due-touches/run", headers=svc.auth())
            assert r.status_code == 200, r.text
            return int(r.json()["result"]["announced"])

        assert await announce() == 0  # nothing yet; the job has announced up to T0 + 7 days
        _, items = await first_buyer(svc, T0)
        dues = {t["id"]: datetime.fromisoformat(t["due_at"]) for t in items}
        early = {tid for tid, due in dues.items() if due <= T0 + timedelta(days=7)}
        assert 0 < len(early) < 33
        # The job is past them: the enrolment announced them itself, each once, and only them.
        until = lambda evs: sum(e.type == "touch.scheduled" for e in evs) >= len(early)  # noqa: E731
        events = await read_events(svc.bootstrap, svc.topic("wafa.touch"), until=until)
        assert sorted(e.data["touch_id"] for e in events if e.type == "touch.scheduled") == sorted(early)
        assert await announce() == 0
        clock.set(T0 + timedelta(days=30))
        later = {tid for tid, due in dues.items() if T0 + timedelta(days=7) < due <= T0 + timedelta(days=37)}
        assert later and await announce() == len(later)
        until = lambda evs: sum(e.type == "touch.scheduled" for e in evs) >= len(early | later)  # noqa: E731
        events = await read_events(svc.bootstrap, svc.topic("wafa.touch"), until=until)
        assert sorted(e.data["touch_id"] for e in events if e.type == "touch.scheduled") == sorted(early | later)


async def test_a_second_first_purchase_event_does_not_enrol_the_customer_twice(wafa_service) -> None:
    async with wafa_service("touch-scheduler", clock=ManualClock(T0)) as svc:
        cid, _ = await first_buyer(svc, T0)
        await first_purchase(svc, cid, T0)
        await read_events(svc.bootstrap, svc.topic("wafa.touch"), until=lambda evs: any(e.type == "touch.plan.enrolled" for e in evs))
        # a later trigger (at-risk) proves the first-purchase duplicate was consumed before it
        from wafa_shared.events.analytics import CustomerAtRisk

        await svc.emit(CustomerAtRisk(customer_id=cid, reason="recency", detected_at=T0), subject=cid)

        async def enrolments() -> list[dict] | None:
            r = await svc.client.get(f"/v1/customers/{cid}/enrolments", headers=svc.auth())
            body = r.json()
            return body if len(body) >= 2 else None

        body = await eventually(enrolments, timeout_s=30)
        assert sorted(e["trigger"] for e in body) == ["at_risk", "first_purchase"]
        assert len([t for t in await timeline(svc, cid) if t["def_key"] == "birthday-card"]) == 1


async def test_holdout_customers_are_recorded_but_get_no_touches(wafa_service) -> None:
    async with wafa_service("touch-scheduler", clock=ManualClock(T0)) as svc:
        cid = customer_id(holdout=True)
        await register(svc, cid, T0)
        await wait_profile(svc, cid, 5)
        await first_purchase(svc, cid, T0)
        event = await svc.wait_for_event("wafa.touch", lambda e: e.type == "touch.plan.enrolled" and e.subject == str(cid))
        assert event.data["holdout"] is True
        r = await svc.client.get(f"/v1/customers/{cid}/enrolments", headers=svc.auth("touches:read"))
        assert [(e["status"], e["holdout"]) for e in r.json()] == [("holdout", True)]
        assert await timeline(svc, cid) == []


async def test_a_birthday_learnt_after_enrolment_schedules_the_card_and_a_changed_birthday_moves_it(wafa_service) -> None:
    from wafa_shared.events.customer import CustomerUpdated

    async with wafa_service("touch-scheduler", clock=ManualClock(T0)) as svc:
        cid = customer_id()
        await first_purchase(svc, cid, T0)  # before the customer service told us anything
        items = await wait_touches(svc, cid, 33)
        card = next(t for t in items if t["def_key"] == "birthday-card")
        assert (card["status"], card["reason"]) == ("skipped", "no-birth-date")

        await register(svc, cid, T0 + timedelta(minutes=1), birth=date(1990, 7, 4))

        async def card_status() -> dict | None:
            c = next(t for t in await timeline(svc, cid) if t["def_key"] == "birthday-card")
            return c if c["status"] == "scheduled" else None

        card = await eventually(card_status, timeout_s=30)
        assert datetime.fromisoformat(card["due_at"]).astimezone(RIYADH).date() == date(2026, 7, 4)

        await svc.emit(
            CustomerUpdated(
                customer_id=cid,
                time_zone="Asia/Riyadh",
                country="SA",
                birth_date=date(1990, 9, 1),
                changed=["birth_date"],
                updated_at=T0 + timedelta(minutes=2),
            ),
            subject=cid,
        )

        async def moved() -> dict | None:
            c = next(t for t in await timeline(svc, cid) if t["def_key"] == "birthday-card")
            return c if datetime.fromisoformat(c["due_at"]).astimezone(RIYADH).date() == date(2026, 9, 1) else None

        await eventually(moved, timeout_s=30)
