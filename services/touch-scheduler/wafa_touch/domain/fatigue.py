"""The contact-fatigue policy as pure functions: may this touch go out now, later, or never?

`decide` is the only gate between a due touch and the customer. Given the customer's past
contacts (times of every touch already sent or handed to the team), it guarantees:
- consent: a touch goes out only on a channel the customer consented to; an erased customer
  gets nothing;
- at most `max_per_7d` contacts in any 7-day window and `max_per_30d` in any 30-day window,
  and at least `min_gap_hours` between two contacts (touches with priority >= `exempt_priority`,
  i.e. service recovery, are exempt from these three, never from consent);
- no instant message (email, SMS, push, survey invitation) inside the customer's quiet hours;
- a plan's monthly budget is never exceeded;
- a touch whose window has passed (due long ago: an imported purchase, a scheduler that was
  down) is skipped as `window-passed`, never sent late.
A touch that would break a rule is postponed to the earliest time that keeps every rule, if
that is inside its window; otherwise it is skipped with the reason. It is never sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Literal

from wafa_touch.domain.channels import INSTANT_CHANNELS, PREFERABLE, consent_allows
from wafa_touch.domain.timing import leave_quiet, zone

WEEK = timedelta(days=7)
MONTH = timedelta(days=30)


@dataclass(frozen=True)
class Policy:
    max_per_7d: int = 2
    max_per_30d: int = 6
    min_gap_hours: int = 24
    quiet_start: time | None = time(21, 0)
    quiet_end: time | None = time(9, 0)
    respect_preferred: bool = True
    exempt_priority: int = 100
    default_time_zone: str = "UTC"


@dataclass(frozen=True)
class Contact:
    """The customer as the policy sees them."""

    consents: dict[str, str] = field(default_factory=dict)
    time_zone: str | None = None
    preferred_channel: str | None = None
    quiet_start: time | None = None
    quiet_end: time | None = None
    erased: bool = False


@dataclass(frozen=True)
class Candidate:
    channel: str
    priority: int
    window_end: datetime
    cost: Decimal = Decimal("0")
    budget_left: Decimal | None = None  # None: the plan has no budget
    budget_resets_at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    action: Literal["send", "postpone", "skip"]
    channel: str
    at: datetime | None = None
    reason: str | None = None


def effective_channel(channel: str, contact: Contact, policy: Policy) -> str:
    """The preferred message channel replaces email/SMS/push when the customer consented to it."""
    pref = contact.preferred_channel
    if policy.respect_preferred and channel in PREFERABLE and pref in PREFERABLE and pref != channel and consent_allows(pref, contact.consents):
        return pref
    return channel


def quiet_hours(contact: Contact, policy: Policy) -> tuple[time | None, time | None]:
    if contact.quiet_start is not None and contact.quiet_end is not None:
        return contact.quiet_start, contact.quiet_end
    return policy.quiet_start, policy.quiet_end


def earliest_allowed(now: datetime, history: Sequence[datetime], channel: str, priority: int, contact: Contact, policy: Policy) -> tuple[datetime, str | None]:
    """The earliest instant >= now at which a touch keeps every timing rule, and the rule that
    moved it last (None when `now` is fine)."""
    tz = zone(contact.time_zone, policy.default_time_zone)
    qs, qe = quiet_hours(contact, policy)
    past = sorted(history)
    exempt = priority >= policy.exempt_priority
    t, reason = now, None
    for _ in range(64):
        start = t
        if not exempt:
            if past and policy.min_gap_hours > 0 and t < past[-1] + timedelta(hours=policy.min_gap_hours):
                t, reason = past[-1] + timedelta(hours=policy.min_gap_hours), "min-gap"
            for span, cap, name in ((WEEK, policy.max_per_7d, "max-per-7d"), (MONTH, policy.max_per_30d, "max-per-30d")):
                inside = [h for h in past if h > t - span]
                if len(inside) >= cap:
                    t, reason = inside[len(inside) - cap] + span, name
        if channel in INSTANT_CHANNELS:
            moved = leave_quiet(t, tz, qs, qe)
            if moved != t:
                t, reason = moved, "quiet-hours"
        if t == start:
            return t, reason
    return t, reason


def decide(candidate: Candidate, history: Sequence[datetime], contact: Contact, policy: Policy, now: datetime) -> Decision:
    """Send now, postpone (with the new time) or skip (with the reason); see the module doc."""
    if contact.erased:
        return Decision("skip", candidate.channel, reason="customer-erased")
    if now > candidate.window_end:  # e.g. a thank-you for a purchase imported from last year
        return Decision("skip", candidate.channel, reason="window-passed")
    channel = effective_channel(candidate.channel, contact, policy)
    if not consent_allows(channel, contact.consents):
        return Decision("skip", channel, reason=f"no-consent:{channel}")
    at, reason = earliest_allowed(now, history, channel, candidate.priority, contact, policy)
    if candidate.budget_left is not None and candidate.cost > candidate.budget_left:
        resets = candidate.budget_resets_at
        if resets is None or resets > candidate.window_end:
            return Decision("skip", channel, reason="plan-budget-exhausted")
        at, reason = earliest_allowed(max(at, resets), history, channel, candidate.priority, contact, policy)
        reason = reason or "plan-budget-exhausted"
    if at == now:
        return Decision("send", channel, at=now)
    if at <= candidate.window_end:
        return Decision("postpone", channel, at=at, reason=reason)
    return Decision("skip", channel, reason=f"fatigue:{reason}")
