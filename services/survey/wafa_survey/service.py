"""Use cases of the survey service: design and versions, invitations, responses, erasure.

Every function takes the session first and never commits: the request dependency or the
consumer commits once, so a state change and its outbox event are one fact.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_shared.events.survey import InvitationCreated, InvitationReminderDue, ResponseSubmitted
from wafa_shared.outbox import publish
from wafa_shared.problems import ProblemError, conflict, not_found
from wafa_survey import repository as repo
from wafa_survey.domain.questions import RTL_LANGUAGES, AnswerError, Question, SurveyDefinition, score, validate_answers, value_rows
from wafa_survey.domain.sampling import select_sample
from wafa_survey.domain.stats import required_sample_size
from wafa_survey.models import Invitation, SamplingPlan, Survey, SurveyVersion
from wafa_survey.schemas import (
    FormOut,
    InvitationOut,
    Invitee,
    ResponseIn,
    ResponseOut,
    SamplingPlanIn,
    SurveyIn,
    SurveyOut,
    SurveyUpdate,
    VersionOut,
)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _definition(questions: list[Question]) -> list[dict[str, Any]]:
    try:
        checked = SurveyDefinition(questions=questions)
    except ValidationError as exc:
        errors = [{"field": "questions", "in": "body", "message": e["msg"]} for e in exc.errors()]
        raise ProblemError(422, "validation-error", errors[0]["message"], errors=errors) from None
    return [q.model_dump(mode="json", by_alias=True, exclude_none=True) for q in checked.questions]


def questions_of(version: SurveyVersion) -> list[Question]:
    return [Question.model_validate(q) for q in version.questions]


async def survey_out(session: AsyncSession, survey: Survey) -> SurveyOut:
    versions = await repo.versions_of(session, survey.id)
    return SurveyOut(
        id=survey.id,
        name=survey.name,
        kind=survey.kind,
        objective=survey.objective,
        target=survey.target,
        trigger=survey.trigger,
        anonymous=survey.anonymous,
        invitation_ttl_days=survey.invitation_ttl_days,
        reminder_after_days=survey.reminder_after_days,
        max_reminders=survey.max_reminders,
        fatigue_days=survey.fatigue_days,
        latest_version=survey.latest_version,
        published_version=survey.published_version,
        created_at=survey.created_at,
        versions=[VersionOut.model_validate(v) for v in versions],
    )


async def create_survey(session: AsyncSession, body: SurveyIn, now: datetime, default_fatigue_days: int) -> SurveyOut:
    """A survey with its first version as a draft (publish it to invite)."""
    if body.kind == "relationship" and body.trigger is not None:
        raise ProblemError(
            422,
            "validation-error",
            "relationship surveys are not event-triggered",
            errors=[{"field": "trigger", "in": "body", "message": "only transactional surveys take a trigger"}],
        )
    questions = _definition(body.questions)
    survey = Survey(
        id=uuid.uuid4(),
        name=body.name,
        kind=body.kind,
        objective=body.objective,
        target=body.target.model_dump(mode="json", exclude_none=True),
        trigger=body.trigger.model_dump(mode="json") if body.trigger else None,
        anonymous=body.anonymous,
        invitation_ttl_days=body.invitation_ttl_days,
        reminder_after_days=body.reminder_after_days,
        max_reminders=body.max_reminders,
        fatigue_days=default_fatigue_days if body.fatigue_days is None else body.fatigue_days,
        latest_version=1,
        published_version=None,
        created_at=now,
        updated_at=now,
    )
    session.add(survey)
    await session.flush()
    session.add(SurveyVersion(id=uuid.uuid4(), survey_id=survey.id, number=1, status="draft", title=body.title, questions=questions, created_at=now))
    await session.flush()
    return await survey_out(session, survey)


async def _survey(session: AsyncSession, survey_id: uuid.UUID, *, lock: bool = False) -> Survey:
    survey = await repo.get_survey(session, survey_id, lock=lock)
    if survey is None:
        raise not_found("Survey", survey_id)
    return survey


async def get_survey(session: AsyncSession, survey_id: uuid.UUID) -> SurveyOut:
    return await survey_out(session, await _survey(session, survey_id))


async def update_survey(session: AsyncSession, survey_id: uuid.UUID, body: SurveyUpdate, now: datetime) -> SurveyOut:
    """Edit the draft, or start a new draft version when the latest one is published:
    published versions never change (responses are validated against them)."""
    survey = await _survey(session, survey_id, lock=True)
    questions = _definition(body.questions)
    latest = await repo.version(session, survey.id, survey.latest_version)
    assert latest is not None
    title = body.title or latest.title
    if latest.status == "draft":
        latest.questions = questions
        latest.title = title
    else:
        survey.latest_version += 1
        session.add(
            SurveyVersion(id=uuid.uuid4(), survey_id=survey.id, number=survey.latest_version, status="draft", title=title, questions=questions, created_at=now)
        )
    if body.objective is not None:
        survey.objective = body.objective
    if body.trigger is not None:
        survey.trigger = body.trigger.model_dump(mode="json")
    if body.anonymous is not None and body.anonymous != survey.anonymous:
        if survey.published_version is not None:
            raise conflict("anonymity-fixed", "a published survey's anonymity cannot change; respondents were promised it")
        survey.anonymous = body.anonymous
    survey.updated_at = now
    await session.flush()
    return await survey_out(session, survey)


async def publish_survey(session: AsyncSession, survey_id: uuid.UUID, now: datetime) -> SurveyOut:
    """Publish the latest draft; the version published before is superseded (its invitations
    and responses stay bound to it)."""
    survey = await _survey(session, survey_id, lock=True)
    latest = await repo.version(session, survey.id, survey.latest_version)
    assert latest is not None
    if latest.status != "draft":
        raise conflict("already-published", f"version {latest.number} is already published; edit the survey to make a new version")
    await repo.supersede_published(session, survey.id)
    latest.status = "published"
    latest.published_at = now
    survey.published_version = latest.number
    survey.updated_at = now
    await session.flush()
    return await survey_out(session, survey)


def _url(base: str, token: str) -> str:
    return f"{base.rstrip('/')}/{token}"


async def _release(session: AsyncSession, survey: Survey, inv: Invitation, now: datetime, base_url: str) -> str:
    """Give an invitation its single-use token and publish `survey.invitation.created`."""
    token = secrets.token_urlsafe(32)
    inv.token_hash = hash_token(token)
    inv.status = "sent"
    inv.last_contact_at = now
    if inv.customer_id is not None:
        await publish(
            session,
            InvitationCreated(
                invitation_id=inv.id,
                survey_id=survey.id,
                customer_id=inv.customer_id,
                url=_url(base_url, token),
                expires_at=inv.expires_at,
                trigger=inv.trigger,
                survey_kind=survey.kind,
            ),
            subject=inv.customer_id,
        )
    return token


async def invite(
    session: AsyncSession,
    survey: Survey,
    invitees: list[Invitee],
    *,
    now: datetime,
    send_at: datetime | None,
    base_url: str,
    trigger: str | None = None,
    source_event: str | None = None,
    sampling_plan_id: uuid.UUID | None = None,
) -> tuple[list[InvitationOut], list[uuid.UUID]]:
    """Invite customers to the published version, skipping those invited (to any survey)
    within the survey's fatigue window. Invitations due later are released by the job."""
    if survey.published_version is None:
        raise conflict("survey-not-published", "publish the survey before inviting")
    version = await repo.version(session, survey.id, survey.published_version)
    assert version is not None
    send_at = max(send_at or now, now)
    unique = list(dict.fromkeys(i.customer_id for i in invitees))
    allowed = await repo.claim_fatigue(session, unique, send_at, send_at - timedelta(days=survey.fatigue_days))
    tiers = await repo.tiers_of(session, [i.customer_id for i in invitees if i.segment is None])
    segments = {i.customer_id: i.segment or tiers.get(i.customer_id) for i in invitees}
    rows = [
        {
            "id": uuid.uuid4(),
            "survey_id": survey.id,
            "version_id": version.id,
            "customer_id": cid,
            "status": "scheduled",
            "segment": segments[cid],
            "trigger": trigger,
            "source_event": source_event,
            "sampling_plan_id": sampling_plan_id,
            "send_at": send_at,
            "expires_at": send_at + timedelta(days=survey.invitation_ttl_days),
            "reminders_sent": 0,
            "created_at": now,
        }
        for cid in unique
        if cid in allowed
    ]
    ids = await repo.insert_invitations(session, rows)
    created: list[InvitationOut] = []
    by_id = {r["id"]: r for r in rows}
    for inv_id in ids:
        row = by_id[inv_id]
        inv = Invitation(**row)
        token = None
        if send_at <= now:
            inv = await session.get(Invitation, inv_id)  # type: ignore[assignment]
            assert inv is not None
            token = await _release(session, survey, inv, now, base_url)
        created.append(
            InvitationOut(
                id=inv.id,
                customer_id=inv.customer_id,
                survey_id=survey.id,
                version=version.number,
                status=inv.status,
                expires_at=inv.expires_at,
                send_at=inv.send_at,
                token=token,
                url=_url(base_url, token) if token else None,
            )
        )
    await session.flush()
    throttled = [c for c in unique if c not in allowed]
    return created, throttled


