"""End-to-end journeys across the five services running as real processes (issue #8).

Everything here goes through HTTP and webhooks only: the services' public APIs, a real partner
endpoint (`webhook_sink`) for outbound messages, and signed partner posts for inbound ones.
Every wait is on a condition (`eventually`), never a fixed sleep.

Isolation: the platform is shared by the whole session, so each test makes its own customers
(unique e-mails) and its own default loyalty program whose tier names are unique; analytics KPIs
are then read for that tier only (`segment=<tier>`), which makes them exact for the test.
Tests run one after another (a new default program is what new members join).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from wafa_shared.testing.events import eventually
from wafa_shared.testing.platform import OPEN_FATIGUE_POLICY
from wafa_shared.testing.webhook_sink import WebhookSink, webhook_sink
from wafa_shared.webhooks.signing import new_secret, signed_headers

pytestmark = pytest.mark.slow

SERVICES = ("customer", "loyalty", "survey", "analytics", "touch-scheduler")
WAIT_S = 90.0  # generous: two shared cores, five services, one broker
POLL_S = 0.25
EARN_RATE = Decimal("2")  # points per SAR in every program made here
GOLD_AT = Decimal("1000")  # points of tier-qualifying credit for the upper tier


def dec(value: Any) -> Decimal:
    return Decimal(str(value))


def ok(r: httpx.Response, *codes: int) -> Any:
    assert r.status_code in (codes or (200,)), f"{r.request.method} {r.request.url} -> {r.status_code}: {r.text[:1000]}"
    return r.json() if r.content and r.headers.get("content-type", "").startswith(("application/json", "application/problem+json")) else r.text


async def wait(check: Any, timeout_s: float = WAIT_S) -> Any:
    return await eventually(check, timeout_s=timeout_s, interval_s=POLL_S)


@dataclass
class Program:
    id: str
    base: str
    gold: str
    raw: dict[str, Any]


class Wafa:
    """The platform as its users see it: one authenticated client per service."""

    def __init__(self, platform: Any, clients: dict[str, httpx.AsyncClient]) -> None:
        self.platform = platform
        self.customer = clients["customer"]
        self.loyalty = clients["loyalty"]
        self.survey = clients["survey"]
        self.analytics = clients["analytics"]
        self.touch = clients["touch-scheduler"]
        self.tag = uuid.uuid4().hex[:8]

    # --- loyalty -------------------------------------------------------------------------
    async def new_program(self, **overrides: Any) -> Program:
        """A default program (new customers join it) with tiers named for this test only."""
        base, gold = f"Base-{self.tag}", f"Gold-{self.tag}"
        body = {
            "name": f"E2E {self.tag}",
            "currency": "SAR",
            "earn_rate": str(EARN_RATE),
            "rounding": "down",
            "point_value": "0.05",
            "pending_days": 0,
            "qualification_basis": "points",
            "tiers": [{"name": base, "threshold": "0"}, {"name": gold, "threshold": str(GOLD_AT)}],
            "is_default": True,
            **overrides,
        }
        out = ok(await self.loyalty.post("/v1/programs", json=body), 201)
        return Program(out["id"], base, gold, out)

    async def member(self, customer_id: str) -> dict[str, Any] | None:
        r = await self.loyalty.get(f"/v1/members/{customer_id}")
        return r.json() if r.status_code == 200 else None

    async def enrolled(self, customer_id: str, program: Program) -> dict[str, Any]:
        """Wait until `customer.registered` has made the customer a member of `program`."""
        m = await wait(lambda: self.member(customer_id))
        assert m["program_id"] == program.id, "the customer joined the test's default program"
        return m  # type: ignore[no-any-return]

    async def purchase(self, customer_id: str, amount: str, *, order_id: str | None = None) -> dict[str, Any]:
        body = purchase_body(customer_id, amount, order_id or f"ord-{uuid.uuid4().hex}")
        return ok(await self.loyalty.post("/v1/purchases", json=body), 201)  # type: ignore[no-any-return]

    # --- customer ------------------------------------------------------------------------
    async def register(self, given: str, *, consents: tuple[str, ...] = ("email", "phone"), **fields: Any) -> dict[str, Any]:
        uid = uuid.uuid4().hex[:10]
        body = {
            "given_name": given,
            "family_name": f"Test{uid}",
            "email": f"{given.lower()}.{uid}@e2e.wafa.example",
            "country": "SA",
            "language": "ar",
            "time_zone": "Asia/Riyadh",
            **fields,
        }
        c = ok(await self.customer.post("/v1/customers", json=body, headers={"Idempotency-Key": f"reg-{uid}"}), 201)
        if consents:
            ok(await self.customer.put(f"/v1/customers/{c['id']}/consents", json={"channels": dict.fromkeys(consents, "granted"), "source": "web-form"}))
        return c  # type: ignore[no-any-return]

    # --- touch scheduler -----------------------------------------------------------------
    async def timeline(self, customer_id: str) -> list[dict[str, Any]]:
        return ok(await self.touch.get(f"/v1/customers/{customer_id}/touches", params={"limit": 500}))["items"]  # type: ignore[no-any-return]

    async def plan_id(self, key: str) -> str:
        plans = ok(await self.touch.get("/v1/plans", params={"limit": 500}))["items"]
        return next(p["id"] for p in plans if p["key"] == key)  # type: ignore[no-any-return]

    async def dispatch(self) -> None:
        """Run the dispatch job now rather than waiting for its next tick (an ops endpoint)."""
        ok(await self.touch.post("/v1/ops/jobs/dispatch/run"))

    async def channels_to(self, sink: WebhookSink, secret: str, *channels: str) -> None:
        for ch in channels:
            ok(await self.touch.put(f"/v1/channels/{ch}", json={"url": sink.url, "secret": secret}))

    # --- analytics -----------------------------------------------------------------------
    async def kpis(self, tier: str) -> dict[str, Any]:
        today = datetime.now(UTC).date()
        params = {"from": (today - timedelta(days=1)).isoformat(), "to": (today + timedelta(days=1)).isoformat(), "segment": tier}
        return ok(await self.analytics.get("/v1/kpis", params=params))["kpis"]  # type: ignore[no-any-return]

    # --- survey --------------------------------------------------------------------------
    async def published_survey(self, kind: str, trigger: dict[str, Any] | None) -> dict[str, Any]:
        body = {
            "name": f"E2E {kind} {self.tag}",
            "kind": kind,
            "title": {"ar": "كيف كانت تجربتك؟", "en": "How was your experience?"},
            "trigger": trigger,
            "fatigue_days": 0,
            "questions": [
                {"id": "nps", "type": "nps", "required": True, "text": {"ar": "هل توصي بنا؟", "en": "Would you recommend us?"}},
                {"id": "comment", "type": "text", "text": {"ar": "تعليقك", "en": "Your comment"}},
            ],
        }
        s = ok(await self.survey.post("/v1/surveys", json=body), 201)
        s = ok(await self.survey.post(f"/v1/surveys/{s['id']}/publish"))
        assert s["published_version"] == 1
        return s  # type: ignore[no-any-return]


def purchase_body(customer_id: str, amount: str, order_id: str) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "order_id": order_id,
        "occurred_at": datetime.now(UTC).isoformat(),
        "currency": "SAR",
        "channel": "store",
        "lines": [{"sku": "SKU-1", "category": "general", "quantity": "1", "unit_price": amount}],
    }


def points_for(amount: str) -> Decimal:
    """The program's earn rule by hand: amount x earn rate, rounded down to whole points."""
    return (dec(amount) * EARN_RATE).to_integral_value(rounding="ROUND_FLOOR")


