"""Survey design: create, list, read, edit (new version when published), publish, sampling plans."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter

from wafa_shared.auth import Principal, require
from wafa_shared.deps import PageDep, RuntimeDep, SessionDep
from wafa_shared.idempotency import IdempotencyKeyHeader, idempotent
from wafa_shared.pagination import Page, keyset_page
from wafa_survey import repository as repo
from wafa_survey import service
from wafa_survey.models import Survey
from wafa_survey.schemas import SamplingPlanIn, SamplingPlanOut, SurveyIn, SurveyOut, SurveyUpdate

router = APIRouter(prefix="/v1/surveys", tags=["surveys"])


@router.post("", status_code=201, response_model=SurveyOut, summary="Create a survey (version 1, draft)")
async def create_survey(
    body: SurveyIn, session: SessionDep, runtime: RuntimeDep, caller: Annotated[Principal, require("surveys:write")], key: IdempotencyKeyHeader = None
) -> Any:
    async def create() -> tuple[int, Any]:
        return 201, await service.create_survey(session, body, runtime.clock.now(), runtime.settings.default_fatigue_days)  # type: ignore[attr-defined]

    return await idempotent(session, scope=f"surveys:{caller.subject}", key=key, body=body, create=create)


@router.get("", response_model=Page[SurveyOut], dependencies=[require("surveys:read")], summary="List surveys (oldest first)")
async def list_surveys(session: SessionDep, page: PageDep) -> Any:
    items, nxt = await keyset_page(session, repo.surveys_query(), [Survey.created_at, Survey.id], page, lambda s: [s.created_at.isoformat(), str(s.id)])
    return Page[SurveyOut](items=[await service.survey_out(session, s) for s in items], next_cursor=nxt)


@router.get("/{survey_id}", response_model=SurveyOut, dependencies=[require("surveys:read")], summary="A survey with all its versions")
async def get_survey(survey_id: uuid.UUID, session: SessionDep) -> Any:
    return await service.get_survey(session, survey_id)


@router.put("/{survey_id}", response_model=SurveyOut, dependencies=[require("surveys:write")], summary="Edit: changes the draft, or makes a new draft version")
async def update_survey(survey_id: uuid.UUID, body: SurveyUpdate, session: SessionDep, runtime: RuntimeDep) -> Any:
    return await service.update_survey(session, survey_id, body, runtime.clock.now())


@router.post(
    "/{survey_id}/publish",
    response_model=SurveyOut,
    dependencies=[require("surveys:write")],
    summary="Publish the latest draft version (immutable from now on)",
)
async def publish_survey(survey_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep) -> Any:
    return await service.publish_survey(session, survey_id, runtime.clock.now())


@router.post(
    "/{survey_id}/sampling-plans",
    status_code=201,
    response_model=SamplingPlanOut,
    dependencies=[require("surveys:write")],
    summary="Sample size and a seeded selection from a population",
)
async def create_sampling_plan(survey_id: uuid.UUID, body: SamplingPlanIn, session: SessionDep, runtime: RuntimeDep) -> Any:
    plan = await service.create_sampling_plan(session, survey_id, body, runtime.clock.now())
    return SamplingPlanOut.model_validate(plan)