async def invite_by_id(
    session: AsyncSession, survey_id: uuid.UUID, invitees: list[Invitee], plan_id: uuid.UUID | None, send_at: datetime | None, now: datetime, base_url: str
) -> tuple[list[InvitationOut], list[uuid.UUID]]:
    survey = await _survey(session, survey_id, lock=True)
    all_invitees = list(invitees)
    if plan_id is not None:
        plan = await repo.sampling_plan(session, survey.id, plan_id)
        if plan is None:
            raise not_found("Sampling plan", plan_id)
        all_invitees += [Invitee(customer_id=uuid.UUID(m["customer_id"]), segment=m.get("stratum")) for m in plan.selected]
    if not all_invitees:
        raise ProblemError(
            422, "validation-error", "nobody to invite", errors=[{"field": "invitees", "in": "body", "message": "give invitees or a sampling_plan_id"}]
        )
    return await invite(session, survey, all_invitees, now=now, send_at=send_at, base_url=base_url, sampling_plan_id=plan_id)


async def invitation_out(session: AsyncSession, inv: Invitation) -> InvitationOut:
    version = await repo.version_by_id(session, inv.version_id)
    return InvitationOut(
        id=inv.id,
        customer_id=inv.customer_id,
        survey_id=inv.survey_id,
        version=version.number,
        status=inv.status,
        expires_at=inv.expires_at,
        send_at=inv.send_at,
    )


