"""Queries of the customer service: routes and rules never build SQL; this module does."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, any_, bindparam, false, func, literal, literal_column, or_, select, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from wafa_customer.models import (
    Consent,
    ConsentChange,
    Customer,
    EndCustomer,
    ExternalId,
    FieldDefinition,
    LifecycleChange,
    Referral,
    TeamMember,
)
from wafa_shared.db import driver_connection


async def get_customer(session: AsyncSession, customer_id: uuid.UUID, *, for_update: bool = False) -> Customer | None:
    stmt = select(Customer).where(Customer.id == customer_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def lock_customers(session: AsyncSession, ids: set[uuid.UUID]) -> list[Customer]:
    """Load and lock these customers in one statement, in id order (two batches locking
    overlapping customers cannot deadlock)."""
    if not ids:
        return []
    stmt = select(Customer).where(Customer.id.in_(sorted(ids))).order_by(Customer.id).with_for_update()
    return list((await session.scalars(stmt)).all())


def _customer_with_details() -> Select[Any]:
    def key(name: str) -> Any:
        return literal_column(f"'{name}'")  # a constant of the statement, not a parameter

    ext = (
        select(
            func.coalesce(
                func.json_agg(
                    aggregate_order_by(
                        func.json_build_object(key("source"), ExternalId.source, key("id"), ExternalId.external_id),
                        ExternalId.source,
                        ExternalId.external_id,
                    )
                ),
                literal_column("'[]'::json"),
            )
        )
        .where(ExternalId.customer_id == Customer.id)
        .scalar_subquery()
    )
    consent = func.json_build_object(
        key("channel"), Consent.channel, key("status"), Consent.status, key("source"), Consent.source, key("changed_at"), Consent.changed_at
    )
    cons = (
        select(func.coalesce(func.json_agg(aggregate_order_by(consent, Consent.channel)), literal_column("'[]'::json")))
        .where(Consent.customer_id == Customer.id)
        .scalar_subquery()
    )
    return select(Customer.__table__, ext.label("external_ids_json"), cons.label("consents_json")).where(Customer.id == bindparam("customer_id"))


# The hottest read, compiled once to the driver's SQL (`$1` is the customer id): it runs on the
# asyncpg connection itself, so SQLAlchemy's per-execution work (compiled-cache lookup, parameter
# processing, result wrapping: half the CPU of this read) is not paid per request. asyncpg
# prepares it once per connection and decodes the row in C.
_CUSTOMER_WITH_DETAILS_SQL = str(_customer_with_details().compile(dialect=asyncpg_dialect()))


async def customer_with_details(engine: AsyncEngine, customer_id: uuid.UUID) -> Mapping[str, Any] | None:
    """A customer's columns (named as in `customers`) with `external_ids_json` and
    `consents_json`, in one statement outside any transaction (one consistent snapshot)."""
    async with driver_connection(engine) as conn:
        return await conn.fetchrow(_CUSTOMER_WITH_DETAILS_SQL, customer_id)  # type: ignore[no-any-return]


async def customer_by_email(session: AsyncSession, email: str) -> Customer | None:
    return (await session.execute(select(Customer).where(Customer.email == email))).scalar_one_or_none()


async def customer_by_referral_code(session: AsyncSession, code: str, *, for_update: bool = False) -> Customer | None:
    stmt = select(Customer).where(Customer.referral_code == code.strip().upper())
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def customers_matching_contact(session: AsyncSession, email_canonical: str | None, phone: str | None) -> list[Customer]:
    """Existing (not erased) customers with this canonical email or this E.164 phone."""
    conds = []
    if email_canonical:
        conds.append(Customer.email_canonical == email_canonical)
    if phone:
        conds.append(Customer.phone == phone)
    if not conds:
        return []
    stmt = select(Customer).where(or_(*conds), Customer.erased_at.is_(None)).order_by(Customer.created_at)
    return list((await session.execute(stmt)).scalars())


async def external_id_owner(session: AsyncSession, source: str, external_id: str) -> uuid.UUID | None:
    stmt = select(ExternalId.customer_id).where(ExternalId.source == source, ExternalId.external_id == external_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def external_ids_of(session: AsyncSession, customer_id: uuid.UUID) -> list[ExternalId]:
    stmt = select(ExternalId).where(ExternalId.customer_id == customer_id).order_by(ExternalId.source, ExternalId.external_id)
    return list((await session.execute(stmt)).scalars())


async def consents_of(session: AsyncSession, customer_id: uuid.UUID) -> list[Consent]:
    stmt = select(Consent).where(Consent.customer_id == customer_id).order_by(Consent.channel)
    return list((await session.execute(stmt)).scalars())


async def consent_history(session: AsyncSession, customer_id: uuid.UUID) -> list[ConsentChange]:
    stmt = select(ConsentChange).where(ConsentChange.customer_id == customer_id).order_by(ConsentChange.id)
    return list((await session.execute(stmt)).scalars())


async def lifecycle_history(session: AsyncSession, customer_id: uuid.UUID) -> list[LifecycleChange]:
    stmt = select(LifecycleChange).where(LifecycleChange.customer_id == customer_id).order_by(LifecycleChange.id)
    return list((await session.execute(stmt)).scalars())


async def field_definitions(session: AsyncSession) -> list[FieldDefinition]:
    return list((await session.execute(select(FieldDefinition).order_by(FieldDefinition.name))).scalars())


async def referrals_involving(session: AsyncSession, customer_id: uuid.UUID) -> list[Referral]:
    stmt = select(Referral).where(or_(Referral.advocate_id == customer_id, Referral.referee_id == customer_id)).order_by(Referral.created_at)
    return list((await session.execute(stmt)).scalars())


async def referral_of_referee(session: AsyncSession, referee_id: uuid.UUID) -> Referral | None:
    stmt = select(Referral).where(Referral.referee_id == referee_id, Referral.status.in_(["made", "converted"])).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()


async def count_referrals_since(session: AsyncSession, advocate_id: uuid.UUID, since: datetime) -> int:
    """Referrals that count toward the advocate's limit: accepted ones (rejected attempts do not)."""
    stmt = select(func.count()).where(Referral.advocate_id == advocate_id, Referral.created_at >= since, Referral.status != "rejected")
    return int((await session.execute(stmt)).scalar_one())


