"""Responses through the real API and broker: scores, single-use tokens, versions, bad input."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from survey_testkit import T0, answer, invite, published_survey, survey_body

from wafa_shared.clock import ManualClock
from wafa_shared.testing.statements import statements

FULL = {
    "nps": 3,
    "why_low": "الانتظار طويل",
    "csat": 4,
    "ces": 2,
    "price": {"satisfaction": 2, "importance": 5},
    "staff": {"satisfaction": 5, "importance": 3},
    "q1": 4,
    "q2": 5,
    "q3": 4,
    "channel": "store",
    "liked": ["staff", "speed"],
    "visits": 12,
    "age": "35+",
}


async def test_completed_response_publishes_its_scores_and_spends_the_token(wafa_service: Any) -> None:
    async with wafa_service("survey", clock=ManualClock(T0)) as svc:
        survey = await published_survey(svc)
        [inv] = await invite(svc, survey["id"])
        created = await svc.wait_for_event("wafa.survey", lambda e: e.type == "survey.invitation.created")
        assert created.data["invitation_id"] == inv["id"] and created.data["url"].endswith(inv["token"])
        assert created.data["expires_at"].startswith("2026-03-15")  # 14 days

        r = await answer(svc, inv["token"], FULL)
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["nps_category"] == "detractor" and body["version"] == 1

        event = await svc.wait_for_event("wafa.survey", lambda e: e.type == "survey.response.submitted")
        assert event.subject == inv["customer_id"]
        data = event.data
        assert data["nps"] == 3 and data["nps_category"] == "detractor"
        assert data["customer_id"] == inv["customer_id"] and data["survey_kind"] == "transactional"
        assert float(data["csat"]) == 4.0 and float(data["ces"]) == 2.0
        assert {k: {p: float(v) for p, v in parts.items()} for k, parts in data["attributes"].items()} == {
            "price": {"satisfaction": 2.0, "importance": 5.0},
            "staff": {"satisfaction": 5.0, "importance": 3.0},
        }

        again = await answer(svc, inv["token"], {"nps": 10, "csat": 5})
        assert again.status_code == 409 and again.json()["type"].endswith("/invitation-used")
        results = (await svc.client.get(f"/v1/surveys/{survey['id']}/results", headers=svc.auth("surveys:read"))).json()
        assert results["responses"] == 1 and results["nps"]["nps"] == -100.0


async def test_partial_saves_merge_and_the_form_is_localized_right_to_left(wafa_service: Any) -> None:
    async with wafa_service("survey", clock=ManualClock(T0)) as svc:
        survey = await published_survey(svc)
        [inv] = await invite(svc, survey["id"])
        form = (await svc.client.get(f"/v1/forms/{inv['token']}", params={"language": "ar"}, headers=svc.auth("surveys:read"))).json()
        assert form["direction"] == "rtl" and form["title"] == "استبيان ما بعد الشراء"
        assert form["questions"][0]["text"] == "ما مدى احتمال أن توصي بنا؟"
        channel = next(q for q in form["questions"] if q["id"] == "channel")
        assert sorted(o["value"] for o in channel["options"]) == ["store", "web"]
        en = (await svc.client.get(f"/v1/forms/{inv['token']}", params={"language": "en"}, headers=svc.auth("surveys:read"))).json()
        assert en["direction"] == "ltr" and en["questions"][0]["text"] == "How likely are you to recommend us?"

        first = await answer(svc, inv["token"], {"nps": 9}, complete=False)
        assert first.status_code == 201 and first.json()["status"] == "partial"
        saved = (await svc.client.get(f"/v1/forms/{inv['token']}", headers=svc.auth("surveys:read"))).json()
        assert saved["saved_answers"] == {"nps": 9}
        done = await answer(svc, inv["token"], {"csat": 5})
        assert done.status_code == 200 and done.json()["status"] == "completed"
        assert done.json()["nps"] == 9 and done.json()["nps_category"] == "promoter"


async def test_a_response_to_a_superseded_version_is_validated_against_its_own_version(wafa_service: Any) -> None:
    async with wafa_service("survey", clock=ManualClock(T0)) as svc:
        survey = await published_survey(svc)
        sid = survey["id"]
        [old] = await invite(svc, sid)
        v2 = survey_body()["questions"] + [{"id": "delivery", "type": "csat", "required": True, "text": {"ar": "التوصيل", "en": "Delivery"}}]
        edited = await svc.client.put(f"/v1/surveys/{sid}", json={"questions": v2}, headers=svc.auth("surveys:write"))
        assert edited.json()["latest_version"] == 2 and edited.json()["published_version"] == 1
        assert [v["status"] for v in edited.json()["versions"]] == ["published", "draft"]
        published = await svc.client.post(f"/v1/surveys/{sid}/publish", headers=svc.auth("surveys:write"))
        assert [v["status"] for v in published.json()["versions"]] == ["superseded", "published"]
        assert published.json()["versions"][0]["questions"] == survey["versions"][0]["questions"]  # v1 unchanged
        [new] = await invite(svc, sid)

        unknown = await answer(svc, old["token"], {"nps": 8, "csat": 4, "delivery": 5})
        assert unknown.status_code == 422
        assert unknown.json()["errors"] == [{"field": "answers.delivery", "in": "body", "message": "delivery is not a question of this survey version"}]
        ok = await answer(svc, old["token"], {"nps": 8, "csat": 4})
        assert ok.status_code == 201 and ok.json()["version"] == 1

        missing = await answer(svc, new["token"], {"nps": 8, "csat": 4})
        assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "answers.delivery"
        ok2 = await answer(svc, new["token"], {"nps": 8, "csat": 4, "delivery": 2})
        assert ok2.status_code == 201 and ok2.json()["version"] == 2


async def test_bad_answers_and_dead_tokens_are_problems_and_store_nothing(wafa_service: Any) -> None:
    clock = ManualClock(T0)
    async with wafa_service("survey", clock=clock) as svc:
        survey = await published_survey(svc)
        sid = survey["id"]
        inv, late = await invite(svc, sid, 2)
        cases = {
            "out of range": ({"nps": 11, "csat": 4}, "answers.nps"),
            "csat zero": ({"nps": 5, "csat": 0}, "answers.csat"),
            "missing required": ({"nps": 5}, "answers.csat"),
            "hidden question": ({"nps": 9, "csat": 4, "why_low": "x"}, "answers.why_low"),
            "wrong type": ({"nps": "9", "csat": 4}, "answers.nps"),
            "bool is not a score": ({"nps": True, "csat": 4}, "answers.nps"),
            "unknown option": ({"nps": 9, "csat": 4, "channel": "phone"}, "answers.channel"),
            "attribute shape": ({"nps": 9, "csat": 4, "price": {"satisfaction": 6, "importance": 1}}, "answers.price"),
            "numeric bounds": ({"nps": 9, "csat": 4, "visits": 101}, "answers.visits"),
            "duplicate choices": ({"nps": 9, "csat": 4, "liked": ["price", "price"]}, "answers.liked"),
        }
        for name, (answers, field) in cases.items():
            r = await answer(svc, inv["token"], answers)
            assert r.status_code == 422, name
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["type"].endswith("/invalid-answers"), name
            assert field in {e["field"] for e in r.json()["errors"]}, name

        bogus = await answer(svc, "not-a-real-token-at-all", {"nps": 9, "csat": 4})
        assert bogus.status_code == 404 and bogus.json()["type"].endswith("/invitation-not-found")
        clock.advance(timedelta(days=14, seconds=1))
        expired = await answer(svc, late["token"], {"nps": 9, "csat": 4})
        assert expired.status_code == 410 and expired.json()["type"].endswith("/invitation-expired")

        results = (await svc.client.get(f"/v1/surveys/{sid}/results", headers=svc.auth("surveys:read"))).json()
        assert results["responses"] == 0 and results["questions"][0]["distribution"] == {}
        csv = await svc.client.get(f"/v1/surveys/{sid}/responses.csv", headers=svc.auth("surveys:read"))
        assert csv.text.count("\n") == 1  # header only


async def test_survey_design_rejects_missing_languages_and_bad_skip_logic(wafa_service: Any) -> None:
    async with wafa_service("survey") as svc:
        no_ar = survey_body(title={"en": "Only English"})
        r = await svc.client.post("/v1/surveys", json=no_ar, headers=svc.auth("surveys:write"))
        assert r.status_code == 422 and any("ar" in e["message"] for e in r.json()["errors"])
        forward = survey_body(questions=[{"id": "a", "type": "nps", "text": {"ar": "أ", "en": "a"}, "show_if": {"question": "b", "in": [1]}}])
        r = await svc.client.post("/v1/surveys", json=forward, headers=svc.auth("surveys:write"))
        assert r.status_code == 422
        r = await svc.client.post("/v1/surveys", json=survey_body(), headers=svc.auth("surveys:read"))
        assert r.status_code == 403
        listed = await svc.client.get("/v1/surveys", headers=svc.auth("surveys:read"))
        assert listed.json()["items"] == []
        r = await svc.client.post("/v1/surveys", json=survey_body(), headers=svc.auth("surveys:write"))
        sid = r.json()["id"]
        r = await svc.client.post(f"/v1/surveys/{sid}/invitations", json={"invitees": [{"customer_id": sid}]}, headers=svc.auth("surveys:write"))
        assert r.status_code == 409 and r.json()["type"].endswith("/survey-not-published")


async def test_a_token_is_spent_once_when_completions_race(wafa_service: Any) -> None:
    async with wafa_service("survey", clock=ManualClock(T0)) as svc:
        survey = await published_survey(svc)
        inv, fresh = await invite(svc, survey["id"], 2)
        saved = await answer(svc, inv["token"], {"nps": 9}, complete=False)
        assert saved.status_code == 201
        # partial saves racing on a fresh token: the first starts the response, the others continue it
        starts = await asyncio.gather(*(answer(svc, fresh["token"], {"nps": i}, complete=False) for i in range(6)))
        assert sorted(r.status_code for r in starts) == [200] * 5 + [201]
        assert len({r.json()["id"] for r in starts}) == 1
        racing = await asyncio.gather(*(answer(svc, inv["token"], {"csat": 1 + i % 5}) for i in range(8)))
        assert sorted(r.status_code for r in racing) == [200] + [409] * 7
        async with svc.runtime.sessions() as session:
            rows = (await session.execute(text("SELECT status, nps FROM responses WHERE survey_id = :s ORDER BY status"), {"s": survey["id"]})).all()
            values = (await session.execute(text("SELECT count(*) FROM response_values WHERE survey_id = :s"), {"s": survey["id"]})).scalar_one()
        assert [tuple(r) for r in rows] == [("completed", 9), ("partial", None)] and values == 2


async def test_anonymous_partial_then_complete_keeps_no_link_to_the_invitation(wafa_service: Any) -> None:
    async with wafa_service("survey", clock=ManualClock(T0)) as svc:
        survey = await published_survey(svc, survey_body(anonymous=True))
        [inv] = await invite(svc, survey["id"])
        assert (await answer(svc, inv["token"], {"nps": 4}, complete=False)).status_code == 201
        again = await answer(svc, inv["token"], {"nps": 5, "why_low": "بطيء"}, complete=False)
        assert again.status_code == 200 and again.json()["status"] == "partial"
        form = (await svc.client.get(f"/v1/forms/{inv['token']}", headers=svc.auth("surveys:read"))).json()
        assert form["saved_answers"] == {"nps": 5, "why_low": "بطيء"}
        done = await answer(svc, inv["token"], {"csat": 2}, language="en")
        assert done.status_code == 200 and done.json()["nps"] == 5
        async with svc.runtime.sessions() as session:
            row = (
                await session.execute(
                    text("SELECT invitation_id, customer_id, status, language, answers, submitted_at FROM responses WHERE id = :r"), {"r": done.json()["id"]}
                )
            ).one()
            spent = (await session.execute(text("SELECT status, responded_at FROM invitations WHERE id = :i"), {"i": inv["id"]})).one()
        assert row.invitation_id is None and row.customer_id is None and row.status == "completed" and row.language == "en"
        assert row.answers == {"nps": 5, "why_low": "بطيء", "csat": 2} and row.submitted_at == T0
        assert tuple(spent) == ("completed", None)
        event = await svc.wait_for_event("wafa.survey", lambda e: e.type == "survey.response.submitted")
        assert event.data["customer_id"] is None and event.data["invitation_id"] is None and event.subject == done.json()["id"]


async def test_a_completion_takes_three_statements(wafa_service: Any) -> None:
    """Pins the response hot path: lock-read of the invitation, one write (response, scored
    items, spent token), one outbox row. (BEGIN/COMMIT and the pool's ping are the session's.)"""
    async with wafa_service("survey", clock=ManualClock(T0)) as svc:
        survey = await published_survey(svc)
        first, inv, partial = await invite(svc, survey["id"], 3)
        assert (await answer(svc, first["token"], FULL)).status_code == 201  # warms the version cache
        with statements(svc) as seen:
            assert (await answer(svc, inv["token"], FULL)).status_code == 201
            completion = len(seen)
            assert (await answer(svc, partial["token"], {"nps": 9}, complete=False)).status_code == 201
            partial_save = len(seen) - completion
            assert (await answer(svc, partial["token"], {"csat": 4})).status_code == 200
            after_partial = len(seen) - completion - partial_save
        assert (completion, partial_save, after_partial) == (3, 2, 3), seen


async def test_an_imported_response_keeps_its_date_and_a_future_one_is_refused(wafa_service: Any) -> None:
    async with wafa_service("survey", clock=ManualClock(T0)) as svc:
        survey = await published_survey(svc)
        [first] = await invite(svc, survey["id"])
        future = {"token": first["token"], "answers": FULL, "submitted_at": (T0 + timedelta(minutes=1)).isoformat()}
        r = await svc.client.post("/v1/responses", json=future, headers=svc.auth("surveys:write"))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "submitted_at"

        given = T0 - timedelta(days=200)
        r = await svc.client.post("/v1/responses", json={**future, "submitted_at": given.isoformat()}, headers=svc.auth("surveys:write"))
        assert r.status_code == 201, r.text
        assert r.json()["submitted_at"] == given.isoformat().replace("+00:00", "Z")
        event = await svc.wait_for_event("wafa.survey", lambda e: e.type == "survey.response.submitted")
        assert event.data["submitted_at"].startswith(given.date().isoformat())
