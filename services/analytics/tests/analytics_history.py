"""A small hand-computable history (customers A-G, Q1 2026), used by several tests.

Purchases (SAR unless noted):
  A 2025-11-10 100, 2026-01-15 200, 2026-02-20 100; refund 50 on 2026-02-25; tier gold
  B 2025-12-01 50
  C 2025-12-20 80, 2026-03-10 120; tier gold
  D 2026-02-01 60 (first purchase in Q1; referred by A on 2026-01-25)
  E 2025-06-01 40, 2026-03-01 30 (reactivated)
  F 2026-01-20 10 USD (first purchase in Q1, other currency)
  G 2025-10-15 70
Touches in Q1 (plan P1 unless noted): A email sent; C sms sent cost 0.25; D phone sent then
completed (a service call); E email only scheduled; B post skipped `holdout`; G touch skipped
`holdout`; G phone completed cost 20 (no plan).
Rewards: C 500 points (no cost), A 100 points cost 2.50. Invitations in Q1: A B C D E.
Responses in Q1: A nps 10 csat 5 ces 2 attributes quality(4, w3) price(2, w1) -> CSI 3.5;
C nps 8 csat 4 ces 3; D nps 3 csat 2 ces 5; E nps 9 csat 3 ces 4 quality(5) -> CSI 5.
Response in Q4 2025: B nps 7 csat 4 quality(4) -> CSI 4 (a baseline for goals).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from analytics_testkit import at

from wafa_shared.events import Event, EventData, new_event
from wafa_shared.events import customer as c
from wafa_shared.events import loyalty as lo
from wafa_shared.events import survey as sv
from wafa_shared.events import touch as to

IDS = {name: uuid.uuid5(uuid.NAMESPACE_URL, f"wafa-test-{name}") for name in "ABCDEFGH"}
P1 = uuid.uuid5(uuid.NAMESPACE_URL, "wafa-test-plan-1")
SURVEY = uuid.uuid5(uuid.NAMESPACE_URL, "wafa-test-survey")


def _u(*parts: object) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, "/".join(map(str, parts)))


def purchase(who: str, day: str, amount: str, currency: str = "SAR") -> tuple[EventData, Any]:
    return (
        lo.PurchaseRecorded(
            purchase_id=_u("p", who, day, amount),
            customer_id=IDS[who],
            order_id=f"{who}-{day}",
            amount=Decimal(amount),
            currency=currency,
            occurred_at=at(day),
        ),
        IDS[who],
    )


def touch(kind: str, who: str, n: int, day: str, *, channel: str, plan: uuid.UUID | None = P1, **extra: Any) -> tuple[EventData, Any]:
    common: dict[str, Any] = {"touch_id": _u("t", who, n), "customer_id": IDS[who], "plan_id": plan, "channel": channel}
    model = {"scheduled": to.TouchScheduled, "sent": to.TouchSent, "completed": to.TouchCompleted, "skipped": to.TouchSkipped}[kind]
    field = {"scheduled": "due_at", "sent": "sent_at", "completed": "completed_at", "skipped": "skipped_at"}[kind]
    return model(**common, **{field: at(day)}, **extra), IDS[who]


def response(who: str, day: str, nps: int, csat: str, ces: str | None, attributes: dict[str, dict[str, Decimal]] | None = None) -> tuple[EventData, Any]:
    return (
        sv.ResponseSubmitted(
            response_id=_u("r", who, day),
            survey_id=SURVEY,
            survey_kind="relationship",
            customer_id=IDS[who],
            nps=nps,
            csat=Decimal(csat),
            ces=None if ces is None else Decimal(ces),
            attributes=attributes or {},
            submitted_at=at(day),
        ),
        IDS[who],
    )


def invitation(who: str) -> tuple[EventData, Any]:
    return (
        sv.InvitationCreated(invitation_id=_u("i", who), survey_id=SURVEY, customer_id=IDS[who], url="https://x/y", expires_at=at("2026-04-30")),
        IDS[who],
    )


D = Decimal


def history() -> list[tuple[EventData, Any]]:
    """The events (each `(data, subject)`); invitations are sent with event time 2026-02-15."""
    return [
        (c.CustomerRegistered(customer_id=IDS["A"], display_name="Amal", email="amal@example.com", registered_at=at("2025-11-01")), IDS["A"]),
        purchase("A", "2025-11-10", "100"),
        purchase("A", "2026-01-15", "200"),
        purchase("A", "2026-02-20", "100"),
        (
            lo.PurchaseRefunded(
                purchase_id=_u("p", "A", "2026-02-20", "100"),
                customer_id=IDS["A"],
                refund_id=_u("rf", "A"),
                amount=D("50"),
                currency="SAR",
                occurred_at=at("2026-02-25"),
            ),
            IDS["A"],
        ),
        (lo.TierChanged(customer_id=IDS["A"], from_tier=None, to_tier="gold", reason="spend", occurred_at=at("2026-01-16")), IDS["A"]),
        purchase("B", "2025-12-01", "50"),
        purchase("C", "2025-12-20", "80"),
        purchase("C", "2026-03-10", "120"),
        (lo.TierChanged(customer_id=IDS["C"], from_tier=None, to_tier="gold", reason="spend", occurred_at=at("2026-03-11")), IDS["C"]),
        purchase("D", "2026-02-01", "60"),
        (c.ReferralMade(referral_id=_u("ref", "A", "D"), advocate_id=IDS["A"], referee_id=IDS["D"], made_at=at("2026-01-25")), IDS["A"]),
        purchase("E", "2025-06-01", "40"),
        purchase("E", "2026-03-01", "30"),
        purchase("F", "2026-01-20", "10", "USD"),
        purchase("G", "2025-10-15", "70"),
        touch("sent", "A", 1, "2026-01-05", channel="email"),
        touch("sent", "C", 2, "2026-02-05", channel="sms", cost=D("0.25")),
        touch("sent", "D", 3, "2026-02-10", channel="phone"),
        touch("completed", "D", 3, "2026-02-11", channel="phone", outcome="reached"),
        touch("scheduled", "E", 4, "2026-03-20", channel="email"),
        touch("skipped", "B", 5, "2026-01-05", channel="post", reason="holdout"),
        touch("skipped", "G", 6, "2026-01-05", channel="email", reason="holdout"),
        touch("completed", "G", 7, "2026-03-02", channel="phone", plan=None, outcome="complaint", cost=D("20")),
        (lo.RewardRedeemed(customer_id=IDS["C"], reward_id=_u("rw", 1), redemption_id=_u("rd", "C"), points=D("500"), occurred_at=at("2026-03-15")), IDS["C"]),
        (
            lo.RewardRedeemed(
                customer_id=IDS["A"],
                reward_id=_u("rw", 2),
                redemption_id=_u("rd", "A"),
                points=D("100"),
                cost=D("2.50"),
                currency="SAR",
                occurred_at=at("2026-02-01"),
            ),
            IDS["A"],
        ),
        *[invitation(w) for w in "ABCDE"],
        response("A", "2026-02-20", 10, "5", "2", {"quality": {"satisfaction": D(4), "importance": D(3)}, "price": {"satisfaction": D(2), "importance": D(1)}}),
        response("C", "2026-03-12", 8, "4", "3"),
        response("D", "2026-02-15", 3, "2", "5"),
        response("E", "2026-03-05", 9, "3", "4", {"quality": {"satisfaction": D(5)}}),
        response("B", "2025-12-05", 7, "4", None, {"quality": {"satisfaction": D(4)}}),
    ]


INVITATIONS_SENT_AT = at("2026-02-15")


def envelopes(items: list[tuple[EventData, Any]]) -> list[Event]:
    """Events as envelopes; invitations carry their creation time as the event time."""
    return [
        new_event(data, source="test", subject=subject, time=INVITATIONS_SENT_AT if isinstance(data, sv.InvitationCreated) else None) for data, subject in items
    ]


def events() -> list[Event]:
    return envelopes(history())