@pytest.fixture(scope="session")
async def staged(platform: Any) -> Any:
    """Once per session: every service ready, and a touch policy that lets a test's touches go
    out now (no quiet hours — the session may run at night in Riyadh — no frequency caps, no
    holdout in the 33-touch plans, so the chosen customer is always treated)."""
    for name in SERVICES:
        async with platform.client(name) as c:

            async def ready(c: httpx.AsyncClient = c) -> bool:
                return (await c.get("/readyz")).status_code == 200

            await wait(ready, 120)
    async with platform.client("touch-scheduler") as touch:
        ok(await touch.put("/v1/fatigue-policy", json=OPEN_FATIGUE_POLICY))
        for p in ok(await touch.get("/v1/plans", params={"limit": 500}))["items"]:
            if p["key"] in ("client-for-life", "advocate-appreciation"):
                ok(await touch.put(f"/v1/plans/{p['id']}", json={"holdout_pct": "0"}))
    return platform


@pytest.fixture
async def wafa(staged: Any) -> AsyncIterator[Wafa]:
    clients = {name: staged.client(name) for name in SERVICES}
    try:
        yield Wafa(staged, clients)
    finally:
        for c in clients.values():
            await c.aclose()


def messages_for(sink: WebhookSink, customer_id: str, channel: str | None = None) -> list[tuple[dict[str, str], bytes, dict[str, Any]]]:
    out = []
    for r in list(sink.received):
        body = json.loads(r.body)
        if body.get("customer", {}).get("id") == customer_id and (channel is None or body.get("channel") == channel):
            out.append((r.headers, r.body, body))
    return out


