"""An injectable clock, so time-driven rules and jobs can be tested by moving time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema


def _naive(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("a local time takes no UTC offset: it is read in the customer's (or the policy's) time zone")
    return value


# A local wall-clock time (quiet hours, a touch's send time), read in a time zone named elsewhere.
# An offset is refused: it would be meaningless, and an aware time cannot be compared with the
# naive local times it is checked against. Documented as RFC 3339 partial-time, as it is sent.
LocalTime = Annotated[
    time,
    AfterValidator(_naive),
    WithJsonSchema(
        {"type": "string", "format": "partial-time", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$", "examples": ["21:00"]}
    ),
]


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock(Clock):
    """A clock that stands still until told to move (tests)."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when

    def advance(self, delta: timedelta) -> None:
        self._now += delta
