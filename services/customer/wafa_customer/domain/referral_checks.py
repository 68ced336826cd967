"""Referral fraud checks (issue 12). Pure: given what the database says, decide.

Reasons are stable strings recorded on the referral and carried by `referral.rejected`:
- `self_referral_email`: the referee's email is the advocate's (compared canonically).
- `self_referral_phone`: the referee's phone is the advocate's, once both are E.164.
- `referee_already_customer`: someone with that email or phone is already a customer.
- `referee_already_referred`: that person is already a known lead or prospect.
- `advocate_limit_exceeded`: the advocate made `limit` referrals within the period.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Person:
    email_canonical: str | None
    phone: str | None


@dataclass(frozen=True)
class Rejection:
    reason: str
    status: int
    detail: str


def check_referral(
    advocate: Person,
    referee: Person,
    *,
    existing_lifecycle: str | None,
    recent_referrals: int,
    limit: int,
    period_days: int,
) -> Rejection | None:
    """The first rule the referral breaks, or None when it may go ahead."""
    if referee.email_canonical and referee.email_canonical == advocate.email_canonical:
        return Rejection("self_referral_email", 422, "The referee's email is the advocate's own.")
    if referee.phone and referee.phone == advocate.phone:
        return Rejection("self_referral_phone", 422, "The referee's phone number is the advocate's own.")
    if existing_lifecycle in ("customer", "former"):
        return Rejection("referee_already_customer", 409, "The referee is already a customer.")
    if existing_lifecycle is not None:
        return Rejection("referee_already_referred", 409, f"The referee is already known (as a {existing_lifecycle}).")
    if recent_referrals >= limit:
        return Rejection(
            "advocate_limit_exceeded",
            429,
            f"The advocate already made {recent_referrals} referrals in the last {period_days} days (limit {limit}).",
        )
    return None
