"""`/v1/webhooks/subscriptions` and `/v1/webhooks/deliveries`, mounted by every service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select, update

from wafa_shared.auth import Principal, require
from wafa_shared.deps import PageDep, RuntimeDep, SessionDep
from wafa_shared.events import CATALOG
from wafa_shared.pagination import Page, keyset_page
from wafa_shared.platform_models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from wafa_shared.problems import ProblemError, not_found
from wafa_shared.webhooks.signing import new_secret

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
READ = require("webhooks:read")
WRITE = require("webhooks:write")


class SubscriptionIn(BaseModel):
    url: AnyHttpUrl = Field(examples=["https://partner.example/hooks/wafa"])
    event_types: list[str] = Field(min_length=1, examples=[["loyalty.tier.changed"]], description="Event types, or `*` for all.")
    description: str | None = Field(None, max_length=500)

    @field_validator("event_types")
    @classmethod
    def _dedupe(cls, v: list[str]) -> list[str]:
        return sorted(set(v))


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    created_at: datetime


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="Verify our signatures with it (Standard Webhooks). Shown once.")


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    attempt: int
    status_code: int | None
    error: str | None
    duration_ms: float
    attempted_at: datetime


class DeliveryDetail(DeliveryOut):
    attempts_log: list[AttemptOut]
    payload: dict[str, Any]


@router.post("/subscriptions", status_code=201, response_model=SubscriptionCreated, summary="Subscribe an endpoint to events")
async def create_subscription(body: SubscriptionIn, session: SessionDep, runtime: RuntimeDep, caller: Annotated[Principal, WRITE]) -> Any:
    known = set(CATALOG.types_for_topic(runtime.spec.topic)) if runtime.spec.topic else set()
    unknown = [t for t in body.event_types if t != "*" and t not in known]
    if unknown:
        raise ProblemError(
            422,
            "unknown-event-type",
            f"This service does not publish: {', '.join(unknown)}",
            errors=[{"field": "event_types", "in": "body", "message": f"unknown event type {t}", "code": "unknown"} for t in unknown],
            known_event_types=sorted(known),
        )
    sub = WebhookSubscription(
        id=uuid.uuid4(),
        url=str(body.url),
        event_types=body.event_types,
        secret=new_secret(),
        description=body.description,
        created_by=caller.subject,
        active=True,
    )
    session.add(sub)
    await session.flush()
    await session.refresh(sub)
    return SubscriptionCreated(**SubscriptionOut.model_validate(sub).model_dump(), secret=sub.secret)


@router.get("/subscriptions", response_model=Page[SubscriptionOut], dependencies=[READ], summary="List subscriptions")
async def list_subscriptions(session: SessionDep, page: PageDep) -> Any:
    stmt = select(WebhookSubscription).where(WebhookSubscription.active)
    items, nxt = await keyset_page(
        session, stmt, [WebhookSubscription.created_at, WebhookSubscription.id], page, lambda s: [s.created_at.isoformat(), str(s.id)]
    )
    return Page[SubscriptionOut](items=[SubscriptionOut.model_validate(i) for i in items], next_cursor=nxt)


@router.get("/subscriptions/{subscription_id}", response_model=SubscriptionOut, dependencies=[READ])
async def get_subscription(subscription_id: uuid.UUID, session: SessionDep) -> Any:
    sub = await session.get(WebhookSubscription, subscription_id)
    if sub is None or not sub.active:
        raise not_found("Subscription", subscription_id)
    return sub


@router.delete("/subscriptions/{subscription_id}", status_code=204, dependencies=[WRITE], summary="Unsubscribe")
async def delete_subscription(subscription_id: uuid.UUID, session: SessionDep) -> Response:
    sub = await session.get(WebhookSubscription, subscription_id)
    if sub is None or not sub.active:
        raise not_found("Subscription", subscription_id)
    sub.active = False
    await session.execute(
        update(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id, WebhookDelivery.status == "pending").values(status="cancelled")
    )
    return Response(status_code=204)


@router.get("/deliveries", response_model=Page[DeliveryOut], dependencies=[READ], summary="Delivery log, newest first")
async def list_deliveries(
    session: SessionDep,
    page: PageDep,
    subscription_id: uuid.UUID | None = None,
    status: Annotated[Literal["pending", "succeeded", "dead", "cancelled"] | None, Query()] = None,
) -> Any:
    stmt = select(WebhookDelivery)
    if subscription_id:
        stmt = stmt.where(WebhookDelivery.subscription_id == subscription_id)
    if status:
        stmt = stmt.where(WebhookDelivery.status == status)
    items, nxt = await keyset_page(
        session,
        stmt,
        [WebhookDelivery.created_at, WebhookDelivery.id],
        page,
        lambda d: [d.created_at.isoformat(), str(d.id)],
        descending=True,
    )
    return Page[DeliveryOut](items=[DeliveryOut.model_validate(i) for i in items], next_cursor=nxt)


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetail, dependencies=[READ], summary="A delivery with every attempt")
async def get_delivery(delivery_id: uuid.UUID, session: SessionDep) -> Any:
    d = await session.get(WebhookDelivery, delivery_id)
    if d is None:
        raise not_found("Delivery", delivery_id)
    attempts = (await session.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id).order_by(WebhookAttempt.attempt))).all()
    return DeliveryDetail(
        **DeliveryOut.model_validate(d).model_dump(),
        payload=d.payload,
        attempts_log=[AttemptOut.model_validate(a) for a in attempts],
    )


@router.post("/deliveries/{delivery_id}/redeliver", response_model=DeliveryOut, dependencies=[WRITE], summary="Send a delivery again now")
async def redeliver(delivery_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep) -> Any:
    d = await session.get(WebhookDelivery, delivery_id)
    if d is None:
        raise not_found("Delivery", delivery_id)
    d.status = "pending"
    d.next_attempt_at = func.now()  # type: ignore[assignment]
    await session.flush()
    await session.refresh(d)
    runtime.webhooks.wake()
    return d
