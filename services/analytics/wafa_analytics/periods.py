"""Reporting periods: `from`/`to` are inclusive UTC dates, queried as [from 00:00, to+1 00:00)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from wafa_shared.problems import ProblemError


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), tzinfo=UTC)

    def previous(self) -> Period:
        """The period of the same length just before this one (a goal's baseline)."""
        days = (self.last - self.first).days + 1
        return Period(self.first - timedelta(days=days), self.first - timedelta(days=1))


def period(first: date, last: date) -> Period:
    if last < first:
        raise ProblemError(422, "invalid-period", "`to` is before `from`", errors=[{"field": "to", "in": "query", "message": "must not be before from"}])
    return Period(first, last)
