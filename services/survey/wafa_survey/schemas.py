"""HTTP models of the survey service."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wafa_survey.domain.questions import Question, Text, _check_languages

Kind = Literal["transactional", "relationship"]


class Trigger(BaseModel):
    """Invite automatically after an event (transactional surveys)."""

    event: Literal["loyalty.purchase.recorded", "touch.completed"] = "loyalty.purchase.recorded"
    delay_hours: float = Field(0, ge=0, le=24 * 90, description="Wait this long after the event before inviting.")
    sampling_rate: float = Field(1.0, gt=0, le=1, description="Share of events that lead to an invitation (deterministic per event).")
    channels: list[str] | None = Field(None, description="Only purchases/touches from these channels (any when absent).")
    first_purchase_only: bool = False


class Target(BaseModel):
    """Target population of the survey (informative for relationship surveys)."""

    segment: str | None = None
    tier: str | None = None
    description: str | None = Field(None, max_length=2000)


class SurveyIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: Kind
    objective: str | None = Field(None, max_length=2000)
    title: Text
    target: Target = Target()
    trigger: Trigger | None = None
    anonymous: bool = Field(False, description="Responses keep no customer id.")
    invitation_ttl_days: int = Field(14, ge=1, le=365)
    reminder_after_days: int | None = Field(None, ge=1, le=90)
    max_reminders: int = Field(1, ge=0, le=5)
    fatigue_days: int | None = Field(None, ge=0, le=365, description="Minimum days between two invitations of one customer (service default when absent).")
    questions: list[Question] = Field(min_length=1, max_length=200)

    _langs = field_validator("title")(_check_languages)


class SurveyUpdate(BaseModel):
    """A new draft version: questions and title; rules change on the survey itself."""

    title: Text | None = None
    questions: list[Question] = Field(min_length=1, max_length=200)
    objective: str | None = Field(None, max_length=2000)
    trigger: Trigger | None = None
    anonymous: bool | None = None


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    number: int
    status: str
    title: dict[str, str]
    questions: list[dict[str, Any]]
    created_at: datetime
    published_at: datetime | None


class SurveyOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    objective: str | None
    target: dict[str, Any]
    trigger: dict[str, Any] | None
    anonymous: bool
    invitation_ttl_days: int
    reminder_after_days: int | None
    max_reminders: int
    fatigue_days: int
    latest_version: int
    published_version: int | None
    created_at: datetime
    versions: list[VersionOut] = []


class Invitee(BaseModel):
    customer_id: uuid.UUID
    segment: str | None = Field(None, max_length=100)


class InvitationsIn(BaseModel):
    """Invite listed customers, or the selection of a sampling plan."""

    invitees: list[Invitee] = Field([], max_length=10000)
    sampling_plan_id: uuid.UUID | None = None
    send_at: datetime | None = None


class InvitationOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID | None
    survey_id: uuid.UUID
    version: int
    status: str
    expires_at: datetime
    send_at: datetime
    token: str | None = Field(None, description="Only in the answer that created the invitation; stored hashed.")
    url: str | None = None


class InvitationsOut(BaseModel):
    created: list[InvitationOut]
    throttled: list[uuid.UUID] = Field(description="Customers skipped by the survey-fatigue throttle.")


class Member(BaseModel):
    customer_id: uuid.UUID
    stratum: str | None = Field(None, max_length=100)


class SamplingPlanIn(BaseModel):
    population: list[Member] = Field(min_length=1, max_length=1_000_000)
    margin_of_error: float = Field(0.05, gt=0, lt=0.5)
    confidence: float = Field(0.95, gt=0.5, lt=1)
    expected_response_rate: float = Field(1.0, gt=0, le=1, description="Invite required/rate members so enough answer.")
    method: Literal["simple", "stratified"] = "simple"
    seed: int | None = Field(None, ge=0, lt=2**62, description="Recorded; a random one when absent.")


class SamplingPlanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    survey_id: uuid.UUID
    method: str
    confidence: Decimal
    margin_of_error: Decimal
    expected_response_rate: Decimal
    population_size: int
    required_responses: int
    invitations_needed: int
    seed: int
    allocation: dict[str, int]
    selected: list[Member]
    created_at: datetime


class ResponseIn(BaseModel):
    token: str = Field(min_length=10, max_length=200)
    answers: dict[str, Any] = Field(examples=[{"nps": 9, "csat": 5, "comment": "شكرا"}])
    complete: bool = Field(True, description="False saves a partial response that can be continued with the same token.")
    language: str = Field("ar", pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
    submitted_at: datetime | None = Field(
        None,
        description="When the answers were given, for importing responses collected elsewhere (paper, a previous survey tool); "
        "defaults to now and must not be in the future. Trends and analytics date the response by it.",
    )


class ResponseOut(BaseModel):
    id: uuid.UUID
    survey_id: uuid.UUID
    version: int
    status: str
    nps: int | None
    nps_category: str | None
    csat: Decimal | None
    ces: Decimal | None
    attributes: dict[str, dict[str, Decimal]]
    submitted_at: datetime | None


class FormOut(BaseModel):
    survey_id: uuid.UUID
    version: int
    language: str
    direction: Literal["rtl", "ltr"]
    title: str
    questions: list[dict[str, Any]]
    saved_answers: dict[str, Any]
    expires_at: datetime