# ------------------------------------------------------------------------------------------
# 1. A customer's year
# ------------------------------------------------------------------------------------------


async def test_a_customers_year_from_registration_to_service_recovery_shows_in_the_kpis(wafa: Wafa) -> None:
    program = await wafa.new_program()
    channel_secret = new_secret()
    async with webhook_sink() as partner:
        # the touch scheduler's message partners (email and survey invitations) are our sink
        await wafa.channels_to(partner, channel_secret, "email", "survey_invite")
        survey = await wafa.published_survey(
            "transactional", {"event": "loyalty.purchase.recorded", "delay_hours": 0, "sampling_rate": 1, "first_purchase_only": False}
        )

        # register (customer API); loyalty enrols the customer into the default program
        c = await wafa.register("Layla")
        cid = c["id"]
        assert c["lifecycle"] == "customer" and c["referral_code"]
        m = await wafa.enrolled(cid, program)
        assert (dec(m["available"]), m["tier"]) == (0, program.base)

        # first purchase: 250.00 SAR at 2 points per SAR, rounded down = 500 points
        amount = "250.00"
        p = await wafa.purchase(cid, amount)
        assert p["first_purchase"] is True
        assert dec(p["amount"]) == dec(amount)
        assert dec(p["points"]) == points_for(amount) == 500
        m = await wafa.member(cid)
        assert m is not None
        assert dec(m["available"]) == 500 and dec(m["pending"]) == 0, "no return window: points redeemable at once"
        assert m["tier"] == program.base
        assert m["next_tier"]["name"] == program.gold and dec(m["next_tier"]["needed"]) == GOLD_AT - 500
        assert dec(m["qualifying"]["credit"]) == 500

        # the customer service learns the purchase facts from loyalty's event
        async def facts() -> Any:
            f = ok(await wafa.customer.get(f"/v1/customers/{cid}"))["facts"]
            return f if f["purchase_count"] == 1 else None

        f = await wait(facts)
        assert dec(f["total_spend"]) == dec(amount) and f["first_purchase_at"] is not None

        # Client for Life: enrolled (treated), 33 touches in 12 months, a thank-you letter 2 days on
        clf = await wafa.plan_id("client-for-life")

        async def clf_touches() -> Any:
            ts = [t for t in await wafa.timeline(cid) if t["plan_id"] == clf]
            return ts if len(ts) >= 33 else None

        plan_touches = await wait(clf_touches)
        assert len(plan_touches) == 33
        enrolments = ok(await wafa.touch.get(f"/v1/customers/{cid}/enrolments"))
        assert [(e["plan_id"], e["holdout"], e["trigger"]) for e in enrolments if e["plan_id"] == clf] == [(clf, False, "first_purchase")]
        thanks = next(t for t in plan_touches if t["def_key"] == "thank-you-letter")
        assert thanks["status"] == "scheduled" and thanks["channel"] == "letter"
        due = datetime.fromisoformat(thanks["due_at"])
        assert abs(due - (datetime.fromisoformat(p["occurred_at"]) + timedelta(days=2))) < timedelta(minutes=1)

        # a transactional survey: the purchase made an invitation, delivered as a signed message
        async def invitations() -> Any:
            items = ok(await wafa.survey.get(f"/v1/surveys/{survey['id']}/invitations"))["items"]
            return [i for i in items if i["customer_id"] == cid] or None

        (inv,) = await wait(invitations)
        assert inv["token"] is None, "tokens are only shown once, to whoever delivers them"

        async def delivered() -> Any:
            msgs = messages_for(partner, cid, "survey_invite")
            if not msgs:
                await wafa.dispatch()
            return msgs

        headers, raw, message = (await wait(delivered))[0]
        Webhook(channel_secret).verify(raw, headers)  # raises if the signature does not verify
        assert message["data"]["invitation_id"] == inv["id"] and message["data"]["survey_id"] == survey["id"]
        assert message["customer"]["email"] == c["email"], "the partner gets the contact details it needs"
        invite_touch = next(t for t in await wafa.timeline(cid) if t["def_key"] == "survey-invitation" and t["plan_id"] is None)
        assert headers["webhook-id"] == f"msg_{invite_touch['id']}"
        assert invite_touch["status"] == "sent"
        token = message["data"]["url"].rsplit("/", 1)[1]

        # a detractor answers with the invitation token (survey API)
        resp = ok(
            await wafa.survey.post("/v1/responses", json={"token": token, "answers": {"nps": 3, "comment": "late delivery"}, "language": "en"}),
            201,
        )
        assert (resp["nps"], resp["nps_category"], resp["status"]) == (3, "detractor", "completed")
        again = await wafa.survey.post("/v1/responses", json={"token": token, "answers": {"nps": 10}, "language": "en"})
        assert again.status_code == 409, "a token is single-use"
        results = ok(await wafa.survey.get(f"/v1/surveys/{survey['id']}/results"))  # this test's survey: one answer
        assert results["responses"] == 1 and (results["nps"]["detractors"], results["nps"]["nps"]) == (1, -100)

        # service recovery: a call task for the team, at once
        async def open_task() -> Any:
            return ok(await wafa.touch.get("/v1/tasks", params={"customer_id": cid, "status": "open"}))["items"]

        (task,) = await wait(open_task)
        assert task["kind"] == "phone"
        assert datetime.fromisoformat(task["due_at"]) - datetime.fromisoformat(task["created_at"]) == timedelta(hours=24)
        done = ok(await wafa.touch.post(f"/v1/tasks/{task['id']}/complete", json={"outcome": "reached", "notes": "apologised, refund offered"}))
        assert done["status"] == "completed" and done["outcome"] == "reached"
        recovery = next(t for t in await wafa.timeline(cid) if t["id"] == task["touch_id"])
        assert (recovery["def_key"], recovery["status"]) == ("recovery-call", "completed")

        # analytics, for this test's tier: NPS of one detractor, the purchase's revenue, and the
        # cost of the touches that reached the customer (the invitation sent, the call made)
        served = [t for t in await wafa.timeline(cid) if t["status"] in ("sent", "completed")]
        expected_cost = sum((dec(t["cost"]) for t in served), Decimal(0))
        assert dec(recovery["cost"]) == dec("5.00") and expected_cost > 0, served
        # Current behaviour (gap, see the issue note): one-off touches (survey invitations) are
        # recorded at cost 0 (`wafa_touch/one_off.py`), and that 0 on `touch.sent` overrides the
        # channel rate analytics would otherwise charge, so the invitation adds nothing.
        assert dec(invite_touch["cost"]) == 0

        async def kpis() -> Any:
            k = await wafa.kpis(program.base)
            settled = k["survey_responses"] == 1 and k["cost_to_serve"] is not None and dec(k["cost_to_serve"]) == expected_cost
            return k if settled and k["revenue"] is not None and dec(k["revenue"]) == dec(amount) else None

        try:
            k = await wait(kpis)
        except TimeoutError:
            k = await wafa.kpis(program.base)
            raise AssertionError(f"analytics did not settle: {k}") from None
        assert dec(k["nps"]) == -100
        assert k["orders"] == 1 and k["new_customers"] == 1 and dec(k["average_order_value"]) == dec(amount)
        assert k["survey_invitations"] == 1 and dec(k["survey_response_rate"]) == 100
        assert dec(k["cost_to_serve"]) > 0


