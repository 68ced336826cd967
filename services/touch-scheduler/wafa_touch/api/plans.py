"""Plans (built-in and custom) and enrolments: `GET/POST /v1/plans`."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter
from sqlalchemy import select

from wafa_shared.auth import Principal, require
from wafa_shared.deps import PageDep, RuntimeDep, SessionDep
from wafa_shared.idempotency import IdempotencyKeyHeader, idempotent
from wafa_shared.pagination import Page, keyset_page
from wafa_shared.problems import ProblemError
from wafa_touch import repository as repo
from wafa_touch import service
from wafa_touch.enrolment import EnrolRequest, enrol, unenrol
from wafa_touch.models import Plan
from wafa_touch.schemas import EnrolIn, EnrolmentOut, PlanIn, PlanOut, PlanUpdate

router = APIRouter(prefix="/v1", tags=["plans"])


@router.get("/plans", response_model=Page[PlanOut], dependencies=[require("touches:read")], summary="List plans (built-in and custom)")
async def list_plans(session: SessionDep, page: PageDep) -> Any:
    items, nxt = await keyset_page(session, select(Plan), [Plan.key], page, lambda p: [p.key])
    return Page[PlanOut](items=[service.plan_out(p) for p in items], next_cursor=nxt)


@router.post("/plans", status_code=201, response_model=PlanOut, summary="Create a custom plan")
async def create_plan(body: PlanIn, session: SessionDep, caller: Annotated[Principal, require("touches:write")], key: IdempotencyKeyHeader = None) -> Any:
    async def create() -> tuple[int, Any]:
        return 201, service.plan_out(await service.create_plan(session, body))

    return await idempotent(session, scope=f"plans:{caller.subject}", key=key, body=body, create=create)


@router.get("/plans/{plan_id}", response_model=PlanOut, dependencies=[require("touches:read")])
async def get_plan(plan_id: uuid.UUID, session: SessionDep) -> Any:
    return service.plan_out(await service.get_plan(session, plan_id))


@router.put("/plans/{plan_id}", response_model=PlanOut, dependencies=[require("touches:write")], summary="Edit a plan (built-in ones too)")
async def update_plan(plan_id: uuid.UUID, body: PlanUpdate, session: SessionDep) -> Any:
    return service.plan_out(await service.update_plan(session, plan_id, body))


@router.post(
    "/plans/{plan_id}/enrolments", status_code=201, response_model=EnrolmentOut, dependencies=[require("touches:write")], summary="Enrol a customer by hand"
)
async def enrol_customer(plan_id: uuid.UUID, body: EnrolIn, session: SessionDep, runtime: RuntimeDep) -> Any:
    plan = await service.get_plan(session, plan_id)
    if not plan.active:
        raise ProblemError(409, "plan-inactive", "The plan is not active.")
    now = runtime.clock.now()
    s = runtime.settings
    result = await enrol(
        session,
        plan,
        EnrolRequest(body.customer_id, body.anchor_at or now, "manual", None),
        now,
        default_tz=s.default_time_zone,
        default_country=s.default_country,
    )
    if result is None:
        raise ProblemError(409, "already-enrolled", "The customer is already enrolled in this plan, or erased.")
    enrolment = await repo.active_enrolment(session, plan.id, body.customer_id)
    return EnrolmentOut.model_validate(enrolment)


@router.delete("/plans/{plan_id}/enrolments/{customer_id}", dependencies=[require("touches:write")], summary="Unenrol: future touches are skipped")
async def unenrol_customer(plan_id: uuid.UUID, customer_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep) -> dict[str, int]:
    plan = await service.get_plan(session, plan_id)
    skipped = await unenrol(session, plan, customer_id, runtime.clock.now())
    if skipped < 0:
        raise ProblemError(404, "not-enrolled", "The customer is not enrolled in this plan.")
    return {"skipped": skipped}


@router.get(
    "/customers/{customer_id}/enrolments",
    response_model=list[EnrolmentOut],
    dependencies=[require("touches:read")],
    summary="A customer's enrolments, holdout included",
)
async def customer_enrolments(customer_id: uuid.UUID, session: SessionDep) -> Any:
    return [EnrolmentOut.model_validate(e) for e in await repo.customer_enrolments(session, customer_id)]
