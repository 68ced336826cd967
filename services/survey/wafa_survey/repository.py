"""Queries of the survey service (results queries live in `results.py`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Select, delete, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_survey.models import CustomerTier, FatigueMark, Invitation, Response, SamplingPlan, Survey, SurveyVersion


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


@dataclass(frozen=True, slots=True)
class TokenInvitation:
    """What answering an invitation needs, read in one statement: the invitation, its survey's
    anonymity and kind, and the partial response saved so far (when `status` is `started`)."""

    id: uuid.UUID
    survey_id: uuid.UUID
    version_id: uuid.UUID
    customer_id: uuid.UUID | None
    status: str
    segment: str | None
    expires_at: datetime
    anonymous: bool
    survey_kind: str
    response_id: uuid.UUID | None
    saved_answers: dict[str, Any] | None


_BY_TOKEN = """
    SELECT i.id, i.survey_id, i.version_id, i.customer_id, i.status, i.segment, i.expires_at, s.anonymous, s.kind, r.id, r.answers::text
    FROM invitations i
    JOIN surveys s ON s.id = i.survey_id
    LEFT JOIN responses r ON r.invitation_id = i.id AND i.status = 'started'
    WHERE i.token_hash = $1
"""
_BY_TOKEN_LOCKED = _BY_TOKEN + " FOR UPDATE OF i"
_SAVED_ANSWERS = "SELECT id, answers::text FROM responses WHERE invitation_id = $1"


async def invitation_by_token(session: AsyncSession, token_hash: str, *, lock: bool) -> TokenInvitation | None:
    """The invitation with its survey and its saved partial response, in one round trip;
    `lock` holds the invitation row to the end of the transaction (one completion per token).

    Waiting for the lock re-reads the invitation but not the joined response, so when another
    transaction started the response meanwhile, the response is read again (rare)."""
    conn = await session.connection()
    row: Any = (await conn.exec_driver_sql(_BY_TOKEN_LOCKED if lock else _BY_TOKEN, (token_hash,))).first()
    if row is None:
        return None
    response_id, answers = row[9], row[10]
    if row[4] == "started" and response_id is None:
        saved: Any = (await conn.exec_driver_sql(_SAVED_ANSWERS, (row[0],))).first()
        if saved is not None:
            response_id, answers = saved[0], saved[1]
    return TokenInvitation(
        id=row[0],
        survey_id=row[1],
        version_id=row[2],
        customer_id=row[3],
        status=row[4],
        segment=row[5],
        expires_at=row[6],
        anonymous=row[7],
        survey_kind=row[8],
        response_id=response_id,
        saved_answers=None if answers is None else orjson.loads(answers),
    )


ValueRow = tuple[str, str, Decimal | None, str | None]

# Each write of a response is one statement; the invitation changes in the same statement.
_INSERT_COMPLETED = """
    WITH spent AS (
        UPDATE invitations SET status = 'completed', responded_at = $2 WHERE id = $1
    ), resp AS (
        INSERT INTO responses (id, survey_id, version_id, version_number, invitation_id, customer_id, status, language, segment,
                               answers, demographics, nps, csat, ces, erased, started_at, submitted_at)
        VALUES ($3, $4, $5, $6, $7, $8, 'completed', $9, $10, $11::jsonb, $12::jsonb, $13, $14, $15, false, $16, $16)
    )
    INSERT INTO response_values (response_id, survey_id, question_id, part, num, choice)
    SELECT $3, $4, q, p, n, c FROM unnest($17::text[], $18::text[], $19::numeric[], $20::text[]) AS v(q, p, n, c)
"""
_COMPLETE_SAVED = """
    WITH spent AS (
        UPDATE invitations SET status = 'completed', responded_at = $2 WHERE id = $1
    ), resp AS (
        UPDATE responses SET status = 'completed', invitation_id = $5, language = $6, answers = $7::jsonb, demographics = $8::jsonb,
               nps = $9, csat = $10, ces = $11, submitted_at = $12
        WHERE id = $3
    )
    INSERT INTO response_values (response_id, survey_id, question_id, part, num, choice)
    SELECT $3, $4, q, p, n, c FROM unnest($13::text[], $14::text[], $15::numeric[], $16::text[]) AS v(q, p, n, c)
"""
_INSERT_PARTIAL = """
    WITH started AS (UPDATE invitations SET status = 'started' WHERE id = $1)
    INSERT INTO responses (id, survey_id, version_id, version_number, invitation_id, customer_id, status, language, segment,
                           answers, demographics, erased, started_at)
    VALUES ($2, $3, $4, $5, $1, $6, 'partial', $7, $8, $9::jsonb, '{}'::jsonb, false, $10)
"""
_UPDATE_PARTIAL = "UPDATE responses SET answers = $2::jsonb, language = $3 WHERE id = $1"


@dataclass(frozen=True, slots=True)
class CompletedResponse:
    id: uuid.UUID
    survey_id: uuid.UUID
    version_id: uuid.UUID
    version_number: int
    invitation_id: uuid.UUID | None  # None: anonymous, no link to who was invited
    customer_id: uuid.UUID | None
    segment: str | None
    language: str
    answers: dict[str, Any]
    demographics: dict[str, str]
    nps: int | None
    csat: Decimal | None
    ces: Decimal | None
    submitted_at: datetime


async def complete_response(
    session: AsyncSession, r: CompletedResponse, spent_id: uuid.UUID, values: list[ValueRow], *, saved: bool, responded_at: datetime | None
) -> None:
    """A completed response with its scored items and its spent invitation, in one statement:
    inserted, or (`saved`) the partial response `r.id` completed."""
    conn = await session.connection()
    answers, demographics = orjson.dumps(r.answers).decode(), orjson.dumps(r.demographics).decode()
    items = ([v[0] for v in values], [v[1] for v in values], [v[2] for v in values], [v[3] for v in values])
    if saved:
        params: tuple[Any, ...] = (spent_id, responded_at, r.id, r.survey_id, r.invitation_id, r.language, answers, demographics, r.nps, r.csat, r.ces)
        await conn.exec_driver_sql(_COMPLETE_SAVED, (*params, r.submitted_at, *items))
        return
    params = (spent_id, responded_at, r.id, r.survey_id, r.version_id, r.version_number, r.invitation_id, r.customer_id, r.language, r.segment)
    await conn.exec_driver_sql(_INSERT_COMPLETED, (*params, answers, demographics, r.nps, r.csat, r.ces, r.submitted_at, *items))


async def save_partial(
    session: AsyncSession,
    *,
    invitation_id: uuid.UUID,
    response_id: uuid.UUID | None,
    survey_id: uuid.UUID,
    version_id: uuid.UUID,
    version_number: int,
    customer_id: uuid.UUID | None,
    segment: str | None,
    language: str,
    answers: dict[str, Any],
    now: datetime,
) -> uuid.UUID:
    """Save a partial response in one statement: a new one (`response_id` None; the invitation
    becomes `started`) or new answers of the saved one. Returns the response id."""
    conn = await session.connection()
    payload = orjson.dumps(answers).decode()
    if response_id is not None:
        await conn.exec_driver_sql(_UPDATE_PARTIAL, (response_id, payload, language))
        return response_id
    new_id = uuid.uuid4()
    await conn.exec_driver_sql(_INSERT_PARTIAL, (invitation_id, new_id, survey_id, version_id, version_number, customer_id, language, segment, payload, now))
    return new_id


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
    return {cid: tier for cid, tier in rows}