# ------------------------------------------------------------------------------------------
# 2. Referral
# ------------------------------------------------------------------------------------------


async def test_a_referral_becomes_a_lead_a_customer_and_a_released_bonus(wafa: Wafa) -> None:
    bonus = Decimal("75")
    program = await wafa.new_program(rules={"referral_bonus": str(bonus)}, pending_days=0)
    async with webhook_sink() as email_partner:
        await _referral_journey(wafa, program, bonus, email_partner)


async def _referral_journey(wafa: Wafa, program: Program, bonus: Decimal, email_partner: WebhookSink) -> None:
    email_secret = new_secret()
    await wafa.channels_to(email_partner, email_secret, "email")
    member_id = f"rep-{wafa.tag}"
    ok(await wafa.customer.put(f"/v1/team-members/{member_id}", json={"id": member_id, "name": "Sales rep"}))
    team = {m["id"] for m in ok(await wafa.customer.get("/v1/team-members")) if m["active"]}

    advocate = await wafa.register("Omar")
    aid = advocate["id"]
    await wafa.enrolled(aid, program)

    friend_email = f"friend.{wafa.tag}@e2e.wafa.example"
    made = ok(
        await wafa.customer.post(
            "/v1/referrals", json={"code": advocate["referral_code"], "referee": {"given_name": "Sara", "family_name": "Friend", "email": friend_email}}
        ),
        201,
    )
    fid = made["referee_id"]
    assert made["advocate_id"] == aid and made["status"] == "made"
    assert made["referee_owner"] in team, "the new lead is routed to a team member"

    # the friend is a lead owned by that team member
    friend = ok(await wafa.customer.get(f"/v1/customers/{fid}"))
    assert (friend["lifecycle"], friend["owner"], friend["referred_by"]) == ("lead", made["referee_owner"], aid)
    leads = ok(await wafa.customer.get("/v1/leads", params={"owner": made["referee_owner"], "limit": 500}))["items"]
    assert fid in {lead["id"] for lead in leads}

    # the advocate is enrolled in Advocate Appreciation, with a thank-you on the timeline
    appreciation = await wafa.plan_id("advocate-appreciation")

    async def appreciated() -> Any:
        ts = [t for t in await wafa.timeline(aid) if t["plan_id"] == appreciation]
        return ts if len(ts) >= 33 else None

    touches = await wait(appreciated)
    assert len(touches) == 33
    assert {"referral-thank-you", "referral-thank-you-call"} <= {t["def_key"] for t in touches}
    enrolments = ok(await wafa.touch.get(f"/v1/customers/{aid}/enrolments"))
    assert [(e["holdout"], e["trigger"]) for e in enrolments if e["plan_id"] == appreciation] == [(False, "referral_made")]

    # loyalty holds the advocate's bonus until the friend buys
    async def bonus_state(*states: str) -> Any:
        items = ok(await wafa.loyalty.get(f"/v1/members/{aid}/referrals"))
        return next((b for b in items if b["referral_id"] == made["id"] and b["state"] in states), None)

    b = await wait(lambda: bonus_state("awaiting_purchase"))
    assert dec(b["points"]) == bonus

    # the friend's first purchase converts the lead
    await wafa.enrolled(fid, program)
    amount = "120.00"
    p = await wafa.purchase(fid, amount)
    assert p["first_purchase"] is True and dec(p["points"]) == points_for(amount)

    async def converted() -> Any:
        c = ok(await wafa.customer.get(f"/v1/customers/{fid}"))
        return c if c["lifecycle"] == "customer" else None

    await wait(converted)
    history = ok(await wafa.customer.get(f"/v1/customers/{fid}/lifecycle"))
    assert [(h["from_stage"], h["to_stage"]) for h in history][-1] == ("lead", "customer")
    assert history[0]["to_stage"] == "lead"
    referral = ok(await wafa.customer.get(f"/v1/referrals/{made['id']}"))
    assert referral["status"] == "converted" and referral["converted_at"] is not None

    # `lead.converted` tells the advocate, by a signed email through the partner
    async def told() -> Any:
        msgs = [m for m in messages_for(email_partner, aid, "email") if m[2]["data"].get("referee_id") == fid]
        if not msgs:
            await wafa.dispatch()
        return msgs

    headers, raw, note = (await wait(told))[0]
    Webhook(email_secret).verify(raw, headers)
    assert note["content_key"] == "referred-lead-update" and note["customer"]["email"] == advocate["email"]

    # the bonus: pending through a zero-day return window, released (the maturation job run too)
    await wait(lambda: bonus_state("pending", "released"))
    ok(await wafa.loyalty.post("/v1/ops/jobs/mature-points/run"))
    released = await wait(lambda: bonus_state("released"))
    assert released["purchase_id"] == p["id"]
    m = await wafa.member(aid)
    assert m is not None and dec(m["available"]) == bonus and dec(m["pending"]) == 0
    ledger = ok(await wafa.loyalty.get(f"/v1/members/{aid}/ledger"))["items"]
    referral_entries = [dec(e["points"]) + dec(e["pending_delta"]) for e in ledger if e["rule"] == "referral"]
    assert referral_entries and referral_entries[0] == bonus

    # analytics: one advocate in this tier referred someone; the friend is the only active buyer
    async def rate() -> Any:
        k = await wafa.kpis(program.base)
        return k if k["referral_rate"] is not None and k["customers_at_end"] == 1 else None

    k = await wait(rate)
    assert dec(k["referral_rate"]) > 0
    assert dec(k["referral_rate"]) == 100, "1 advocate / 1 active customer at the end of the period"


