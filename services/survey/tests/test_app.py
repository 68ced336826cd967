"""The survey service documents its API and events, and refuses callers without a token."""

from __future__ import annotations

from typing import Any


async def test_openapi_lists_the_stable_paths_and_asyncapi_the_survey_events(wafa_service: Any) -> None:
    async with wafa_service("survey") as svc:
        paths = (await svc.client.get("/openapi.json")).json()["paths"]
        for path in (
            "/v1/surveys",
            "/v1/surveys/{survey_id}/publish",
            "/v1/surveys/{survey_id}/invitations",
            "/v1/responses",
            "/v1/surveys/{survey_id}/results",
        ):
            assert path in paths, path
        messages = (await svc.client.get("/asyncapi.json")).json()["components"]["messages"]
        for name in ("survey.invitation.created.v1", "survey.invitation.reminder_due.v1", "survey.response.submitted.v1"):
            assert name in messages, name
        for method, path in (("GET", "/v1/surveys"), ("POST", "/v1/responses"), ("GET", "/v1/surveys/00000000-0000-0000-0000-000000000000/results")):
            r = await svc.client.request(method, path, json={})
            assert r.status_code == 401, path
