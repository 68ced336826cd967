"""Events the customer service consumes (its handlers); what it publishes is in
`wafa_shared.events.customer`.

`facts` keeps the behavioural facts segments use (spend, purchases, first/last purchase, tier,
NPS band) current from loyalty and survey events, converts a lead on its first purchase
(`lead.converted`) and publishes the first-purchase anniversary date (`customer.updated`).
Handlers are deterministic given the event and the database; events for customers this service
does not know are ignored.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wafa_customer import repository as repo
from wafa_customer.models import Customer
from wafa_customer.referrals import convert_on_purchase
from wafa_customer.service import contact_profile, record_lifecycle
from wafa_shared.events import Event
from wafa_shared.events.customer import CustomerUpdated
from wafa_shared.events.loyalty import PurchaseRecorded, PurchaseRefunded, TierChanged
from wafa_shared.events.survey import ResponseSubmitted
from wafa_shared.inbox import ConsumerSpec, Handlers
from wafa_shared.outbox import publish

handlers = Handlers()


LOCKED = "wafa_customer.locked"  # session.info: customers already locked in this transaction


async def _locked_customer(session: AsyncSession, customer_id: uuid.UUID) -> Customer | None:
    """The customer's row, locked for the rest of the transaction: one `SELECT ... FOR UPDATE`
    per customer and consumed batch, not per event (a batch holds many purchases of one
    customer; a statement per event kept this consumer at a few hundred purchases a second,
    behind a busy point of sale, as the chaos test showed)."""
    locked = _locked(session)
    c = locked.get(customer_id)
    if c is None:
        c = await repo.get_customer(session, customer_id, for_update=True)
        if c is not None:
            locked[customer_id] = c
    return c


def _locked(session: AsyncSession) -> dict[uuid.UUID, Customer]:
    """The customers this transaction has locked, held here: the session's identity map keeps
    only weak references, so a locked row nobody held was loaded again by the next event."""
    return session.info.setdefault(LOCKED, {})  # type: ignore[no-any-return]


@handlers.on_batch("loyalty.purchase.recorded")
async def on_purchases(session: AsyncSession, batch: list[tuple[Event, Any]]) -> None:
    """All the batch's customers locked in one statement, then each purchase in order."""
    ids = {d.customer_id for _, d in batch if isinstance(d, PurchaseRecorded)}
    locked = _locked(session)
    locked.update((c.id, c) for c in await repo.lock_customers(session, ids - locked.keys()))
    for event, data in batch:
        if isinstance(data, PurchaseRecorded):
            await on_purchase(session, event, data)


async def on_purchase(session: AsyncSession, event: Event, data: PurchaseRecorded) -> None:
    c = await _locked_customer(session, data.customer_id)
    if c is None:
        return
    c.purchase_count += 1
    c.total_spend = (c.total_spend or Decimal(0)) + data.amount
    changed = []
    if c.first_purchase_at is None or data.occurred_at < c.first_purchase_at:
        c.first_purchase_at = data.occurred_at
        changed.append("first_purchase_date")
    if c.last_purchase_at is None or data.occurred_at > c.last_purchase_at:
        c.last_purchase_at = data.occurred_at
    if c.lifecycle in ("lead", "prospect"):
        await convert_on_purchase(session, c, data.occurred_at)
        changed.append("lifecycle")
    elif c.lifecycle == "former":
        await _reactivate(session, c, data.occurred_at)
        changed.append("lifecycle")
    if changed and c.erased_at is None:
        await publish(session, CustomerUpdated(**contact_profile(c), changed=changed, updated_at=data.occurred_at), subject=c.id)


async def _reactivate(session: AsyncSession, c: Customer, when: datetime) -> None:
    await record_lifecycle(session, c, "customer", "purchase after lapse", when)


@handlers.on("loyalty.purchase.refunded")
async def on_refund(session: AsyncSession, event: Event, data: PurchaseRefunded) -> None:
    c = await repo.get_customer(session, data.customer_id, for_update=True)
    if c is not None:
        c.total_spend = (c.total_spend or Decimal(0)) - data.amount


@handlers.on("loyalty.tier.changed")
async def on_tier(session: AsyncSession, event: Event, data: TierChanged) -> None:
    c = await repo.get_customer(session, data.customer_id, for_update=True)
    if c is not None:
        c.tier = data.to_tier


def nps_band(score: int | None, category: str | None) -> str | None:
    """Promoter (9-10), passive (7-8), detractor (0-6): Reichheld's bands."""
    if category:
        return category.lower()
    if score is None:
        return None
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


@handlers.on("survey.response.submitted")
async def on_response(session: AsyncSession, event: Event, data: ResponseSubmitted) -> None:
    band = nps_band(data.nps, data.nps_category)
    if data.customer_id is None or band is None:
        return
    c = await repo.get_customer(session, data.customer_id, for_update=True)
    if c is not None:
        c.nps_band = band


CONSUMERS: list[ConsumerSpec] = [ConsumerSpec("customer-facts", ["wafa.loyalty", "wafa.survey"], handlers)]
