"""`/v1/programs`: loyalty programs with their tiers and earning rules."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from wafa_loyalty import programs
from wafa_loyalty.schemas import ProgramIn, ProgramOut
from wafa_shared.auth import require
from wafa_shared.deps import SessionDep

router = APIRouter(prefix="/v1/programs", tags=["programs"])


@router.post("", status_code=201, response_model=ProgramOut, dependencies=[require("loyalty:write")])
async def create_program(body: ProgramIn, session: SessionDep) -> Any:
    """Create a program (with its tiers and earning rules). The default program is the one new
    customers are enrolled into on `customer.registered`."""
    return await programs.create_program(session, body)


@router.get("", response_model=list[ProgramOut], dependencies=[require("loyalty:read")])
async def list_programs(session: SessionDep) -> Any:
    return await programs.list_programs(session)
