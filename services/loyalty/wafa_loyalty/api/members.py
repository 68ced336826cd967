"""`/v1/members`: balances, tier progress, the ledger, adjustments, referral bonuses."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import Response

from wafa_loyalty import members, programs, referrals
from wafa_loyalty.api.purchases import program_cache
from wafa_loyalty.models import LedgerEntry
from wafa_loyalty.schemas import AdjustmentIn, LedgerEntryOut, MemberIn, MemberOut, ReferralBonusOut, SubscriptionIn
from wafa_shared.auth import Principal, require
from wafa_shared.deps import PageDep, RuntimeDep, SessionDep
from wafa_shared.pagination import Page, keyset_page
from wafa_shared.problems import ProblemError

router = APIRouter(prefix="/v1/members", tags=["members"])


@router.post("", status_code=201, response_model=MemberOut, dependencies=[require("loyalty:write")])
async def enrol(body: MemberIn, session: SessionDep, runtime: RuntimeDep) -> Any:
    """Enrol a customer explicitly (customers are also enrolled on `customer.registered`). Idempotent."""
    now = runtime.clock.now()
    if await programs.default_program(session) is None:
        raise ProblemError(409, "no-program", "Create a program before enrolling members.")
    await programs.enrol(session, body.customer_id, body.birth_date, now)
    await session.flush()
    return await members.member_view(session, body.customer_id, now, runtime.settings.expiring_soon_days)


@router.get("/{customer_id}", response_model=MemberOut, dependencies=[require("loyalty:read")])
async def get_member(customer_id: uuid.UUID, runtime: RuntimeDep) -> Any:
    """Redeemable and pending points, the tier, tier-qualifying credit in its window, what is
    needed for the next tier (in the member's currency), and points expiring soon."""
    out = await members.look_up(runtime, customer_id, program_cache(runtime))
    return Response(out.model_dump_json(), media_type="application/json")  # already validated: serialise once


@router.get("/{customer_id}/ledger", response_model=Page[LedgerEntryOut], dependencies=[require("loyalty:read")])
async def get_ledger(customer_id: uuid.UUID, session: SessionDep, page: PageDep) -> Any:
    """The append-only points ledger, oldest first, each entry with the balances after it and its rule."""
    items, nxt = await keyset_page(session, members.ledger_query(customer_id), [LedgerEntry.id], page, lambda e: [e.id])
    return Page[LedgerEntryOut](items=[LedgerEntryOut.model_validate(e) for e in items], next_cursor=nxt)


@router.post("/{customer_id}/adjustments", status_code=201, response_model=LedgerEntryOut)
async def adjust(
    customer_id: uuid.UUID, body: AdjustmentIn, session: SessionDep, runtime: RuntimeDep, caller: Annotated[Principal, require("loyalty:write")]
) -> Any:
    """A manual points adjustment with its reason (recorded in the ledger with who made it)."""
    return await members.adjust(session, customer_id, body, caller.subject, runtime.clock.now())


@router.get("/{customer_id}/referrals", response_model=list[ReferralBonusOut], dependencies=[require("loyalty:read")])
async def get_referrals(customer_id: uuid.UUID, session: SessionDep) -> Any:
    """Referral bonuses where the member is advocate or referee, with their state and reason."""
    return [ReferralBonusOut.model_validate(b) for b in await referrals.list_for(session, customer_id)]


@router.put("/{customer_id}/subscription", response_model=MemberOut, dependencies=[require("loyalty:write")])
async def subscribe(customer_id: uuid.UUID, body: SubscriptionIn, session: SessionDep, runtime: RuntimeDep) -> Any:
    """Start or renew a paid-membership tier until `ends_at`; when it ends the member falls back
    to the tier their qualifying credit earns (`tier.changed` either way)."""
    return await members.subscribe(session, customer_id, body, runtime.clock.now(), runtime.settings.expiring_soon_days)
