"""HTTP models of the customer service. Contact fields are checked here, so a bad email,
time zone, country, language or birth date is a 422 naming the field; phone numbers need the
customer's country and are normalised by the service (`service.normalize_contact`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field, StringConstraints

from wafa_customer.domain import contact
from wafa_shared.clock import LocalTime

Kind = Literal["person", "company", "intermediary"]
Stage = Literal["lead", "prospect", "customer", "former"]
Channel = Literal["email", "sms", "phone", "post", "push"]
ConsentStatus = Literal["granted", "withdrawn", "unknown"]
Gender = Literal["female", "male", "other", "undisclosed"]


def _wrap(fn: Any) -> Any:
    def check(value: Any) -> Any:
        try:
            return fn(value)
        except contact.InvalidContact as exc:
            raise ValueError(str(exc)) from None

    return check


Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(_wrap(contact.normalize_email))]
TimeZone = Annotated[str, AfterValidator(_wrap(contact.check_time_zone))]
Country = Annotated[str, AfterValidator(_wrap(contact.check_country))]
Language = Annotated[str, StringConstraints(max_length=35), AfterValidator(_wrap(contact.check_language))]
BirthDate = Annotated[date, AfterValidator(_wrap(contact.check_birth_date))]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Band = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]


class ExternalIdIn(BaseModel):
    source: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,50}$")] = Field(description="The system the id comes from, e.g. `pos` or `shopify`.")
    id: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class ProfileFields(BaseModel):
    """Fields shared by create, update and import."""

    model_config = ConfigDict(extra="forbid")

    given_name: Name | None = None
    family_name: Name | None = None
    display_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)] | None = Field(
        None, description="Company or trading name; for persons, defaults to given + family name."
    )
    email: Email | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        None,
        description="Any written form; stored as E.164. Numbers without a country code are read in `country` (or the service default).",
        examples=["0501234567"],
    )
    language: Language | None = Field(None, examples=["ar"])
    country: Country | None = Field(None, examples=["SA"])
    city: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    time_zone: TimeZone | None = Field(None, examples=["Asia/Riyadh"])
    birth_date: BirthDate | None = None
    gender: Gender | None = None
    age_band: Band | None = Field(None, examples=["35-44"])
    income_band: Band | None = None
    household_size: int | None = Field(None, ge=1, le=50)
    attributes: dict[str, Any] | None = Field(None, description="Custom fields, validated against `/v1/custom-fields`.")
    custom_dates: dict[Slug, date] | None = Field(None, description='Personal dates for observance touches, e.g. `{"home_purchase": "2024-05-01"}`.')
    tags: list[Tag] | None = Field(None, max_length=100)
    owner: Annotated[str, StringConstraints(max_length=100)] | None = Field(None, description="Team member who owns this lead or account.")
    company_id: uuid.UUID | None = Field(None, description="For a person: the company they are a contact of (B2B).")


class CustomerIn(ProfileFields):
    kind: Kind = "person"
    lifecycle: Stage = "customer"
    external_ids: list[ExternalIdIn] = Field(default_factory=list, max_length=20)
    intermediary_id: uuid.UUID | None = Field(None, description="The intermediary (retailer/reseller) this end customer buys through.")


class CustomerPatch(ProfileFields):
    """Only the fields sent change; `null` clears a field. `attributes` and `custom_dates` merge
    key by key (a `null` value removes the key)."""

    kind: Kind | None = None
    lifecycle: Stage | None = None
    lifecycle_reason: Annotated[str, StringConstraints(max_length=200)] | None = None
    external_ids: list[ExternalIdIn] | None = Field(None, max_length=20, description="Added to the existing ones.")
    attributes: dict[str, Any] | None = None
    custom_dates: dict[Slug, date | None] | None = None  # type: ignore[assignment]


class ConsentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    channel: str
    status: str
    source: str | None
    changed_at: datetime


class ConsentChangeOut(ConsentOut):
    changed_by: str | None


class ExternalIdOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    source: str
    id: str = Field(validation_alias=AliasChoices("external_id", "id"))


class Facts(BaseModel):
    """Behavioural facts kept current from loyalty and survey events."""

    total_spend: Decimal
    purchase_count: int
    first_purchase_at: datetime | None
    last_purchase_at: datetime | None
    tier: str | None
    nps_band: str | None


class CustomerOut(BaseModel):
    id: uuid.UUID
    kind: str
    lifecycle: str
    owner: str | None
    company_id: uuid.UUID | None
    given_name: str | None
    family_name: str | None
    display_name: str | None
    email: str | None
    phone: str | None
    language: str | None
    country: str | None
    city: str | None
    time_zone: str | None
    birth_date: date | None
    gender: str | None
    age_band: str | None
    income_band: str | None
    household_size: int | None
    attributes: dict[str, Any]
    custom_dates: dict[str, date]
    personal_dates: dict[str, date] = Field(description="Birthday, first-purchase anniversary and custom dates: what observance touches use.")
    tags: list[str]
    referral_code: str | None
    referred_by: uuid.UUID | None
    preferred_channel: str | None
    quiet_hours_start: LocalTime | None
    quiet_hours_end: LocalTime | None
    external_ids: list[ExternalIdOut]
    consents: list[ConsentOut]
    facts: Facts
    created_at: datetime
    updated_at: datetime
    erased_at: datetime | None


class CustomerSummary(BaseModel):
    """A customer in lists and search results."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    kind: str
    lifecycle: str
    display_name: str | None
    email: str | None
    phone: str | None
    country: str | None
    owner: str | None
    tags: list[str]
    created_at: datetime


