"""Programs and their tiers; enrolment of members into the default program."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_loyalty.domain.tiers import TierDef, tier_for
from wafa_loyalty.models import Member, Program, Tier
from wafa_loyalty.schemas import ProgramIn, ProgramOut, TierOut
from wafa_shared.events.loyalty import TierChanged
from wafa_shared.outbox import publish
from wafa_shared.problems import ProblemError


async def create_program(session: AsyncSession, body: ProgramIn) -> ProgramOut:
    if body.expiry_mode != "none" and body.expiry_months is None:
        raise ProblemError(
            422, "validation-error", "expiry_months is required with an expiry policy", errors=[{"field": "expiry_months", "in": "body", "message": "required"}]
        )
    names = [t.name for t in body.tiers]
    if len(set(names)) != len(names):
        raise ProblemError(422, "validation-error", "tier names must be unique", errors=[{"field": "tiers", "in": "body", "message": "duplicate tier name"}])
    if body.is_default:
        await session.execute(update(Program).where(Program.is_default.is_(True)).values(is_default=False))
    program = Program(id=uuid.uuid4(), rules=body.rules.model_dump(mode="json"), **body.model_dump(exclude={"rules", "tiers"}))
    session.add(program)
    await session.flush()
    tiers = [Tier(id=uuid.uuid4(), program_id=program.id, rank=i, **t.model_dump()) for i, t in enumerate(sorted(body.tiers, key=lambda t: t.threshold))]
    session.add_all(tiers)
    await session.flush()
    return program_out(program, tiers)


def program_out(program: Program, tiers: list[Tier]) -> ProgramOut:
    out = ProgramOut.model_validate(program)
    out.tiers = [TierOut.model_validate(t) for t in sorted(tiers, key=lambda t: t.rank)]
    return out


async def list_programs(session: AsyncSession) -> list[ProgramOut]:
    programs = (await session.scalars(select(Program).order_by(Program.created_at, Program.id))).all()
    tiers = (await session.scalars(select(Tier))).all()
    return [program_out(p, [t for t in tiers if t.program_id == p.id]) for p in programs]


async def get_program(session: AsyncSession, program_id: uuid.UUID) -> Program:
    program = await session.get(Program, program_id)
    if program is None:
        raise ProblemError(404, "not-found", f"Program {program_id} does not exist")
    return program


async def default_program(session: AsyncSession) -> Program | None:
    return (await session.scalars(select(Program).where(Program.is_default.is_(True)).limit(1))).first()


async def tier_defs(session: AsyncSession, program_id: uuid.UUID) -> list[TierDef]:
    rows = (await session.scalars(select(Tier).where(Tier.program_id == program_id).order_by(Tier.rank))).all()
    return [TierDef(t.name, t.rank, t.threshold, t.earn_multiplier, t.paid) for t in rows]


async def enrol(session: AsyncSession, customer_id: uuid.UUID, birth_date: date | None, at: datetime) -> Member | None:
    """Make a customer a member of the default program (idempotent; keeps the birth date for
    birthday multipliers). Members start in the tier whose threshold is 0, if any."""
    program = await default_program(session)
    if program is None:
        return None
    tiers = await tier_defs(session, program.id)
    base = tier_for(Decimal(0), tiers)
    row = (
        await session.execute(
            insert(Member)
            .values(
                customer_id=customer_id,
                program_id=program.id,
                birth_date=birth_date,
                tier=base.name if base else None,
                tier_rank=base.rank if base else None,
                tier_since=at if base else None,
                available=0,
                pending=0,
                purchases=0,
                erased=False,
                enrolled_at=at,
            )
            .on_conflict_do_nothing(index_elements=["customer_id"])
            .returning(Member.customer_id)
        )
    ).scalar_one_or_none()
    if row is None:
        if birth_date is not None:
            await session.execute(update(Member).where(Member.customer_id == customer_id, Member.erased.is_(False)).values(birth_date=birth_date))
        return None
    if base is not None:
        await publish(session, TierChanged(customer_id=customer_id, from_tier=None, to_tier=base.name, reason="enrolled", occurred_at=at), subject=customer_id)
    return await session.get(Member, customer_id)


async def update_birth_date(session: AsyncSession, customer_id: uuid.UUID, birth_date: date | None) -> None:
    await session.execute(update(Member).where(Member.customer_id == customer_id, Member.erased.is_(False)).values(birth_date=birth_date))
