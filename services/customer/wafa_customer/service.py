"""Use cases of customer profiles: create, update, consent, erase, export. Each takes the
request's session and writes state and its events (outbox) in it; nothing here commits.

Guarantees: bad input raises before anything is written (or the request transaction rolls
back); every state change publishes its event in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from wafa_customer import repository as repo
from wafa_customer.domain import contact, lifecycle
from wafa_customer.domain.attributes import FieldDef, validate_attributes
from wafa_customer.models import Consent, ConsentChange, Customer, EndCustomer, ExternalId, LifecycleChange, Referral
from wafa_customer.schemas import (
    ConsentChangeOut,
    ConsentOut,
    ConsentsIn,
    ConsentsOut,
    CustomerIn,
    CustomerOut,
    CustomerPatch,
    ExternalIdIn,
    ExternalIdOut,
    Facts,
    QuietHours,
)
from wafa_shared.events.customer import ConsentChanged, CustomerErased, CustomerRegistered, CustomerUpdated
from wafa_shared.outbox import publish
from wafa_shared.problems import ProblemError, conflict, not_found

PROFILE_FIELDS = (
    "given_name",
    "family_name",
    "display_name",
    "email",
    "phone",
    "language",
    "country",
    "city",
    "time_zone",
    "birth_date",
    "gender",
    "age_band",
    "income_band",
    "household_size",
    "tags",
    "owner",
    "company_id",
    "kind",
)


PII_FIELDS = (
    "given_name",
    "family_name",
    "display_name",
    "search_name",
    "email",
    "email_canonical",
    "phone",
    "city",
    "birth_date",
    "gender",
    "age_band",
    "income_band",
    "household_size",
    "owner",
)


def invalid(field: str, message: str, *, slug: str = "validation-error", where: str = "body") -> ProblemError:
    """A 422 naming the field, shaped like request validation errors."""
    return ProblemError(422, slug, f"Invalid input: {field}", errors=[{"field": field, "in": where, "message": message}])


def normalize_phone_field(raw: str | None, country: str | None, default_country: str, field: str = "phone") -> str | None:
    if raw is None or not raw.strip():
        return None
    try:
        return contact.normalize_phone(raw, country or default_country)
    except contact.InvalidContact as exc:
        raise invalid(field, str(exc)) from None


def display_name_of(given: str | None, family: str | None, display: str | None) -> str | None:
    if display:
        return display
    joined = " ".join(p for p in (given, family) if p)
    return joined or None


def name_key(c: Customer) -> str | None:
    """Search key of the names: given and family name, plus a display name that says more."""
    auto = display_name_of(c.given_name, c.family_name, None)
    return contact.search_key(c.given_name, c.family_name, c.display_name if c.display_name != auto else None)


async def field_defs(session: AsyncSession) -> dict[str, FieldDef]:
    return {d.name: FieldDef(d.name, d.type, d.required, tuple(d.options)) for d in await repo.field_definitions(session)}


def check_attributes(values: dict[str, Any], defs: dict[str, FieldDef], *, partial: bool) -> None:
    problems = validate_attributes(values, defs, partial=partial)
    if problems:
        raise ProblemError(
            422,
            "validation-error",
            "Invalid input: " + ", ".join(f"attributes.{k}" for k, _ in problems),
            errors=[{"field": f"attributes.{k}", "in": "body", "message": m} for k, m in problems],
        )


async def _check_company(session: AsyncSession, company_id: uuid.UUID | None, kind: str, field: str = "company_id") -> None:
    if company_id is None:
        return
    if kind != "person":
        raise invalid(field, "only persons can be contacts of a company")
    company = await repo.get_customer(session, company_id)
    if company is None or company.kind != "company":
        raise invalid(field, f"{company_id} is not a company")


async def _check_intermediary(session: AsyncSession, intermediary_id: uuid.UUID) -> None:
    other = await repo.get_customer(session, intermediary_id)
    if other is None or other.kind != "intermediary":
        raise invalid("intermediary_id", f"{intermediary_id} is not an intermediary")


async def _check_email_free(session: AsyncSession, email: str | None, me: uuid.UUID | None = None) -> None:
    if email is None:
        return
    holder = await repo.customer_by_email(session, email)
    if holder is not None and holder.id != me:
        raise conflict("duplicate-email", f"Another customer already has the email {email}.", existing_customer_id=str(holder.id))


async def _add_external_ids(session: AsyncSession, customer_id: uuid.UUID, ids: list[ExternalIdIn]) -> None:
    for ext in ids:
        owner = await repo.external_id_owner(session, ext.source, ext.id)
        if owner is not None and owner != customer_id:
            raise conflict(
                "duplicate-external-id",
                f"The external id {ext.source}:{ext.id} belongs to another customer.",
                existing_customer_id=str(owner),
            )
        if owner is None:
            await session.execute(insert(ExternalId).values(source=ext.source, external_id=ext.id, customer_id=customer_id))


async def new_referral_code(session: AsyncSession) -> str:
    """A fresh code; collisions (one in 10^12 per pair) are retried."""
    while True:
        code = contact.new_referral_code()
        if await repo.customer_by_referral_code(session, code) is None:
            return code


def personal_dates(c: Customer) -> dict[str, date]:
    """The dates observance touches are planned from: birthday, first-purchase anniversary, custom ones."""
    out: dict[str, date] = {}
    if c.birth_date:
        out["birthday"] = c.birth_date
    if c.first_purchase_at:
        out["first_purchase"] = c.first_purchase_at.date()
    out.update({k: date.fromisoformat(v) for k, v in (c.custom_dates or {}).items()})
    return out


def contact_profile(c: Customer) -> dict[str, Any]:
    """The `ContactProfile` fields of events, from the current row."""
    dates = {k: v for k, v in personal_dates(c).items() if k != "birthday"}
    return {
        "customer_id": c.id,
        "kind": c.kind,
        "lifecycle": c.lifecycle,
        "display_name": c.display_name,
        "given_name": c.given_name,
        "family_name": c.family_name,
        "email": c.email,
        "phone": c.phone,
        "language": c.language,
        "country": c.country,
        "city": c.city,
        "time_zone": c.time_zone,
        "birth_date": c.birth_date,
        "custom_dates": dates,
        "tags": list(c.tags or []),
        "owner": c.owner,
        "referral_code": c.referral_code,
        "company_id": c.company_id,
    }


async def record_lifecycle(session: AsyncSession, c: Customer, to_stage: str, reason: str | None, when: datetime) -> None:
    await session.execute(insert(LifecycleChange).values(customer_id=c.id, from_stage=c.lifecycle, to_stage=to_stage, reason=reason, changed_at=when))
    c.lifecycle = to_stage


async def create_customer(
    session: AsyncSession,
    body: CustomerIn,
    *,
    now: datetime,
    default_country: str,
    referred_by: uuid.UUID | None = None,
    lifecycle_reason: str = "created",
) -> Customer:
    """Create a customer and publish `customer.registered`. 422 for invalid fields, 409 for a
    duplicate email or external id."""
    phone = normalize_phone_field(body.phone, body.country, default_country)
    check_attributes(body.attributes or {}, await field_defs(session), partial=False)
    await _check_company(session, body.company_id, body.kind)
    if body.intermediary_id is not None:
        await _check_intermediary(session, body.intermediary_id)
    await _check_email_free(session, body.email)
    c = Customer(
        id=uuid.uuid4(),
        kind=body.kind,
        lifecycle=body.lifecycle,
        owner=body.owner,
        company_id=body.company_id,
        given_name=body.given_name,
        family_name=body.family_name,
        display_name=display_name_of(body.given_name, body.family_name, body.display_name),
        email=body.email,
        email_canonical=contact.canonical_email(body.email) if body.email else None,
        phone=phone,
        language=body.language,
        country=body.country,
        city=body.city,
        time_zone=body.time_zone,
        birth_date=body.birth_date,
        gender=body.gender,
        age_band=body.age_band,
        income_band=body.income_band,
        household_size=body.household_size,
        attributes=body.attributes or {},
        custom_dates={k: v.isoformat() for k, v in (body.custom_dates or {}).items()},
        tags=sorted(set(body.tags or [])),
        referral_code=await new_referral_code(session),
        referred_by=referred_by,
        purchase_count=0,
        created_at=now,
        updated_at=now,
    )
    c.search_name = name_key(c)
    session.add(c)
    try:
        await session.flush()
    except IntegrityError:
        raise conflict("duplicate-email", f"Another customer already has the email {body.email}.") from None
    await session.execute(insert(LifecycleChange).values(customer_id=c.id, from_stage=None, to_stage=c.lifecycle, reason=lifecycle_reason, changed_at=now))
    await _add_external_ids(session, c.id, body.external_ids)
    if body.intermediary_id is not None:
        await session.execute(insert(EndCustomer).values(intermediary_id=body.intermediary_id, customer_id=c.id, created_at=now))
    await publish(session, CustomerRegistered(**contact_profile(c), registered_at=now, referred_by=referred_by), subject=c.id)
    return c


async def live_customer(session: AsyncSession, customer_id: uuid.UUID, *, for_update: bool = True) -> Customer:
    c = await repo.get_customer(session, customer_id, for_update=for_update)
    if c is None:
        raise not_found("Customer", customer_id)
    if c.erased_at is not None:
        raise ProblemError(409, "customer-erased", f"Customer {customer_id} was erased; its profile cannot change.")
    return c


async def update_customer(session: AsyncSession, customer_id: uuid.UUID, patch: CustomerPatch, *, now: datetime, default_country: str) -> Customer:
    """Apply the fields sent; publish `customer.updated` naming what changed (nothing when nothing did)."""
    c = await live_customer(session, customer_id)
    sent = patch.model_fields_set
    changes: dict[str, Any] = {f: getattr(patch, f) for f in PROFILE_FIELDS if f in sent}
    if "kind" in changes and changes["kind"] is None:
        raise invalid("kind", "kind cannot be empty")
    country = changes.get("country", c.country) if "country" in changes else c.country
    if "phone" in changes:
        changes["phone"] = normalize_phone_field(changes["phone"], country, default_country)
    kind = changes.get("kind") or c.kind
    if "company_id" in changes or "kind" in changes:
        await _check_company(session, changes.get("company_id", c.company_id), kind)
    if changes.get("email") is not None:
        await _check_email_free(session, changes["email"], c.id)
    if "tags" in changes:
        changes["tags"] = sorted(set(changes["tags"] or []))
    if "attributes" in sent and patch.attributes is not None:
        merged = {**c.attributes, **patch.attributes}
        merged = {k: v for k, v in merged.items() if v is not None}
        check_attributes(merged, await field_defs(session), partial=False)
        changes["attributes"] = merged
    if "custom_dates" in sent and patch.custom_dates is not None:
        dates = dict(c.custom_dates)
        for k, v in patch.custom_dates.items():
            if v is None:
                dates.pop(k, None)
            else:
                dates[k] = v.isoformat()
        changes["custom_dates"] = dates
    new_stage = patch.lifecycle if "lifecycle" in sent else None
    if new_stage is not None and not lifecycle.can_move(c.lifecycle, new_stage):
        raise invalid("lifecycle", f"a {c.lifecycle} cannot become a {new_stage}")
    changed = [f for f, v in changes.items() if getattr(c, f) != v]
    for f in changed:
        setattr(c, f, changes[f])
    if new_stage is not None and new_stage != c.lifecycle:
        await record_lifecycle(session, c, new_stage, patch.lifecycle_reason, now)
        changed.append("lifecycle")
    if "email" in changed:
        c.email_canonical = contact.canonical_email(c.email) if c.email else None
    if {"given_name", "family_name", "display_name"} & set(changed):
        if "display_name" not in sent:
            c.display_name = display_name_of(c.given_name, c.family_name, None) if c.kind == "person" else c.display_name
        c.search_name = name_key(c)
    if patch.external_ids:
        before = {(e.source, e.external_id) for e in await repo.external_ids_of(session, c.id)}
        await _add_external_ids(session, c.id, patch.external_ids)
        if {(e.source, e.id) for e in patch.external_ids} - before:
            changed.append("external_ids")
    if not changed:
        return c
    c.updated_at = now
    try:
        await session.flush()
    except IntegrityError:
        raise conflict("duplicate-email", f"Another customer already has the email {c.email}.") from None
    await publish(session, CustomerUpdated(**contact_profile(c), changed=sorted(set(changed)), updated_at=now), subject=c.id)
    return c


def spend_amount(value: Decimal | None) -> Decimal:
    """An amount with at least two and no needless decimals (`12.50`, `0.125`)."""
    d = Decimal(value or 0).normalize()
    exp = d.as_tuple().exponent
    return d.quantize(Decimal("0.01")) if isinstance(exp, int) and exp > -2 else d


async def customer_out(session: AsyncSession, c: Customer) -> CustomerOut:
    exts = [ExternalIdOut.model_validate(e) for e in await repo.external_ids_of(session, c.id)]
    consents = [ConsentOut.model_validate(x) for x in await repo.consents_of(session, c.id)]
    return build_customer_out(c, exts, consents)


async def get_customer_out(engine: AsyncEngine, customer_id: uuid.UUID) -> CustomerOut:
    """The profile as `GET /v1/customers/{id}` shows it, read in one statement; the same
    document `customer_out` builds from the ORM objects. 404 problem if there is no such customer."""
    row = await repo.customer_with_details(engine, customer_id)
    if row is None:
        raise not_found("Customer", customer_id)
    c = SimpleNamespace(**row)
    exts = [ExternalIdOut(**e) for e in row["external_ids_json"]]
    return build_customer_out(c, exts, [ConsentOut(**x) for x in row["consents_json"]])  # type: ignore[arg-type]


def build_customer_out(c: Customer, exts: list[ExternalIdOut], consents: list[ConsentOut]) -> CustomerOut:
    return CustomerOut(
        id=c.id,
        kind=c.kind,
        lifecycle=c.lifecycle,
        owner=c.owner,
        company_id=c.company_id,
        given_name=c.given_name,
        family_name=c.family_name,
        display_name=c.display_name,
        email=c.email,
        phone=c.phone,
        language=c.language,
        country=c.country,
        city=c.city,
        time_zone=c.time_zone,
        birth_date=c.birth_date,
        gender=c.gender,
        age_band=c.age_band,
        income_band=c.income_band,
        household_size=c.household_size,
        attributes=c.attributes or {},
        custom_dates={k: date.fromisoformat(v) for k, v in (c.custom_dates or {}).items()},
        personal_dates=personal_dates(c),
        tags=list(c.tags or []),
        referral_code=c.referral_code if c.erased_at is None else None,
        referred_by=c.referred_by,
        preferred_channel=c.preferred_channel,
        quiet_hours_start=c.quiet_hours_start,
        quiet_hours_end=c.quiet_hours_end,
        external_ids=exts,
        consents=consents,
        facts=Facts(
            total_spend=spend_amount(c.total_spend),
            purchase_count=c.purchase_count,
            first_purchase_at=c.first_purchase_at,
            last_purchase_at=c.last_purchase_at,
            tier=c.tier,
            nps_band=c.nps_band,
        ),
        created_at=c.created_at,
        updated_at=c.updated_at,
        erased_at=c.erased_at,
    )


async def consents_out(session: AsyncSession, c: Customer) -> ConsentsOut:
    quiet = QuietHours(start=c.quiet_hours_start, end=c.quiet_hours_end) if c.quiet_hours_start and c.quiet_hours_end else None
    return ConsentsOut(
        customer_id=c.id,
        consents=[ConsentOut.model_validate(x) for x in await repo.consents_of(session, c.id)],
        preferred_channel=c.preferred_channel,
        quiet_hours=quiet,
        history=[ConsentChangeOut.model_validate(x) for x in await repo.consent_history(session, c.id)],
    )


async def set_consents(session: AsyncSession, customer_id: uuid.UUID, body: ConsentsIn, *, now: datetime, actor: str) -> Customer:
    """Set the channels listed; every real change is audited and publishes `customer.consent.changed`
    (carrying the preferred channel and quiet hours); a change of preferences alone publishes one
    event for the preferred channel. Setting a channel to its current status changes nothing."""
    c = await live_customer(session, customer_id)
    current = {x.channel: x for x in await repo.consents_of(session, c.id)}
    prefs_changed = False
    if "preferred_channel" in body.model_fields_set and body.preferred_channel != c.preferred_channel:
        c.preferred_channel = body.preferred_channel
        prefs_changed = True
    if body.quiet_hours is not None and (body.quiet_hours.start, body.quiet_hours.end) != (c.quiet_hours_start, c.quiet_hours_end):
        if body.quiet_hours.start == body.quiet_hours.end:
            raise invalid("quiet_hours", "start and end must differ")
        c.quiet_hours_start, c.quiet_hours_end = body.quiet_hours.start, body.quiet_hours.end
        prefs_changed = True
    if body.clear_quiet_hours and c.quiet_hours_start is not None:
        c.quiet_hours_start = c.quiet_hours_end = None
        prefs_changed = True
    changed_channels = []
    for channel, status in sorted(body.channels.items()):
        row = current.get(channel)
        if row is not None and row.status == status:
            continue
        if row is None:
            session.add(Consent(customer_id=c.id, channel=channel, status=status, source=body.source, changed_at=now))
        else:
            row.status, row.source, row.changed_at = status, body.source, now
        session.add(ConsentChange(customer_id=c.id, channel=channel, status=status, source=body.source, changed_at=now, changed_by=actor))
        changed_channels.append((channel, status))
    if prefs_changed and not changed_channels and c.preferred_channel:
        pref = current.get(c.preferred_channel)
        changed_channels.append((c.preferred_channel, pref.status if pref else "unknown"))
    if prefs_changed or changed_channels:
        c.updated_at = now
    await session.flush()
    for channel, status in changed_channels:
        await publish(
            session,
            ConsentChanged(
                customer_id=c.id,
                channel=channel,
                status=status,
                source=body.source,
                changed_at=now,
                preferred_channel=c.preferred_channel,
                quiet_hours_start=c.quiet_hours_start,
                quiet_hours_end=c.quiet_hours_end,
            ),
            subject=c.id,
        )
    return c


async def erase_customer(session: AsyncSession, customer_id: uuid.UUID, *, now: datetime) -> Customer:
    """GDPR erasure: PII goes, the id stays as a pseudonym (so aggregates and other services'
    records keep their key), and `customer.erased` tells every service to drop what it holds.
    Erasing twice is a no-op answering the same result."""
    c = await repo.get_customer(session, customer_id, for_update=True)
    if c is None:
        raise not_found("Customer", customer_id)
    if c.erased_at is not None:
        return c
    for f in PII_FIELDS:
        setattr(c, f, None)
    c.attributes, c.custom_dates, c.tags = {}, {}, []
    c.quiet_hours_start = c.quiet_hours_end = None
    c.referral_code = "X" + uuid.uuid4().hex[:15].upper()  # retired: cannot be guessed or reused
    c.erased_at = c.updated_at = now
    await session.execute(delete(ExternalId).where(ExternalId.customer_id == c.id))
    await session.execute(update(Referral).where(Referral.referee_id == c.id).values(referee_name=None, referee_email=None, referee_phone=None))
    await session.execute(update(Referral).where(Referral.advocate_id == c.id).values(detail=None))
    await session.execute(update(ConsentChange).where(ConsentChange.customer_id == c.id).values(changed_by=None))
    await session.flush()
    await publish(session, CustomerErased(customer_id=c.id, erased_at=now), subject=c.id)
    return c


async def link_end_customer(session: AsyncSession, intermediary_id: uuid.UUID, customer_id: uuid.UUID, now: datetime) -> tuple[EndCustomer, Customer]:
    """The intermediary is the direct customer; `customer_id` is the end customer it serves.
    Linking twice keeps the first link."""
    inter = await live_customer(session, intermediary_id, for_update=False)
    if inter.kind != "intermediary":
        raise invalid("intermediary", f"{intermediary_id} is a {inter.kind}, not an intermediary")
    end = await repo.get_customer(session, customer_id)
    if end is None or end.erased_at is not None or end.id == inter.id:
        raise invalid("customer_id", f"{customer_id} is not a customer that can be served by this intermediary")
    await session.execute(pg_insert(EndCustomer).values(intermediary_id=inter.id, customer_id=end.id, created_at=now).on_conflict_do_nothing())
    link = (await session.execute(select(EndCustomer).where(EndCustomer.intermediary_id == inter.id, EndCustomer.customer_id == end.id))).scalar_one()
    return link, end