class QuietHours(BaseModel):
    start: LocalTime = Field(description="Local time in the customer's time zone.", examples=["21:00"])
    end: LocalTime = Field(examples=["08:00"])


class ConsentsIn(BaseModel):
    """Channels listed are set (each change audited and published); others stay as they are."""

    model_config = ConfigDict(extra="forbid")
    channels: dict[Channel, ConsentStatus] = Field(default_factory=dict, examples=[{"email": "granted", "sms": "withdrawn"}])
    source: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(
        description="Where the consent was given: `web-form`, `pos`, `call-centre`…"
    )
    preferred_channel: Channel | None = None
    quiet_hours: QuietHours | None = None
    clear_quiet_hours: bool = False


class ConsentsOut(BaseModel):
    customer_id: uuid.UUID
    consents: list[ConsentOut]
    preferred_channel: str | None
    quiet_hours: QuietHours | None
    history: list[ConsentChangeOut]


class LifecycleChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    from_stage: str | None
    to_stage: str
    reason: str | None
    changed_at: datetime


class DuplicateGroup(BaseModel):
    match: Literal["email", "phone"]
    value: str
    customers: list[CustomerSummary]


class FieldDefinitionIn(BaseModel):
    type: Literal["string", "number", "boolean", "date", "enum"]
    required: bool = False
    options: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(default_factory=list, max_length=200)
    description: str | None = Field(None, max_length=500)


class FieldDefinitionOut(FieldDefinitionIn):
    model_config = ConfigDict(from_attributes=True)
    name: str


class EndCustomerOut(BaseModel):
    intermediary_id: uuid.UUID
    customer: CustomerSummary
    since: datetime


class RefereeIn(BaseModel):
    """Who is being referred: enough to contact them (email or phone)."""

    model_config = ConfigDict(extra="forbid")
    given_name: Name | None = None
    family_name: Name | None = None
    email: Email | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    language: Language | None = None
    country: Country | None = None
    city: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    time_zone: TimeZone | None = None


class ReferralIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=16)] = Field(description="The advocate's referral code.")
    referee: RefereeIn


class ReferralOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    advocate_id: uuid.UUID
    referee_id: uuid.UUID | None
    status: str = Field(description="`made`, `converted` or `rejected`.")
    reason: str | None = Field(description="Why a rejected referral was refused (stable code).")
    detail: str | None
    referee_name: str | None
    referee_email: str | None
    referee_phone: str | None
    created_at: datetime
    converted_at: datetime | None


class ReferralMadeOut(ReferralOut):
    referee_owner: str | None = Field(None, description="Team member the new lead was routed to.")


class LeadAssignIn(BaseModel):
    owner: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class TeamMemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@-]{1,100}$")]
    name: str | None = Field(None, max_length=200)
    active: bool = True
    countries: list[Country] = Field(default_factory=list, description="Rule: only leads from these countries (empty: any).")
    languages: list[Language] = Field(default_factory=list, description="Rule: only leads speaking these languages (empty: any).")


class TeamMemberOut(TeamMemberIn):
    model_config = ConfigDict(from_attributes=True)
    assigned_count: int
    last_assigned_at: datetime | None


class SegmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    kind: Literal["dynamic", "static"] = "dynamic"
    rule: dict[str, Any] | None = Field(
        None,
        description="Dynamic segments: a condition `{field, op, value}` or `{all|any: [...]}` / `{not: rule}`.",
        examples=[
            {
                "all": [
                    {"field": "country", "op": "eq", "value": "SA"},
                    {"field": "total_spend", "op": "gte", "value": "1000"},
                    {"not": {"field": "nps_band", "op": "eq", "value": "detractor"}},
                ]
            }
        ],
    )
    description: str | None = Field(None, max_length=1000)
    customer_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10_000, description="Static segments: initial members.")


class SegmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    kind: str
    rule: dict[str, Any] | None
    description: str | None
    created_at: datetime
    member_count: int | None = Field(None, description="Members now (on single-segment reads).")


class MembersIn(BaseModel):
    customer_ids: list[uuid.UUID] = Field(min_length=1, max_length=10_000)


class RulePreviewIn(BaseModel):
    rule: dict[str, Any]


class CountOut(BaseModel):
    count: int


class ImportRowError(BaseModel):
    row: int = Field(description="1-based data row (CSV header excluded).")
    field: str | None
    message: str
    external_id: str | None = None


class ImportJobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    format: str
    status: str = Field(description="`running`, `completed` or `failed`.")
    rows_read: int
    created: int
    updated: int
    failed: int
    errors: list[ImportRowError]
    error: str | None
    started_at: datetime
    finished_at: datetime | None


class ErasedOut(BaseModel):
    id: uuid.UUID
    erased_at: datetime
