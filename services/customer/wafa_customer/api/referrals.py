"""`/v1/referrals`, `/v1/leads` and `/v1/team-members`: refer by code, see referrals (rejected
ones with their reason), route and reassign leads."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy import select

from wafa_customer import referrals, service
from wafa_customer.models import Customer, Referral, TeamMember
from wafa_customer.schemas import (
    CustomerIn,
    CustomerSummary,
    LeadAssignIn,
    ReferralIn,
    ReferralMadeOut,
    ReferralOut,
    TeamMemberIn,
    TeamMemberOut,
)
from wafa_shared.auth import Principal, require
from wafa_shared.deps import PageDep, RuntimeDep, SessionDep
from wafa_shared.idempotency import IdempotencyKeyHeader, idempotent
from wafa_shared.pagination import Page, keyset_page
from wafa_shared.problems import ProblemError, not_found

router = APIRouter(prefix="/v1", tags=["referrals and leads"])
READ = require("customers:read")
WRITE = require("customers:write")


@router.post(
    "/referrals",
    status_code=201,
    response_model=ReferralMadeOut,
    summary="Refer someone with an advocate's code",
    responses={
        404: {"description": "unknown-referral-code"},
        409: {"description": "referee-already-customer / referee-already-referred"},
        422: {"description": "self-referral-email / self-referral-phone / validation-error"},
        429: {"description": "advocate-limit-exceeded"},
    },
)
async def post_referral(
    body: ReferralIn, session: SessionDep, runtime: RuntimeDep, caller: Annotated[Principal, WRITE], key: IdempotencyKeyHeader = None
) -> Any:
    """The referee becomes a lead routed to a team member; publishes `referral.made` and
    `lead.assigned`. Refusals by the fraud checks (self-referral by email or by the same phone
    written any way, a referee already known, too many referrals by the advocate in the period)
    are recorded with their reason, visible in `GET /v1/referrals?status=rejected`, published as
    `referral.rejected`, and answered with problem+json carrying `reason` and `referral_id`."""
    s = runtime.settings

    async def create() -> tuple[int, Any]:
        referee = CustomerIn(**body.referee.model_dump(exclude_unset=True), lifecycle="lead")
        referral, lead = await referrals.refer(
            session,
            runtime.sessions,
            code=body.code,
            referee=referee,
            now=runtime.clock.now(),
            default_country=s.default_country,
            limit=s.referral_limit,
            period_days=s.referral_period_days,
        )
        out = ReferralMadeOut.model_validate(referral)
        out.referee_owner = lead.owner
        return 201, out

    return await idempotent(session, scope=f"referrals:{caller.subject}", key=key, body=body, create=create)


@router.get("/referrals", response_model=Page[ReferralOut], dependencies=[READ], summary="Referrals, newest first; filter by status or advocate")
async def list_referrals(
    session: SessionDep, page: PageDep, status: Literal["made", "converted", "rejected"] | None = None, advocate_id: uuid.UUID | None = None
) -> Any:
    stmt = select(Referral)
    if status:
        stmt = stmt.where(Referral.status == status)
    if advocate_id:
        stmt = stmt.where(Referral.advocate_id == advocate_id)
    items, nxt = await keyset_page(session, stmt, [Referral.created_at, Referral.id], page, lambda r: [r.created_at.isoformat(), str(r.id)], descending=True)
    return Page[ReferralOut](items=[ReferralOut.model_validate(r) for r in items], next_cursor=nxt)


@router.get("/referrals/{referral_id}", response_model=ReferralOut, dependencies=[READ], summary="One referral")
async def get_referral(referral_id: uuid.UUID, session: SessionDep) -> Any:
    r = await session.get(Referral, referral_id)
    if r is None:
        raise not_found("Referral", referral_id)
    return ReferralOut.model_validate(r)


@router.get("/leads", response_model=Page[CustomerSummary], dependencies=[READ], summary="Leads (and prospects), oldest first")
async def list_leads(
    session: SessionDep,
    page: PageDep,
    owner: Annotated[str | None, Query(max_length=100)] = None,
    unassigned: bool = False,
    include_prospects: bool = False,
) -> Any:
    stages = ["lead", "prospect"] if include_prospects else ["lead"]
    stmt = select(Customer).where(Customer.lifecycle.in_(stages), Customer.erased_at.is_(None))
    if owner:
        stmt = stmt.where(Customer.owner == owner)
    if unassigned:
        stmt = stmt.where(Customer.owner.is_(None))
    items, nxt = await keyset_page(session, stmt, [Customer.created_at, Customer.id], page, lambda c: [c.created_at.isoformat(), str(c.id)])
    return Page[CustomerSummary](items=[CustomerSummary.model_validate(c) for c in items], next_cursor=nxt)


@router.put("/leads/{customer_id}/owner", response_model=CustomerSummary, dependencies=[WRITE], summary="Assign a lead to a team member")
async def assign_lead(customer_id: uuid.UUID, body: LeadAssignIn, session: SessionDep, runtime: RuntimeDep) -> Any:
    """Publishes `lead.assigned` when the owner changes."""
    lead = await service.live_customer(session, customer_id)
    if lead.lifecycle not in ("lead", "prospect"):
        raise ProblemError(409, "not-a-lead", f"Customer {customer_id} is a {lead.lifecycle}, not a lead.")
    if await session.get(TeamMember, body.owner) is None:
        raise ProblemError(
            422, "validation-error", "Invalid input: owner", errors=[{"field": "owner", "in": "body", "message": f"{body.owner!r} is not a team member"}]
        )
    await referrals.assign_lead(session, lead, body.owner, runtime.clock.now())
    return CustomerSummary.model_validate(lead)


@router.get("/team-members", response_model=list[TeamMemberOut], dependencies=[READ], summary="Team members leads are routed to")
async def list_team_members(session: SessionDep) -> Any:
    return [TeamMemberOut.model_validate(m) for m in (await session.execute(select(TeamMember).order_by(TeamMember.id))).scalars()]


@router.put("/team-members/{member_id}", response_model=TeamMemberOut, dependencies=[WRITE], summary="Add or change a team member and their routing rule")
async def put_team_member(member_id: str, body: TeamMemberIn, session: SessionDep) -> Any:
    if body.id != member_id:
        raise service.invalid("id", "must equal the id in the path")
    m = await session.get(TeamMember, member_id, with_for_update=True)
    if m is None:
        m = TeamMember(id=member_id, assigned_count=0, last_assigned_seq=0)
        session.add(m)
    m.name, m.active, m.countries, m.languages = body.name, body.active, list(body.countries), list(body.languages)
    await session.flush()
    return TeamMemberOut.model_validate(m)
