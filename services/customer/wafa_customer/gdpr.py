"""GDPR access: everything the customer service holds about one customer, in one document."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.encoders import jsonable_encoder
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_customer import repository as repo
from wafa_customer.models import Segment, SegmentMember
from wafa_customer.schemas import ConsentChangeOut, LifecycleChangeOut, ReferralOut
from wafa_customer.service import consents_out, customer_out
from wafa_shared.problems import not_found


async def export(session: AsyncSession, customer_id: uuid.UUID) -> dict[str, Any]:
    """Profile, external ids, consents and their audit, lifecycle history, referrals (made and
    received, with rejections), static segment memberships and B2B relationships."""
    c = await repo.get_customer(session, customer_id)
    if c is None:
        raise not_found("Customer", customer_id)
    consents = await consents_out(session, c)
    segments = (
        await session.execute(
            select(Segment.id, Segment.name)
            .join(SegmentMember, SegmentMember.segment_id == Segment.id)
            .where(SegmentMember.customer_id == c.id)
            .order_by(Segment.name)
        )
    ).all()
    referrals = await repo.referrals_involving(session, c.id)
    end_customers = await repo.end_customers_of(session, c.id)
    doc = {
        "customer": (await customer_out(session, c)).model_dump(),
        "consents": consents.model_dump(),
        "consent_history": [ConsentChangeOut.model_validate(x).model_dump() for x in await repo.consent_history(session, c.id)],
        "lifecycle_history": [LifecycleChangeOut.model_validate(x).model_dump() for x in await repo.lifecycle_history(session, c.id)],
        "referrals_made": [ReferralOut.model_validate(r).model_dump() for r in referrals if r.advocate_id == c.id],
        "referrals_received": [ReferralOut.model_validate(r).model_dump() for r in referrals if r.referee_id == c.id],
        "static_segments": [{"id": sid, "name": name} for sid, name in segments],
        "intermediaries": await repo.intermediaries_of(session, c.id),
        "end_customers": [str(e.customer_id) for e, _ in end_customers],
    }
    return jsonable_encoder(doc)  # type: ignore[no-any-return]
