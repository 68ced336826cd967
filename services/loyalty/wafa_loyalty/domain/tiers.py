"""Tier qualification: windows, thresholds, upgrades now and downgrades at period end.

- Tier evaluation reads only qualifying credit (points, spend or purchase count, per the
  program's basis) inside the qualification window; redemption and expiry never lower it.
- `rolling_12m`: the window is the 12 months before now. `calendar_year`: the current year.
- Upgrades take effect at once. A tier is then held until `review_at` = the end of the
  qualification period it was earned in + the grace period; at review the member keeps the
  highest tier the credit of the period that just ended supports (downgrade at period end).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal


@dataclass(frozen=True)
class TierDef:
    name: str
    rank: int
    threshold: Decimal
    earn_multiplier: Decimal
    paid: bool = False


def add_months(at: datetime, months: int) -> datetime:
    month0 = at.month - 1 + months
    year, month = at.year + month0 // 12, month0 % 12 + 1
    days = [31, 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return at.replace(year=year, month=month, day=min(at.day, days[month - 1]))


def window(period: str, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the qualification window that contains `now`."""
    if period == "calendar_year":
        start = datetime(now.year, 1, 1, tzinfo=UTC)
        return start, datetime(now.year + 1, 1, 1, tzinfo=UTC)
    return add_months(now, -12), now


def period_end(period: str, now: datetime) -> datetime:
    """When the qualification period that contains `now` ends (rolling: 12 months on)."""
    if period == "calendar_year":
        return datetime(now.year + 1, 1, 1, tzinfo=UTC)
    return add_months(now, 12)


def review_at(period: str, now: datetime, grace_days: int) -> datetime:
    return period_end(period, now) + timedelta(days=grace_days)


def tier_for(credit: Decimal, tiers: list[TierDef]) -> TierDef | None:
    """The highest earnable (not paid-membership) tier whose threshold the credit reaches."""
    best = None
    for t in sorted((t for t in tiers if not t.paid), key=lambda t: t.rank):
        if credit >= t.threshold:
            best = t
    return best


def next_tier(current_rank: int | None, tiers: list[TierDef]) -> TierDef | None:
    higher = [t for t in tiers if not t.paid and (current_rank is None or t.rank > current_rank)]
    return min(higher, key=lambda t: t.rank) if higher else None


def progress_message(basis: str, needed: Decimal, currency: str, points_name: str, deadline: datetime, tier: str) -> str:
    """'spend 240.00 SAR more by 2027-03-31 to reach Gold' (the deadline is the last day)."""
    by = (deadline - timedelta(microseconds=1)).date().isoformat()
    if basis == "spend":
        return f"spend {needed:.2f} {currency} more by {by} to reach {tier}"
    if basis == "count":
        return f"make {needed.normalize():f} more purchases by {by} to reach {tier}"
    return f"earn {needed.normalize():f} more qualifying {points_name} by {by} to reach {tier}"