async def end_customers_of(session: AsyncSession, intermediary_id: uuid.UUID) -> list[tuple[EndCustomer, Customer]]:
    stmt = (
        select(EndCustomer, Customer)
        .join(Customer, Customer.id == EndCustomer.customer_id)
        .where(EndCustomer.intermediary_id == intermediary_id)
        .order_by(EndCustomer.created_at, Customer.id)
    )
    return [(e, c) for e, c in (await session.execute(stmt)).all()]


async def intermediaries_of(session: AsyncSession, customer_id: uuid.UUID) -> list[uuid.UUID]:
    stmt = select(EndCustomer.intermediary_id).where(EndCustomer.customer_id == customer_id)
    return list((await session.execute(stmt)).scalars())


async def active_team_members(session: AsyncSession) -> list[TeamMember]:
    """Locked, so two leads routed at once take turns instead of both going to one member."""
    stmt = select(TeamMember).where(TeamMember.active.is_(True)).order_by(TeamMember.id).with_for_update()
    return list((await session.execute(stmt)).scalars())


async def mark_assigned(session: AsyncSession, member_id: str, when: datetime) -> None:
    seq = select(func.coalesce(func.max(TeamMember.last_assigned_seq), 0) + 1).scalar_subquery()
    await session.execute(
        update(TeamMember).where(TeamMember.id == member_id).values(assigned_count=TeamMember.assigned_count + 1, last_assigned_at=when, last_assigned_seq=seq)
    )


def search_statement(
    *,
    name_prefix: str | None,
    email_prefix: str | None,
    phone_prefix: str | None,
    any_prefix: tuple[str | None, str | None, str | None] | None,
    lifecycle: str | None,
    kind: str | None,
    owner: str | None,
    tag: str | None,
    company_id: uuid.UUID | None,
) -> Select[Any]:
    """Customers matching every filter given. Prefix searches use `text_pattern_ops` indexes."""
    stmt = select(Customer).where(Customer.erased_at.is_(None))
    if name_prefix:
        stmt = stmt.where(_name_starts(name_prefix))
    if email_prefix:
        stmt = stmt.where(Customer.email.startswith(email_prefix, autoescape=True))
    if phone_prefix:
        stmt = stmt.where(Customer.phone.startswith(phone_prefix, autoescape=True))
    if any_prefix:
        name, email, phone = any_prefix
        conds = []
        if name:
            conds.append(_name_starts(name))
        if email:
            conds.append(Customer.email.startswith(email, autoescape=True))
        if phone and len(phone) > 2:
            conds.append(Customer.phone.startswith(phone, autoescape=True))
        stmt = stmt.where(or_(*conds)) if conds else stmt.where(false())
    if lifecycle:
        stmt = stmt.where(Customer.lifecycle == lifecycle)
    if kind:
        stmt = stmt.where(Customer.kind == kind)
    if owner:
        stmt = stmt.where(Customer.owner == owner)
    if tag:
        stmt = stmt.where(literal(tag) == any_(Customer.tags))
    if company_id:
        stmt = stmt.where(Customer.company_id == company_id)
    return stmt


def _name_starts(prefix: str) -> Any:
    """The full name, or any later word of it, starts with `prefix`."""
    return or_(Customer.search_name.startswith(prefix, autoescape=True), Customer.search_name.contains(" " + prefix, autoescape=True))


async def duplicate_groups(session: AsyncSession, limit: int) -> list[tuple[str, str, list[uuid.UUID]]]:
    """(match, value, customer ids) for canonical emails and phones held by more than one customer."""
    out: list[tuple[str, str, list[uuid.UUID]]] = []
    for match, col in (("email", Customer.email_canonical), ("phone", Customer.phone)):
        stmt = (
            select(col, func.array_agg(Customer.id))
            .where(col.is_not(None), Customer.erased_at.is_(None))
            .group_by(col)
            .having(func.count() > 1)
            .order_by(col)
            .limit(limit)
        )
        out.extend((match, value, list(ids)) for value, ids in (await session.execute(stmt)).all())
    return out


async def customers_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Customer]:
    rows = (await session.execute(select(Customer).where(Customer.id.in_(ids)))).scalars()
    return {c.id: c for c in rows}