async def _open_invitation(session: AsyncSession, token: str, now: datetime, *, lock: bool) -> repo.TokenInvitation:
    inv = await repo.invitation_by_token(session, hash_token(token), lock=lock)
    if inv is None:
        raise ProblemError(404, "invitation-not-found", "no invitation has this token")
    if inv.status == "completed":
        raise ProblemError(409, "invitation-used", "this invitation was already answered; a token can be used once")
    if inv.status in ("expired", "withdrawn") or inv.expires_at <= now:
        raise ProblemError(410, "invitation-expired", f"this invitation expired at {inv.expires_at.isoformat()}", title="Gone")
    return inv


@dataclass(frozen=True)
class VersionSpec:
    id: uuid.UUID
    number: int
    title: dict[str, str]
    questions: list[Question]


_PUBLISHED_VERSIONS: dict[uuid.UUID, VersionSpec] = {}


async def version_spec(session: AsyncSession, version_id: uuid.UUID) -> VersionSpec:
    """A version's parsed questions; published versions never change, so they are cached."""
    cached = _PUBLISHED_VERSIONS.get(version_id)
    if cached is not None:
        return cached
    v = await repo.version_by_id(session, version_id)
    spec = VersionSpec(v.id, v.number, v.title, questions_of(v))
    if v.status != "draft":
        _PUBLISHED_VERSIONS[version_id] = spec
    return spec


