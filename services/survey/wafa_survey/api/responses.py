"""Responses by invitation token: the localized form, partial saves and completion."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from wafa_shared.auth import require
from wafa_shared.deps import RuntimeDep, SessionDep, get_runtime
from wafa_survey import service
from wafa_survey.schemas import FormOut, ResponseIn, ResponseOut

router = APIRouter(prefix="/v1", tags=["responses"])


@router.post(
    "/responses",
    status_code=201,
    response_model=ResponseOut,
    dependencies=[require("surveys:write")],
    summary="Save or complete a response by invitation token",
    responses={
        200: {"model": ResponseOut, "description": "A partial response continued."},
        410: {"description": "The invitation expired."},
    },
    description="Answers are validated against the exact version the invitation was made for. `complete: false` saves a partial "
    "response (200 when continuing one); completion spends the token and publishes `survey.response.submitted` with the scores. "
    "Errors change nothing: 404 unknown token, 409 `invitation-used`, 410 `invitation-expired`, 422 `invalid-answers` naming each answer.",
)
async def submit_response(body: ResponseIn, session: SessionDep, request: Request) -> Any:
    # the runtime is read directly: as a dependency (sync `get_runtime`) it costs a worker-thread hop per request
    status, out = await service.submit_response(session, body, get_runtime(request).clock.now())
    return Response(out.model_dump_json(), status_code=status, media_type="application/json")


@router.get("/forms/{token}", response_model=FormOut, dependencies=[require("surveys:read")], summary="The invited version's questions in one language")
async def get_form(
    token: str, session: SessionDep, runtime: RuntimeDep, language: Annotated[str, Query(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")] = "ar"
) -> Any:
    return await service.form(session, token, language, runtime.clock.now())
