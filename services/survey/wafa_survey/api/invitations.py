"""Invitations: invite customers (or a sampling plan's selection) to the published version."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from wafa_shared.auth import Principal, require
from wafa_shared.deps import PageDep, RuntimeDep, SessionDep
from wafa_shared.idempotency import IdempotencyKeyHeader, idempotent
from wafa_shared.pagination import Page, keyset_page
from wafa_survey import repository as repo
from wafa_survey import service
from wafa_survey.models import Invitation
from wafa_survey.schemas import InvitationOut, InvitationsIn, InvitationsOut

router = APIRouter(prefix="/v1/surveys", tags=["invitations"])


@router.post(
    "/{survey_id}/invitations",
    status_code=201,
    response_model=InvitationsOut,
    summary="Invite customers; each gets a single-use token and `survey.invitation.created`",
    description="Customers invited (to any survey) within the survey's `fatigue_days` are skipped and listed in `throttled`. "
    "Tokens are returned once, here, and are stored hashed. With `send_at` in the future the invitation is released by the `survey-invitations` job.",
)
async def create_invitations(
    survey_id: uuid.UUID,
    body: InvitationsIn,
    session: SessionDep,
    runtime: RuntimeDep,
    caller: Annotated[Principal, require("surveys:write")],
    key: IdempotencyKeyHeader = None,
) -> Any:
    async def create() -> tuple[int, Any]:
        now = runtime.clock.now()
        created, throttled = await service.invite_by_id(
            session, survey_id, body.invitees, body.sampling_plan_id, body.send_at, now, runtime.settings.public_base_url
        )  # type: ignore[attr-defined]
        return 201, InvitationsOut(created=created, throttled=throttled)

    return await idempotent(session, scope=f"invitations:{caller.subject}:{survey_id}", key=key, body=body, create=create)


@router.get(
    "/{survey_id}/invitations", response_model=Page[InvitationOut], dependencies=[require("surveys:read")], summary="Invitations of a survey (oldest first)"
)
async def list_invitations(survey_id: uuid.UUID, session: SessionDep, page: PageDep, status: Annotated[str | None, Query(max_length=20)] = None) -> Any:
    items, nxt = await keyset_page(
        session, repo.invitations_query(survey_id, status), [Invitation.created_at, Invitation.id], page, lambda i: [i.created_at.isoformat(), str(i.id)]
    )
    return Page[InvitationOut](items=[await service.invitation_out(session, i) for i in items], next_cursor=nxt)
