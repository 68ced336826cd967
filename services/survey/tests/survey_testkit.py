"""Fixtures of the survey tests: a bilingual survey definition and helpers to publish,
invite and answer through the real HTTP API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def t(ar: str, en: str) -> dict[str, str]:
    return {"ar": ar, "en": en}


def opts(*values: str) -> list[dict[str, Any]]:
    return [{"value": v, "label": t(f"خيار {v}", f"Option {v}")} for v in values]


def survey_body(**overrides: Any) -> dict[str, Any]:
    """A transactional survey using every question type."""
    body: dict[str, Any] = {
        "name": "After purchase",
        "kind": "transactional",
        "objective": "How did the visit go?",
        "title": t("استبيان ما بعد الشراء", "After-purchase survey"),
        "questions": [
            {"id": "nps", "type": "nps", "required": True, "text": t("ما مدى احتمال أن توصي بنا؟", "How likely are you to recommend us?")},
            {"id": "why_low", "type": "text", "text": t("ما الذي يمكننا تحسينه؟", "What could we improve?"), "show_if": {"question": "nps", "lte": 6}},
            {"id": "csat", "type": "csat", "required": True, "text": t("ما مدى رضاك؟", "How satisfied are you?")},
            {"id": "ces", "type": "ces", "text": t("ما مدى سهولة الشراء؟", "How easy was it?")},
            {"id": "price", "type": "attribute", "attribute": "price", "text": t("السعر", "Price")},
            {"id": "staff", "type": "attribute", "attribute": "staff", "text": t("الموظفون", "Staff")},
            {"id": "q1", "type": "likert", "points": 5, "scale": "trust", "text": t("أثق بكم", "I trust you")},
            {"id": "q2", "type": "likert", "points": 5, "scale": "trust", "text": t("تفون بوعودكم", "You keep promises")},
            {"id": "q3", "type": "likert", "points": 5, "scale": "trust", "text": t("أنتم صادقون", "You are honest")},
            {"id": "channel", "type": "single_choice", "options": opts("web", "store"), "randomize_options": True, "text": t("القناة", "Channel")},
            {"id": "liked", "type": "multiple_choice", "options": opts("price", "speed", "staff"), "text": t("ما أعجبك", "What you liked")},
            {"id": "visits", "type": "numeric", "min": 0, "max": 100, "text": t("عدد الزيارات", "Visits")},
            {"id": "age", "type": "demographic", "options": opts("18-34", "35+"), "text": t("العمر", "Age")},
        ],
    }
    body.update(overrides)
    return body


async def published_survey(svc: Any, body: dict[str, Any] | None = None) -> dict[str, Any]:
    r = await svc.client.post("/v1/surveys", json=body or survey_body(), headers=svc.auth("surveys:write"))
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    r = await svc.client.post(f"/v1/surveys/{sid}/publish", headers=svc.auth("surveys:write"))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def invite(svc: Any, survey_id: str, n: int = 1, segments: list[str | None] | None = None) -> list[dict[str, Any]]:
    invitees = [{"customer_id": str(uuid.uuid4()), "segment": (segments[i] if segments else None)} for i in range(n)]
    r = await svc.client.post(f"/v1/surveys/{survey_id}/invitations", json={"invitees": invitees}, headers=svc.auth("surveys:write"))
    assert r.status_code == 201, r.text
    created = r.json()["created"]
    assert len(created) == n
    return created  # type: ignore[no-any-return]


async def answer(svc: Any, token: str, answers: dict[str, Any], complete: bool = True, language: str = "ar") -> Any:
    return await svc.client.post(
        "/v1/responses", json={"token": token, "answers": answers, "complete": complete, "language": language}, headers=svc.auth("surveys:write")
    )
