"""Query parameters shared by the analytics routers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import Depends, Query

from wafa_analytics.domain.rfm import SEGMENTS
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
RfmSegmentDep = Annotated[
    Literal[SEGMENTS] | None,  # type: ignore[valid-type]
    Query(description="only customers of this RFM segment, scored at the end of the period (or now, if sooner)"),
]


def segment_as_of(p: Period | None, now: datetime) -> datetime:
    """When an RFM segment filter scores customers: the period's end, or now if that is sooner."""
    return now if p is None else min(p.end, now)