# ------------------------------------------------------------------------------------------
# 3. Erasure
# ------------------------------------------------------------------------------------------


async def test_erasure_removes_personal_data_everywhere_keeps_aggregates_and_stops_touches(wafa: Wafa) -> None:
    program = await wafa.new_program()
    # No consent to electronic channels: nothing of this customer is in flight (being delivered)
    # when the erasure comes, so every touch is either past or cleanly skipped. (What happens to
    # a message already in its retry schedule is the next test.)
    c = await wafa.register("Huda", consents=(), phone="0501234567", birth_date="1990-04-02")
    cid, email = c["id"], c["email"]
    assert c["phone"] == "+966501234567"
    await wafa.enrolled(cid, program)
    amount = "180.00"
    await wafa.purchase(cid, amount)

    # a relationship survey answered with free text
    survey = await wafa.published_survey("relationship", None)
    invited = ok(await wafa.survey.post(f"/v1/surveys/{survey['id']}/invitations", json={"invitees": [{"customer_id": cid}]}), 201)
    (inv,) = invited["created"]
    secret_text = f"my neighbour {wafa.tag} told me"
    ok(await wafa.survey.post("/v1/responses", json={"token": inv["token"], "answers": {"nps": 9, "comment": secret_text}, "language": "en"}), 201)

    # before: the purchase's Client for Life touches are scheduled; analytics has the facts
    async def scheduled() -> Any:
        return [t for t in await wafa.timeline(cid) if t["status"] == "scheduled"] or None

    before = await wait(scheduled)

    async def counted() -> Any:
        k = await wafa.kpis(program.base)
        return k if k["revenue"] is not None and dec(k["revenue"]) == dec(amount) and k["survey_responses"] == 1 else None

    k_before = await wait(counted)
    csv_before = ok(await wafa.survey.get(f"/v1/surveys/{survey['id']}/responses.csv"))
    assert cid in csv_before and secret_text in csv_before

    # erase
    erased = ok(await wafa.customer.delete(f"/v1/customers/{cid}"))
    assert erased["id"] == cid and erased["erased_at"]
    assert ok(await wafa.customer.delete(f"/v1/customers/{cid}"))["erased_at"] == erased["erased_at"], "erasure is idempotent"

    # customer service: the profile and the export hold no PII; search does not find it
    profile = ok(await wafa.customer.get(f"/v1/customers/{cid}"))
    for field in ("given_name", "family_name", "display_name", "email", "phone", "birth_date"):
        assert profile[field] is None, field
    assert profile["erased_at"] is not None and profile["referral_code"] is None
    retired = await wafa.customer.post("/v1/referrals", json={"code": c["referral_code"], "referee": {"email": f"x.{wafa.tag}@e2e.wafa.example"}})
    assert retired.status_code == 404, "the erased customer's referral code is retired"
    export = json.dumps(ok(await wafa.customer.get(f"/v1/customers/{cid}/export")))
    for pii in (email, c["given_name"], c["family_name"], "+966501234567", "1990-04-02"):
        assert pii not in export, pii
    assert ok(await wafa.customer.get("/v1/customers", params={"email": email}))["items"] == []

    # touch scheduler: every future touch skipped for the erasure; nothing left to send
    async def all_skipped() -> Any:
        tl = await wafa.timeline(cid)
        return tl if not any(t["status"] in ("scheduled", "dispatching") for t in tl) else None

    after = {t["id"]: t for t in await wait(all_skipped)}
    erased_at = datetime.fromisoformat(erased["erased_at"])
    for t in before:
        assert after[t["id"]]["status"] == "skipped", t["def_key"]
        # A touch already due (the survey invitation) may have met the dispatcher first and been
        # skipped for want of consent; every later one is skipped for the erasure.
        if datetime.fromisoformat(t["due_at"]) > erased_at:
            assert after[t["id"]]["reason"] == "customer-erased", t["def_key"]
    assert any(after[t["id"]]["reason"] == "customer-erased" for t in before)
    clf = await wafa.plan_id("client-for-life")
    again = await wafa.touch.post(f"/v1/plans/{clf}/enrolments", json={"customer_id": cid})
    assert again.status_code == 409, "an erased customer cannot be enrolled again"
    tasks = ok(await wafa.touch.get("/v1/tasks", params={"customer_id": cid, "status": "open"}))["items"]
    assert tasks == []

    # survey: the response stays for statistics, without the customer id or the free text
    async def anonymised() -> Any:
        text = ok(await wafa.survey.get(f"/v1/surveys/{survey['id']}/responses.csv"))
        return text if cid not in text and secret_text not in text else None

    rows = list(csv.DictReader(io.StringIO(await wait(anonymised))))
    assert len(rows) == 1 and rows[0]["nps"] == "9" and rows[0]["customer_id"] == ""
    results = ok(await wafa.survey.get(f"/v1/surveys/{survey['id']}/results"))
    assert json.dumps(results).count(cid) == 0
    assert results["responses"] == 1 and results["nps"]["nps"] == 100, "the score still counts"

    # analytics: aggregates intact (same revenue, same response), no PII in its customer views
    async def analytics_erased() -> Any:
        # analytics consumes `customer.erased`; wait until a later erasure-sensitive read agrees
        k = await wafa.kpis(program.base)
        return k if dec(k["revenue"]) == dec(amount) and k["survey_responses"] == 1 else None

    k_after = await wait(analytics_erased)
    for key in ("revenue", "orders", "nps", "survey_responses", "new_customers"):
        assert k_after[key] == k_before[key], key
    today = datetime.now(UTC).date()
    period = {"from": (today - timedelta(days=1)).isoformat(), "to": (today + timedelta(days=1)).isoformat(), "limit": 500}
    profits = ok(await wafa.analytics.get("/v1/profitability/customers", params=period))
    mine = [r for r in profits["items"] if r["customer_id"] == cid]
    assert len(mine) == 1 and dec(mine[0]["revenue"]) == dec(amount), "the anonymous facts are kept under the opaque id"
    rfm = ok(await wafa.analytics.get("/v1/rfm", params={"limit": 500}))
    for doc in (profits, rfm):
        text = json.dumps(doc)
        assert email not in text and c["family_name"] not in text

    # loyalty: the financial record stays (balance under the opaque id)
    m = await wafa.member(cid)
    assert m is not None and dec(m["available"]) == points_for(amount)


