"""A touch is never sent after its window: late ones (imported history, downtime) are skipped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from wafa_touch.domain.fatigue import Candidate, Contact, Policy, decide

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
CONSENTED = Contact(consents={"email": "granted"}, time_zone="UTC")


def candidate(window_end: datetime) -> Candidate:
    return Candidate("email", 10, window_end, Decimal("0"), None, None)


def test_a_touch_past_its_window_is_skipped_not_sent() -> None:
    d = decide(candidate(NOW - timedelta(seconds=1)), [], CONSENTED, Policy(quiet_start=None, quiet_end=None), NOW)
    assert (d.action, d.reason) == ("skip", "window-passed")


def test_a_touch_inside_its_window_is_sent() -> None:
    d = decide(candidate(NOW + timedelta(days=1)), [], CONSENTED, Policy(quiet_start=None, quiet_end=None), NOW)
    assert d.action == "send"
