"""Queries of the survey service (results queries live in `results.py`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Select, delete, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_survey.models import CustomerTier, FatigueMark, Invitation, Response, ResponseValue, SamplingPlan, Survey, SurveyVersion


async def get_survey(session: AsyncSession, survey_id: uuid.UUID, *, lock: bool = False) -> Survey | None:
    stmt = select(Survey).where(Survey.id == survey_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


def surveys_query() -> Select[Any]:
    return select(Survey)


async def versions_of(session: AsyncSession, survey_id: uuid.UUID) -> list[SurveyVersion]:
    stmt = select(SurveyVersion).where(SurveyVersion.survey_id == survey_id).order_by(SurveyVersion.number)
    return list((await session.scalars(stmt)).all())


async def version(session: AsyncSession, survey_id: uuid.UUID, number: int) -> SurveyVersion | None:
    stmt = select(SurveyVersion).where(SurveyVersion.survey_id == survey_id, SurveyVersion.number == number)
    return (await session.execute(stmt)).scalar_one_or_none()


async def version_by_id(session: AsyncSession, version_id: uuid.UUID) -> SurveyVersion:
    return (await session.execute(select(SurveyVersion).where(SurveyVersion.id == version_id))).scalar_one()


async def supersede_published(session: AsyncSession, survey_id: uuid.UUID) -> None:
    stmt = update(SurveyVersion).where(SurveyVersion.survey_id == survey_id, SurveyVersion.status == "published").values(status="superseded")
    await session.execute(stmt)


async def triggered_surveys(session: AsyncSession, event_type: str) -> list[Survey]:
    stmt = select(Survey).where(Survey.trigger["event"].astext == event_type, Survey.published_version.is_not(None)).order_by(Survey.id)
    return list((await session.scalars(stmt)).all())


_CLAIM_FATIGUE = text(
    """
    INSERT INTO fatigue_marks (customer_id, last_invited_at)
    SELECT unnest(CAST(:ids AS uuid[])), :now
    ON CONFLICT (customer_id) DO UPDATE SET last_invited_at = EXCLUDED.last_invited_at
      WHERE fatigue_marks.last_invited_at <= :cutoff
    RETURNING customer_id
    """
)


async def claim_fatigue(session: AsyncSession, customer_ids: list[uuid.UUID], now: datetime, cutoff: datetime) -> set[uuid.UUID]:
    """Customers that may be invited at `now` (last invitation at or before `cutoff`, or none);
    their mark moves to `now` in the same statement, so two concurrent invitations cannot both pass."""
    if not customer_ids:
        return set()
    rows = await session.execute(_CLAIM_FATIGUE, {"ids": customer_ids, "now": now, "cutoff": cutoff})
    return set(rows.scalars())


async def insert_invitations(session: AsyncSession, rows: list[dict[str, Any]]) -> list[uuid.UUID]:
    """Insert invitations; an event already turned into an invitation of the survey is skipped."""
    if not rows:
        return []
    stmt = pg_insert(Invitation).values(rows).on_conflict_do_nothing(constraint="uq_invitations_survey_source_event").returning(Invitation.id)
    return list((await session.execute(stmt)).scalars())


def invitations_query(survey_id: uuid.UUID, status: str | None) -> Select[Any]:
    stmt = select(Invitation).where(Invitation.survey_id == survey_id)
    return stmt if status is None else stmt.where(Invitation.status == status)


async def invitation_by_token(session: AsyncSession, token_hash: str) -> tuple[Invitation, Survey] | None:
    """The invitation (locked: one completion per token) with its survey, in one round trip."""
    stmt = select(Invitation, Survey).join(Survey, Survey.id == Invitation.survey_id).where(Invitation.token_hash == token_hash).with_for_update(of=Invitation)
    row = (await session.execute(stmt)).one_or_none()
    return None if row is None else (row[0], row[1])


async def response_of_invitation(session: AsyncSession, invitation_id: uuid.UUID) -> Response | None:
    return (await session.execute(select(Response).where(Response.invitation_id == invitation_id))).scalar_one_or_none()


async def insert_values(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(ResponseValue), rows)


_INSERT_COMPLETED = text(
    """
    WITH spent AS (
        UPDATE invitations SET status = 'completed',
               responded_at = CASE WHEN CAST(:anonymous AS boolean) THEN NULL ELSE CAST(:now AS timestamptz) END
        WHERE id = :spent_id
    ), resp AS (
        INSERT INTO responses (id, survey_id, version_id, version_number, invitation_id, customer_id, status, language, segment,
                               answers, demographics, nps, csat, ces, erased, started_at, submitted_at)
        VALUES (:id, :survey_id, :version_id, :version_number, :invitation_id, :customer_id, 'completed', :language, :segment,
                CAST(:answers AS jsonb), CAST(:demographics AS jsonb), :nps, :csat, :ces, false, :now, :now)
    )
    INSERT INTO response_values (response_id, survey_id, question_id, part, num, choice)
    SELECT :id, :survey_id, q, p, n, c
    FROM unnest(CAST(:qs AS text[]), CAST(:ps AS text[]), CAST(:ns AS numeric[]), CAST(:cs AS text[])) AS v(q, p, n, c)
    """
)


async def insert_completed(session: AsyncSession, r: Response, spent_id: uuid.UUID, values: list[tuple[str, str, Decimal | None, str | None]]) -> None:
    """A completed response, its scored items and its spent invitation in one round trip.
    An anonymous response (`r.invitation_id` None) keeps no link to its invitation."""
    await session.execute(
        _INSERT_COMPLETED,
        {
            "spent_id": spent_id,
            "anonymous": r.invitation_id is None,
            "id": r.id,
            "survey_id": r.survey_id,
            "version_id": r.version_id,
            "version_number": r.version_number,
            "invitation_id": r.invitation_id,
            "customer_id": r.customer_id,
            "language": r.language,
            "segment": r.segment,
            "answers": orjson.dumps(r.answers).decode(),
            "demographics": orjson.dumps(r.demographics).decode(),
            "nps": r.nps,
            "csat": r.csat,
            "ces": r.ces,
            "now": r.submitted_at,
            "qs": [v[0] for v in values],
            "ps": [v[1] for v in values],
            "ns": [v[2] for v in values],
            "cs": [v[3] for v in values],
        },
    )


async def due_scheduled(session: AsyncSession, now: datetime, limit: int = 1000) -> list[Invitation]:
    stmt = (
        select(Invitation)
        .where(Invitation.status == "scheduled", Invitation.send_at <= now)
        .order_by(Invitation.send_at, Invitation.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(stmt)).all())


async def expire_invitations(session: AsyncSession, now: datetime) -> int:
    stmt = update(Invitation).where(Invitation.status.in_(["sent", "started"]), Invitation.expires_at <= now).values(status="expired")
    result = await session.execute(stmt)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


_REMINDERS_DUE = text(
    """
    SELECT i.id FROM invitations i JOIN surveys s ON s.id = i.survey_id
    WHERE i.status = 'sent' AND s.reminder_after_days IS NOT NULL AND i.reminders_sent < s.max_reminders
      AND i.expires_at > :now AND i.customer_id IS NOT NULL
      AND COALESCE(i.last_contact_at, i.send_at) + make_interval(days => s.reminder_after_days) <= :now
    ORDER BY i.id LIMIT :limit
    FOR UPDATE OF i SKIP LOCKED
    """
)


async def reminders_due(session: AsyncSession, now: datetime, limit: int = 1000) -> list[Invitation]:
    ids = list((await session.execute(_REMINDERS_DUE, {"now": now, "limit": limit})).scalars())
    if not ids:
        return []
    return list((await session.scalars(select(Invitation).where(Invitation.id.in_(ids)).order_by(Invitation.id))).all())


async def sampling_plan(session: AsyncSession, survey_id: uuid.UUID, plan_id: uuid.UUID) -> SamplingPlan | None:
    stmt = select(SamplingPlan).where(SamplingPlan.id == plan_id, SamplingPlan.survey_id == survey_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def latest_sampling_plan(session: AsyncSession, survey_id: uuid.UUID) -> SamplingPlan | None:
    stmt = select(SamplingPlan).where(SamplingPlan.survey_id == survey_id).order_by(SamplingPlan.created_at.desc(), SamplingPlan.id).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()


async def responses_of_customer(session: AsyncSession, customer_id: uuid.UUID) -> list[Response]:
    return list((await session.scalars(select(Response).where(Response.customer_id == customer_id).with_for_update())).all())


async def forget_customer_invitations(session: AsyncSession, customer_id: uuid.UUID) -> None:
    """Invitations keep their counts (response rate) but lose the customer; open ones close."""
    await session.execute(
        update(Invitation)
        .where(Invitation.customer_id == customer_id, Invitation.status.in_(["scheduled", "sent", "started"]))
        .values(status="withdrawn", token_hash=None)
    )
    await session.execute(update(Invitation).where(Invitation.customer_id == customer_id).values(customer_id=None))
    await session.execute(delete(FatigueMark).where(FatigueMark.customer_id == customer_id))
    await session.execute(delete(CustomerTier).where(CustomerTier.customer_id == customer_id))


_SET_TIER = text(
    """
    INSERT INTO customer_tiers (customer_id, tier, changed_at) VALUES (:cid, :tier, :at)
    ON CONFLICT (customer_id) DO UPDATE SET tier = EXCLUDED.tier, changed_at = EXCLUDED.changed_at
      WHERE customer_tiers.changed_at <= EXCLUDED.changed_at
    """
)


async def set_tier(session: AsyncSession, customer_id: uuid.UUID, tier: str, at: datetime) -> None:
    """Latest tier wins (an older change arriving late does not overwrite a newer one)."""
    await session.execute(_SET_TIER, {"cid": customer_id, "tier": tier, "at": at})


async def tiers_of(session: AsyncSession, customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not customer_ids:
        return {}
    rows = await session.execute(select(CustomerTier.customer_id, CustomerTier.tier).where(CustomerTier.customer_id.in_(customer_ids)))
    return {cid: tier for cid, tier in rows.tuples()}