async def test_erasure_stops_a_message_already_in_its_retry_schedule(wafa: Wafa) -> None:
    secret = new_secret()
    async with webhook_sink() as partner:
        partner.status = 500  # the partner is failing: the invitation goes into its retry schedule
        await wafa.channels_to(partner, secret, "survey_invite")
        c = await wafa.register("Noura")
        cid = c["id"]
        await wait(lambda: wafa.member(cid))
        # future touches of a plan, so that the erasure shows on the timeline when it is applied
        clf = await wafa.plan_id("client-for-life")
        ok(await wafa.touch.post(f"/v1/plans/{clf}/enrolments", json={"customer_id": cid}), 201)
        survey = await wafa.published_survey("relationship", None)
        ok(await wafa.survey.post(f"/v1/surveys/{survey['id']}/invitations", json={"invitees": [{"customer_id": cid}]}), 201)

        async def retrying() -> Any:
            if not messages_for(partner, cid, "survey_invite"):
                await wafa.dispatch()
                return None
            return next((t for t in await wafa.timeline(cid) if t["channel"] == "survey_invite" and t["status"] == "dispatching" and t["attempts"] >= 1), None)

        touch = await wait(retrying)
        assert messages_for(partner, cid)[0][2]["customer"]["email"] == c["email"]

        ok(await wafa.customer.delete(f"/v1/customers/{cid}"))

        async def erasure_seen() -> Any:  # the touch scheduler has consumed `customer.erased`
            tl = await wafa.timeline(cid)
            return any(t["reason"] == "customer-erased" for t in tl)

        await wait(erasure_seen)
        attempts_before = len(messages_for(partner, cid))  # every later post comes after the erasure
        partner.status = 200

        async def settled() -> Any:
            t = next(t for t in await wafa.timeline(cid) if t["id"] == touch["id"])
            if t["status"] == "dispatching":
                await wafa.dispatch()
                return None
            return t

        t = await wait(settled)
        late = messages_for(partner, cid)[attempts_before:]
        assert (t["status"], t["reason"]) == ("skipped", "customer-erased")
        assert late == []


