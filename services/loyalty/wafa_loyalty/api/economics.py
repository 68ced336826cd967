"""`GET /v1/economics`: liability, breakage, tier distribution, reward cost per period."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from wafa_loyalty import economics
from wafa_loyalty.schemas import EconomicsOut
from wafa_shared.auth import require
from wafa_shared.deps import SessionDep

router = APIRouter(prefix="/v1", tags=["economics"])


@router.get("/economics", response_model=EconomicsOut, dependencies=[require("loyalty:read")])
async def get_economics(
    session: SessionDep,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
) -> Any:
    return await economics.economics(session, start, end)
