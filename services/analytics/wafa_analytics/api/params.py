"""Query parameters shared by the analytics routers."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Query

from wafa_analytics.periods import Period, period


def _period(
    from_: Annotated[date, Query(alias="from", description="first day (UTC), inclusive")],
    to: Annotated[date, Query(description="last day (UTC), inclusive")],
) -> Period:
    return period(from_, to)


PeriodDep = Annotated[Period, Depends(_period)]


def period_out(p: Period) -> dict[str, date]:
    return {"from": p.first, "to": p.last}


TierDep = Annotated[str | None, Query(max_length=50, description="only customers currently in this loyalty tier")]
