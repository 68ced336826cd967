"""Events the survey service consumes (its handlers); what it publishes is in
`wafa_shared.events.survey`.

- `loyalty.purchase.recorded` and `touch.completed` → invitations of the published
  transactional surveys whose trigger matches (delay, deterministic sampling, fatigue).
- `loyalty.tier.changed` → the customer's tier, the default segment of their invitations.
- `customer.erased` → the customer's responses are anonymised, statistics kept.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wafa_shared.events import Event
from wafa_shared.events.customer import CustomerErased
from wafa_shared.events.loyalty import PurchaseRecorded, TierChanged
from wafa_shared.events.touch import TouchCompleted
from wafa_shared.inbox import ConsumerSpec, Handlers
from wafa_shared.lifecycle import runtime_of
from wafa_survey import repository as repo
from wafa_survey import service
from wafa_survey.domain.sampling import sampled
from wafa_survey.models import Survey
from wafa_survey.schemas import Invitee

handlers = Handlers()


async def _trigger(
    session: AsyncSession,
    event_type: str,
    key: str,
    customer_id: object,
    occurred_at: datetime,
    channel: str | None,
    first: bool,
    segment: str | None,
    surveys: list[Survey] | None = None,
) -> None:
    """Invite per each matching survey's rule (`surveys`: those the event type triggers, when
    the caller read them already). Time is the event's, not the wall clock, so a re-run gives
    the same decisions; a survey invites once per source event."""
    for survey in surveys if surveys is not None else await repo.triggered_surveys(session, event_type):
        rule = survey.trigger or {}
        if rule.get("channels") and channel not in rule["channels"]:
            continue
        if rule.get("first_purchase_only") and not first:
            continue
        if not sampled(f"{survey.id}:{key}", float(rule.get("sampling_rate", 1.0))):
            continue
        send_at = occurred_at + timedelta(hours=float(rule.get("delay_hours", 0)))
        await service.invite(
            session,
            survey,
            [Invitee(customer_id=customer_id, segment=segment)],  # type: ignore[arg-type]
            now=occurred_at,
            send_at=send_at,
            base_url=runtime_of(session).settings.public_base_url,  # type: ignore[attr-defined]
            trigger=event_type,
            source_event=key,
        )


@handlers.on_batch("loyalty.purchase.recorded")
async def on_purchases(session: AsyncSession, batch: list[tuple[Event, Any]]) -> None:
    """The surveys purchases trigger are read once per batch (at 500 purchases/s, one query per
    event was a sixth of a core spent finding, mostly, none)."""
    surveys = await repo.triggered_surveys(session, "loyalty.purchase.recorded")
    for event, data in batch if surveys else []:
        if isinstance(data, PurchaseRecorded):
            await _trigger(session, event.type, str(data.purchase_id), data.customer_id, data.occurred_at, data.channel, data.first_purchase, None, surveys)


@handlers.on("touch.completed")
async def on_touch(session: AsyncSession, event: Event, data: TouchCompleted) -> None:
    await _trigger(session, event.type, str(data.touch_id), data.customer_id, data.completed_at, data.channel, False, None)


@handlers.on("loyalty.tier.changed")
async def on_tier(session: AsyncSession, event: Event, data: TierChanged) -> None:
    await repo.set_tier(session, data.customer_id, data.to_tier, data.occurred_at)


@handlers.on("customer.erased")
async def on_erased(session: AsyncSession, event: Event, data: CustomerErased) -> None:
    await service.erase_customer(session, data.customer_id)


CONSUMERS: list[ConsumerSpec] = [ConsumerSpec("invitations", ["wafa.loyalty", "wafa.touch", "wafa.customer"], handlers)]
