"""Events of the customer service (topic `wafa.customer`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import ClassVar

from wafa_shared.events.catalog import event
from wafa_shared.events.envelope import EventData

TOPIC = "wafa.customer"


class _Customer(EventData):
    topic: ClassVar[str] = TOPIC


class ContactProfile(_Customer):
    """What other services need to know of a customer to reward, survey and contact them.
    Contact details are PII: consumers keep them only until `customer.erased`."""

    customer_id: uuid.UUID
    kind: str = "person"
    lifecycle: str = "customer"
    display_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    phone: str | None = None
    language: str | None = None
    country: str | None = None
    city: str | None = None
    time_zone: str | None = None
    birth_date: date | None = None
    custom_dates: dict[str, date] = {}
    tags: list[str] = []
    owner: str | None = None
    referral_code: str | None = None
    company_id: uuid.UUID | None = None


@event
class CustomerRegistered(ContactProfile):
    """A customer (person, company or intermediary) was created."""

    event_type: ClassVar[str] = "customer.registered"
    registered_at: datetime
    referred_by: uuid.UUID | None = None


@event
class CustomerUpdated(ContactProfile):
    """Profile fields changed; `changed` names them; the other fields carry current values."""

    event_type: ClassVar[str] = "customer.updated"
    changed: list[str]
    updated_at: datetime | None = None


@event
class ConsentChanged(_Customer):
    """A channel's consent changed (granted or withdrawn)."""

    event_type: ClassVar[str] = "customer.consent.changed"
    customer_id: uuid.UUID
    channel: str  # email | sms | phone | post | push
    status: str  # granted | withdrawn | unknown
    source: str | None = None
    changed_at: datetime
    preferred_channel: str | None = None
    quiet_hours_start: time | None = None  # local time in the customer's time zone
    quiet_hours_end: time | None = None


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
    referral_code: str | None = None


@event
class ReferralRejected(_Customer):
    """A referral was refused by the fraud checks; nothing was created for the referee.
    `reason` is stable: `self_referral_email`, `self_referral_phone`, `referee_already_customer`,
    `referee_already_referred` or `advocate_limit_exceeded`. Subject: the advocate."""

    event_type: ClassVar[str] = "referral.rejected"
    referral_id: uuid.UUID
    advocate_id: uuid.UUID
    reason: str
    detail: str | None = None
    existing_customer_id: uuid.UUID | None = None
    rejected_at: datetime


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