# ------------------------------------------------------------------------------------------
# 4. Partner webhooks
# ------------------------------------------------------------------------------------------


async def test_partners_receive_signed_tier_changes_and_post_signed_purchases_once(wafa: Wafa) -> None:
    program = await wafa.new_program()
    async with webhook_sink() as partner:
        sub = ok(
            await wafa.loyalty.post(
                "/v1/webhooks/subscriptions", json={"url": partner.url, "event_types": ["loyalty.tier.changed"], "description": f"e2e {wafa.tag}"}
            ),
            201,
        )
        try:
            c = await wafa.register("Khalid")
            cid = c["id"]
            await wafa.enrolled(cid, program)

            # 600.00 SAR x 2 = 1200 points >= 1000: an upgrade at once
            amount = "600.00"
            p = await wafa.purchase(cid, amount)
            assert dec(p["points"]) == points_for(amount) == 1200
            m = await wafa.member(cid)
            assert m is not None and m["tier"] == program.gold and m["next_tier"] is None

            def upgrade() -> Any:
                for r in list(partner.received):
                    event = json.loads(r.body)
                    if event.get("subject") == cid and event.get("data", {}).get("to_tier") == program.gold:
                        return r
                return None

            delivery = await wait(upgrade)
            event = Webhook(sub["secret"]).verify(delivery.body, delivery.headers)
            assert event["type"] == "loyalty.tier.changed"
            assert (event["data"]["from_tier"], event["data"]["to_tier"]) == (program.base, program.gold)
            assert delivery.headers["webhook-id"] == event["id"]

            async def logged() -> Any:
                items = ok(await wafa.loyalty.get("/v1/webhooks/deliveries", params={"subscription_id": sub["id"], "limit": 500}))["items"]
                return next((d for d in items if d["event_id"] == event["id"] and d["status"] == "succeeded"), None)

            log = await wait(logged)
            assert log["event_type"] == "loyalty.tier.changed" and log["last_status_code"] == 200 and log["attempts"] == 1
            with pytest.raises(Exception):  # noqa: B017 - any verification error: a forged body fails
                Webhook(sub["secret"]).verify(delivery.body.replace(program.gold.encode(), b"Platinum"), delivery.headers)

            # a partner POS posts a purchase through the signed inbound webhook
            before = await wafa.member(cid)
            assert before is not None
            pos_amount = "45.50"
            body = json.dumps(purchase_body(cid, pos_amount, f"pos-{wafa.tag}")).encode()
            headers = signed_headers(wafa.platform.partner_secret, f"msg_pos_{wafa.tag}", body)
            async with httpx.AsyncClient(base_url=wafa.platform.urls["loyalty"], timeout=30) as pos:  # no token: the signature is the credential
                first = await pos.post("/v1/inbound/purchases", content=body, headers=headers)
                assert first.status_code == 200, first.text
                recorded = first.json()
                assert dec(recorded["points"]) == points_for(pos_amount) == 91 and recorded["first_purchase"] is False
                m = await wafa.member(cid)
                assert m is not None and dec(m["available"]) == dec(before["available"]) + 91
                ledger_len = len(ok(await wafa.loyalty.get(f"/v1/members/{cid}/ledger", params={"limit": 500}))["items"])

                # the same signed message again: the first answer, and nothing changes
                replay = await pos.post("/v1/inbound/purchases", content=body, headers=headers)
                assert replay.status_code == 200 and replay.json()["id"] == recorded["id"]
                m2 = await wafa.member(cid)
                assert m2 is not None and dec(m2["available"]) == dec(m["available"])
                assert len(ok(await wafa.loyalty.get(f"/v1/members/{cid}/ledger", params={"limit": 500}))["items"]) == ledger_len

                # the partner retries the same order under a new message id: still recorded once
                new_id = signed_headers(wafa.platform.partner_secret, f"msg_pos2_{wafa.tag}", body)
                retried = await pos.post("/v1/inbound/purchases", content=body, headers=new_id)
                assert retried.status_code == 200 and retried.json()["id"] == recorded["id"]
                m3 = await wafa.member(cid)
                assert m3 is not None and dec(m3["available"]) == dec(m["available"])

                # a message signed with another secret is refused
                forged = await pos.post("/v1/inbound/purchases", content=body, headers=signed_headers(new_secret(), f"msg_forged_{wafa.tag}", body))
                assert forged.status_code == 401
                assert forged.headers["content-type"].startswith("application/problem+json")
        finally:
            await wafa.loyalty.delete(f"/v1/webhooks/subscriptions/{sub['id']}")
