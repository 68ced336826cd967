"""`/v1/customers`: profiles, search, duplicates, consent, lifecycle, relationships, GDPR."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from wafa_customer import gdpr, repository, service
from wafa_customer.domain import contact
from wafa_customer.models import Customer
from wafa_customer.referrals import register
from wafa_customer.schemas import (
    ConsentsIn,
    ConsentsOut,
    CustomerIn,
    CustomerOut,
    CustomerPatch,
    CustomerSummary,
    DuplicateGroup,
    EndCustomerOut,
    ErasedOut,
    Kind,
    LifecycleChangeOut,
    ReferralOut,
    Stage,
)
from wafa_shared.auth import Principal, require
from wafa_shared.deps import PageDep, RuntimeDep, SessionDep
from wafa_shared.idempotency import IdempotencyKeyHeader, idempotent
from wafa_shared.pagination import Page, keyset_page
from wafa_shared.problems import not_found

router = APIRouter(prefix="/v1/customers", tags=["customers"])
READ = require("customers:read")
WRITE = require("customers:write")


@router.post("", status_code=201, response_model=CustomerOut, summary="Create a customer (person, company or intermediary)")
async def create_customer(
    body: CustomerIn, session: SessionDep, runtime: RuntimeDep, caller: Annotated[Principal, WRITE], key: IdempotencyKeyHeader = None
) -> Any:
    """Publishes `customer.registered`; a lead without an owner is routed to a team member
    (`lead.assigned`). 422 names an invalid field; 409 `duplicate-email` / `duplicate-external-id`."""

    async def create() -> tuple[int, Any]:
        c = await register(session, body, now=runtime.clock.now(), default_country=runtime.settings.default_country)
        return 201, await service.customer_out(session, c)

    return await idempotent(session, scope=f"customers:{caller.subject}", key=key, body=body, create=create)


@router.get("", response_model=Page[CustomerSummary], dependencies=[READ], summary="List and search customers")
async def list_customers(
    session: SessionDep,
    runtime: RuntimeDep,
    page: PageDep,
    q: Annotated[
        str | None, Query(max_length=200, description="Prefix of a name (any word), an email or a phone; case-, accent- and Arabic-insensitive.")
    ] = None,
    name: Annotated[str | None, Query(max_length=200, description="Prefix of a name or of any word of it.")] = None,
    email: Annotated[str | None, Query(max_length=320, description="Prefix of the email.")] = None,
    phone: Annotated[str | None, Query(max_length=40, description="Prefix of the E.164 phone, digits only or with +.")] = None,
    lifecycle: Stage | None = None,
    kind: Kind | None = None,
    owner: Annotated[str | None, Query(max_length=100)] = None,
    tag: Annotated[str | None, Query(max_length=100)] = None,
    company_id: uuid.UUID | None = None,
) -> Any:
    any_prefix = None
    region = runtime.settings.default_country
    if q and q.strip():
        any_prefix = (contact.search_key(q), q.strip().lower(), contact.phone_prefix_key(q, region) if any(ch.isdigit() for ch in q) else None)
    stmt = repository.search_statement(
        name_prefix=contact.search_key(name) if name else None,
        email_prefix=email.strip().lower() if email else None,
        phone_prefix=contact.phone_prefix_key(phone, region) if phone else None,
        any_prefix=any_prefix,
        lifecycle=lifecycle,
        kind=kind,
        owner=owner,
        tag=tag,
        company_id=company_id,
    )
    items, nxt = await keyset_page(session, stmt, [Customer.created_at, Customer.id], page, lambda c: [c.created_at.isoformat(), str(c.id)])
    return Page[CustomerSummary](items=[CustomerSummary.model_validate(c) for c in items], next_cursor=nxt)


@router.get("/duplicates", response_model=list[DuplicateGroup], dependencies=[READ], summary="Customers sharing a mailbox or phone number")
async def list_duplicates(session: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> Any:
    """Groups of customers whose canonical email (case, `+tags` and Gmail dots ignored) or E.164
    phone is the same: candidates for merging."""
    groups = await repository.duplicate_groups(session, limit)
    by_id = await repository.customers_by_ids(session, [i for _, _, ids in groups for i in ids])
    return [
        DuplicateGroup(match=m, value=v, customers=[CustomerSummary.model_validate(by_id[i]) for i in sorted(ids, key=lambda i: (by_id[i].created_at, i))])  # type: ignore[arg-type]
        for m, v, ids in groups
    ]


@router.get("/{customer_id}", response_model=CustomerOut, dependencies=[READ], summary="A customer's profile")
async def get_customer(customer_id: uuid.UUID, runtime: RuntimeDep) -> Any:
    out = await service.get_customer_out(runtime.engine, customer_id)
    return Response(out.model_dump_json(), media_type="application/json")  # already validated: serialise once


@router.patch("/{customer_id}", response_model=CustomerOut, dependencies=[WRITE], summary="Change profile fields")
async def patch_customer(customer_id: uuid.UUID, body: CustomerPatch, session: SessionDep, runtime: RuntimeDep) -> Any:
    """Publishes `customer.updated` naming the changed fields (nothing when nothing changed)."""
    c = await service.update_customer(session, customer_id, body, now=runtime.clock.now(), default_country=runtime.settings.default_country)
    return await service.customer_out(session, c)


@router.delete("/{customer_id}", response_model=ErasedOut, dependencies=[WRITE], summary="Erase a customer's personal data (GDPR)")
async def erase_customer(customer_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep) -> Any:
    """Removes PII and keeps the id as a pseudonym; publishes `customer.erased`. Idempotent."""
    c = await service.erase_customer(session, customer_id, now=runtime.clock.now())
    assert c.erased_at is not None
    return ErasedOut(id=c.id, erased_at=c.erased_at)


@router.get("/{customer_id}/export", dependencies=[READ], summary="Everything held about a customer (GDPR access)")
async def export_customer(customer_id: uuid.UUID, session: SessionDep) -> dict[str, Any]:
    return await gdpr.export(session, customer_id)


@router.put("/{customer_id}/consents", response_model=ConsentsOut, summary="Set consent and contact preferences")
async def put_consents(customer_id: uuid.UUID, body: ConsentsIn, session: SessionDep, runtime: RuntimeDep, caller: Annotated[Principal, WRITE]) -> Any:
    """Each changed channel is audited (status, source, time, who) and publishes
    `customer.consent.changed` with the preferred channel and quiet hours."""
    c = await service.set_consents(session, customer_id, body, now=runtime.clock.now(), actor=caller.subject)
    return await service.consents_out(session, c)


@router.get("/{customer_id}/consents", response_model=ConsentsOut, dependencies=[READ], summary="Consent, preferences and their audit trail")
async def get_consents(customer_id: uuid.UUID, session: SessionDep) -> Any:
    c = await repository.get_customer(session, customer_id)
    if c is None:
        raise not_found("Customer", customer_id)
    return await service.consents_out(session, c)


@router.get("/{customer_id}/lifecycle", response_model=list[LifecycleChangeOut], dependencies=[READ], summary="Lifecycle history")
async def get_lifecycle(customer_id: uuid.UUID, session: SessionDep) -> Any:
    if await repository.get_customer(session, customer_id) is None:
        raise not_found("Customer", customer_id)
    return [LifecycleChangeOut.model_validate(x) for x in await repository.lifecycle_history(session, customer_id)]


@router.get(
    "/{customer_id}/referrals",
    response_model=list[ReferralOut],
    dependencies=[READ],
    summary="Referrals made by or of this customer, with rejections and reasons",
)
async def get_referrals(customer_id: uuid.UUID, session: SessionDep) -> Any:
    if await repository.get_customer(session, customer_id) is None:
        raise not_found("Customer", customer_id)
    return [ReferralOut.model_validate(r) for r in await repository.referrals_involving(session, customer_id)]


@router.get("/{customer_id}/duplicates", response_model=list[CustomerSummary], dependencies=[READ], summary="Other customers with the same mailbox or phone")
async def get_duplicates(customer_id: uuid.UUID, session: SessionDep) -> Any:
    c = await repository.get_customer(session, customer_id)
    if c is None:
        raise not_found("Customer", customer_id)
    return [CustomerSummary.model_validate(m) for m in await repository.customers_matching_contact(session, c.email_canonical, c.phone) if m.id != c.id]


class EndCustomerLink(BaseModel):
    customer_id: uuid.UUID


@router.get("/{customer_id}/end-customers", response_model=list[EndCustomerOut], dependencies=[READ], summary="End customers served through an intermediary")
async def get_end_customers(customer_id: uuid.UUID, session: SessionDep) -> Any:
    if await repository.get_customer(session, customer_id) is None:
        raise not_found("Customer", customer_id)
    return [
        EndCustomerOut(intermediary_id=link.intermediary_id, customer=CustomerSummary.model_validate(c), since=link.created_at)
        for link, c in await repository.end_customers_of(session, customer_id)
    ]


@router.post(
    "/{customer_id}/end-customers",
    status_code=201,
    response_model=EndCustomerOut,
    dependencies=[WRITE],
    summary="Record that an intermediary serves an end customer",
)
async def add_end_customer(customer_id: uuid.UUID, body: EndCustomerLink, session: SessionDep, runtime: RuntimeDep) -> Any:
    link, c = await service.link_end_customer(session, customer_id, body.customer_id, runtime.clock.now())
    return EndCustomerOut(intermediary_id=link.intermediary_id, customer=CustomerSummary.model_validate(c), since=link.created_at)