async def form(session: AsyncSession, token: str, language: str, now: datetime) -> FormOut:
    """The questions of the invited version in one language, options shuffled per invitation
    when asked, with what was saved so far."""
    inv = await _open_invitation(session, token, now, lock=False)
    version = await version_spec(session, inv.version_id)
    seed = int(inv.id.int % 2**31)
    lang = language.split("-")[0]
    return FormOut(
        survey_id=inv.survey_id,
        version=version.number,
        language=language,
        direction="rtl" if lang in RTL_LANGUAGES else "ltr",
        title=version.title.get(lang) or version.title["en"],
        questions=[q.localized(lang, seed) for q in version.questions],
        saved_answers=inv.saved_answers or {},
        expires_at=inv.expires_at,
    )


def _answered_at(body: ResponseIn, now: datetime) -> datetime:
    """An imported response keeps the time it was given; a live one is dated now."""
    at = body.submitted_at
    if at is None:
        return now
    problem = "needs a time zone offset" if at.tzinfo is None else "must not be in the future" if at > now else None
    if problem:
        raise ProblemError(422, "invalid-answers", f"submitted_at {problem}", errors=[{"field": "submitted_at", "in": "body", "message": problem}])
    return at


async def submit_response(session: AsyncSession, body: ResponseIn, now: datetime) -> tuple[int, ResponseOut]:
    """Save (partial) or complete the response of an invitation token. Answers merge with a
    partial save and are validated against the invitation's own version; on completion the
    token is spent and `survey.response.submitted` is published with the scores.
    Errors (nothing stored): 404 unknown token, 409 used, 410 expired, 422 invalid answers.

    Statements: one reads and locks the invitation (with its survey and saved answers), one
    writes the response, its scored items and the invitation, and one queues the event."""
    inv = await _open_invitation(session, body.token, now, lock=True)
    version = await version_spec(session, inv.version_id)
    questions = version.questions
    saved = inv.response_id is not None
    merged = {**inv.saved_answers, **body.answers} if inv.saved_answers else body.answers
    merged = {k: v for k, v in merged.items() if v is not None}
    try:
        clean = validate_answers(questions, merged, complete=body.complete)
    except AnswerError as exc:
        raise ProblemError(422, "invalid-answers", str(exc), errors=exc.errors) from None
    customer_id = None if inv.anonymous else inv.customer_id
    status = 200 if saved else 201
    if not body.complete:
        response_id = await repo.save_partial(
            session,
            invitation_id=inv.id,
            response_id=inv.response_id,
            survey_id=inv.survey_id,
            version_id=version.id,
            version_number=version.number,
            customer_id=customer_id,
            segment=inv.segment,
            language=body.language,
            answers=clean,
            now=now,
        )
        return status, ResponseOut(
            id=response_id,
            survey_id=inv.survey_id,
            version=version.number,
            status="partial",
            nps=None,
            nps_category=None,
            csat=None,
            ces=None,
            attributes={},
            submitted_at=None,
        )
    scores = score(questions, clean)
    submitted_at = _answered_at(body, now)
    response = repo.CompletedResponse(
        id=inv.response_id or uuid.uuid4(),
        survey_id=inv.survey_id,
        version_id=version.id,
        version_number=version.number,
        invitation_id=None if inv.anonymous else inv.id,  # a finished anonymous response keeps no link to who was invited
        customer_id=customer_id,
        segment=inv.segment,
        language=body.language,
        answers=clean,
        demographics=scores.demographics,
        nps=scores.nps,
        csat=scores.csat,
        ces=scores.ces,
        submitted_at=submitted_at,
    )
    await repo.complete_response(session, response, inv.id, value_rows(questions, clean), saved=saved, responded_at=None if inv.anonymous else submitted_at)
    await publish(
        session,
        ResponseSubmitted(
            response_id=response.id,
            survey_id=inv.survey_id,
            survey_kind=inv.survey_kind,
            customer_id=customer_id,
            nps=scores.nps,
            nps_category=scores.nps_category,
            csat=scores.csat,
            ces=scores.ces,
            attributes=scores.attributes,
            submitted_at=submitted_at,
            survey_version=version.number,
            invitation_id=response.invitation_id,
            segment=inv.segment,
        ),
        subject=customer_id or response.id,
    )
    return status, ResponseOut(
        id=response.id,
        survey_id=inv.survey_id,
        version=version.number,
        status="completed",
        nps=scores.nps,
        nps_category=scores.nps_category,
        csat=scores.csat,
        ces=scores.ces,
        attributes=scores.attributes,
        submitted_at=submitted_at,
    )


