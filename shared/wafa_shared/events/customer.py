"""Events of the customer service (topic `wafa.customer`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar

from wafa_shared.events.catalog import event
from wafa_shared.events.envelope import EventData

TOPIC = "wafa.customer"


class _Customer(EventData):
    topic: ClassVar[str] = TOPIC


@event
class CustomerRegistered(_Customer):
    """A customer (person, company or intermediary) was created."""

    event_type: ClassVar[str] = "customer.registered"
    customer_id: uuid.UUID
    kind: str = "person"
    lifecycle: str = "customer"
    country: str | None = None
    time_zone: str | None = None
    language: str | None = None
    birth_date: date | None = None
    referral_code: str | None = None
    registered_at: datetime


@event
class CustomerUpdated(_Customer):
    """Profile fields changed; `changed` names them (values are read from the API, not the bus)."""

    event_type: ClassVar[str] = "customer.updated"
    customer_id: uuid.UUID
    changed: list[str]
    lifecycle: str | None = None
    time_zone: str | None = None
    birth_date: date | None = None


@event
class ConsentChanged(_Customer):
    """A channel's consent changed (granted or withdrawn)."""

    event_type: ClassVar[str] = "customer.consent.changed"
    customer_id: uuid.UUID
    channel: str
    status: str
    source: str | None = None
    changed_at: datetime


@event
class CustomerErased(_Customer):
    """PII was erased (GDPR); every service must drop what it holds of this customer's PII."""

    event_type: ClassVar[str] = "customer.erased"
    customer_id: uuid.UUID
    erased_at: datetime


@event
class ReferralMade(_Customer):
    """An advocate referred someone, who was created as a lead."""

    event_type: ClassVar[str] = "referral.made"
    referral_id: uuid.UUID
    advocate_id: uuid.UUID
    referee_id: uuid.UUID
    made_at: datetime


@event
class LeadAssigned(_Customer):
    event_type: ClassVar[str] = "lead.assigned"
    customer_id: uuid.UUID
    owner: str
    assigned_at: datetime


@event
class LeadConverted(_Customer):
    """A lead made its first purchase."""

    event_type: ClassVar[str] = "lead.converted"
    customer_id: uuid.UUID
    referral_id: uuid.UUID | None = None
    advocate_id: uuid.UUID | None = None
    converted_at: datetime