async def release_due(session: AsyncSession, now: datetime, base_url: str) -> int:
    """Release scheduled invitations whose time has come (tokens, events)."""
    due = await repo.due_scheduled(session, now)
    surveys: dict[uuid.UUID, Survey] = {}
    for inv in due:
        if inv.survey_id not in surveys:
            surveys[inv.survey_id] = await _survey(session, inv.survey_id)
        await _release(session, surveys[inv.survey_id], inv, now, base_url)
    return len(due)


async def send_reminders(session: AsyncSession, now: datetime) -> int:
    """One reminder per unanswered invitation per `reminder_after_days`, up to `max_reminders`."""
    due = await repo.reminders_due(session, now)
    for inv in due:
        inv.reminders_sent += 1
        inv.last_contact_at = now
        assert inv.customer_id is not None
        await publish(
            session,
            InvitationReminderDue(
                invitation_id=inv.id, survey_id=inv.survey_id, customer_id=inv.customer_id, reminder=inv.reminders_sent, expires_at=inv.expires_at
            ),
            subject=inv.customer_id,
        )
    return len(due)


async def erase_customer(session: AsyncSession, customer_id: uuid.UUID) -> int:
    """Anonymise a customer's responses: no customer id, free-text answers dropped (they may
    hold PII); scores, choices and demographics stay, so the statistics do not move."""
    responses = await repo.responses_of_customer(session, customer_id)
    versions: dict[uuid.UUID, list[Question]] = {}
    for r in responses:
        if r.version_id not in versions:
            versions[r.version_id] = questions_of(await repo.version_by_id(session, r.version_id))
        text_ids = {q.id for q in versions[r.version_id] if q.type == "text"}
        r.answers = {k: v for k, v in r.answers.items() if k not in text_ids}
        r.customer_id = None
        r.erased = True
    await repo.forget_customer_invitations(session, customer_id)
    await session.flush()
    return len(responses)


async def create_sampling_plan(session: AsyncSession, survey_id: uuid.UUID, body: SamplingPlanIn, now: datetime) -> SamplingPlan:
    """Required responses for the target margin at the confidence (finite population
    correction), inflated by the expected response rate, then drawn from the population with
    a recorded seed (simple random, or stratified with proportional allocation)."""
    survey = await _survey(session, survey_id)
    strata = {m.customer_id: m.stratum for m in body.population}
    population = len(strata)
    required = required_sample_size(population, body.margin_of_error, body.confidence)
    needed = min(population, math.ceil(required / body.expected_response_rate - 1e-9))
    seed = body.seed if body.seed is not None else secrets.randbelow(2**62)
    chosen, allocation = select_sample([(str(c), s) for c, s in strata.items()], needed, seed, stratified=body.method == "stratified")
    plan = SamplingPlan(
        id=uuid.uuid4(),
        survey_id=survey.id,
        method=body.method,
        confidence=Decimal(str(body.confidence)),
        margin_of_error=Decimal(str(body.margin_of_error)),
        expected_response_rate=Decimal(str(body.expected_response_rate)),
        population_size=population,
        required_responses=required,
        invitations_needed=needed,
        seed=seed,
        allocation=allocation,
        selected=[{"customer_id": c, "stratum": strata[uuid.UUID(c)]} for c in chosen],
        created_at=now,
    )
    session.add(plan)
    await session.flush()
    return plan


def decimal_or_none(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))
