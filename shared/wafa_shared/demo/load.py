"""Load a generated business into a running platform through its public HTTP APIs only, as a
migration from an incumbent would: team, program and rewards, customers with consents, the
purchase history in batches, referrals, survey answers, touch task outcomes, goals, a CLV fit.

Safe to re-run with the same seed: customers carry idempotency keys and purchases order ids.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from wafa_shared.demo.business import Answer, Business, Person, Purchase, generate

Progress = Callable[[str, int, int], None]
CURRENCY = "SAR"
SOURCE = "wafa-demo"  # external-id source of the demo's customers
BATCH = 1000  # purchases per batch call
PARALLEL = 8  # concurrent single calls
T = dict[str, str]


def t(ar: str, en: str) -> T:
    return {"ar": ar, "en": en}


@dataclass
class DemoSummary:
    customers: int = 0
    purchases: int = 0
    revenue: Decimal = Decimal("0")
    referrals: int = 0
    responses: int = 0
    tasks_completed: int = 0
    seconds: float = 0.0
    first_purchase_at: datetime | None = None
    ids: dict[str, str] = field(default_factory=dict)  # person key -> customer id


class DemoError(RuntimeError):
    """A call the demo needs was refused; the message names it."""


def _ok(r: httpx.Response, *codes: int) -> Any:
    if r.status_code not in (codes or (200, 201)):
        raise DemoError(f"{r.request.method} {r.request.url.path} -> {r.status_code}: {r.text[:500]}")
    return r.json() if r.content else None


async def _gather(items: Iterable[Any], call: Callable[[Any], Awaitable[Any]], stage: str, progress: Progress | None) -> list[Any]:
    """Run `call` over `items`, PARALLEL at a time, reporting progress."""
    todo = list(items)
    done = 0
    gate = asyncio.Semaphore(PARALLEL)

    async def one(item: Any) -> Any:
        nonlocal done
        async with gate:
            out = await call(item)
        done += 1
        if progress and (done % 50 == 0 or done == len(todo)):
            progress(stage, done, len(todo))
        return out

    return list(await asyncio.gather(*(one(i) for i in todo)))


class Loader:
    def __init__(self, clients: Mapping[str, httpx.AsyncClient], progress: Progress | None, tag: str) -> None:
        self.c = clients
        self.tag = tag  # every customer of this business carries it
        self.progress = progress
        self.summary = DemoSummary()

    async def ready(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        for name, client in self.c.items():
            while (await client.get("/readyz")).status_code != 200:
                if time.monotonic() > deadline:
                    raise DemoError(f"{name} is not ready")
                await asyncio.sleep(0.5)

    async def team(self) -> None:
        for member, name in (("noura.sales", "نورة — المبيعات"), ("khalid.sales", "خالد — المبيعات")):
            _ok(await self.c["customer"].put(f"/v1/team-members/{member}", json={"id": member, "name": name}))  # lead routing
            _ok(await self.c["touch-scheduler"].put(f"/v1/team-members/{member}", json={"active": True}))  # call tasks

    async def program(self) -> None:
        """The default program, unless the platform already has one."""
        programs = _ok(await self.c["loyalty"].get("/v1/programs"))  # a short list, not paged
        if any(p.get("is_default") for p in programs):
            return
        body = {
            "name": "وفاء — Wafa Rewards",
            "currency": CURRENCY,
            "earn_rate": "1",
            "rounding": "down",
            "point_value": "0.05",
            "pending_days": 0,
            "qualification_basis": "spend",
            "tiers": [
                {"name": "Bronze", "threshold": "0"},
                {"name": "Silver", "threshold": "3000", "earn_multiplier": "1.25"},
                {"name": "Gold", "threshold": "10000", "earn_multiplier": "1.5"},
            ],
            "is_default": True,
        }
        _ok(await self.c["loyalty"].post("/v1/programs", json=body), 201)
        for name, kind, points, cost in (
            ("قسيمة 50 ريال — 50 SAR voucher", "discount_voucher", "1000", "50"),
            ("قهوة مجانية — Free coffee", "free_product", "300", "8"),
        ):
            _ok(await self.c["loyalty"].post("/v1/rewards", json={"name": name, "kind": kind, "cost_points": points, "cost": cost}), 201)

    async def customers(self, people: list[Person]) -> None:
        """One bulk import (upserts on the external id, so a re-run changes nothing), then the ids
        and referral codes read back by tag, then consents (most customers give them)."""
        rows = [
            {
                "external_id": p.key,
                "given_name": p.given_name,
                "family_name": p.family_name,
                "email": p.email,
                "phone": p.phone,
                "language": p.language,
                "country": "SA",
                "city": p.city,
                "time_zone": "Asia/Riyadh",
                "birth_date": p.birth_date.isoformat(),
                "tags": ["demo", self.tag],
            }
            for p in people
        ]
        body = b"\n".join(json.dumps(r, ensure_ascii=False).encode() for r in rows)
        headers = {"Content-Type": "application/x-ndjson"}
        job = _ok(await self.c["customer"].post("/v1/customers/import", content=body, headers=headers, params={"source": SOURCE, "wait": "true"}))
        if job["failed"]:
            raise DemoError(f"customer import refused rows: {job['errors'][:3]}")
        if self.progress:
            self.progress("customers", len(people), len(people))
        key_of = {p.email: p.key for p in people}
        cursor = None
        while True:
            params: dict[str, str | int] = {"tag": self.tag, "limit": 500, **({"cursor": cursor} if cursor else {})}
            page = _ok(await self.c["customer"].get("/v1/customers", params=params))
            self.summary.ids.update({key_of[c["email"]]: c["id"] for c in page["items"] if c["email"] in key_of})
            cursor = page.get("next_cursor")
            if not cursor:
                break
        if missing := [p.key for p in people if p.key not in self.summary.ids]:
            raise DemoError(f"{len(missing)} imported customers were not found by tag {self.tag}")

        async def consent(p: Person) -> None:
            channels = {"email": "granted", "sms": "granted", "phone": "granted"}
            _ok(await self.c["customer"].put(f"/v1/customers/{self.summary.ids[p.key]}/consents", json={"channels": channels, "source": "demo-import"}))

        await _gather([p for p in people if p.consents], consent, "consents", self.progress)
        self.summary.customers += len(people)

    async def members(self, people: list[Person], timeout_s: float = 180) -> None:
        """Wait until loyalty has enrolled everyone (it consumes `customer.registered`)."""
        waiting = [self.summary.ids[p.key] for p in people if p.purchases]
        deadline = time.monotonic() + timeout_s
        while waiting:
            gone = await _gather(waiting, lambda cid: self._is_member(cid), "enrolment", None)
            waiting = [cid for cid, member in zip(waiting, gone, strict=True) if not member]
            if waiting and time.monotonic() > deadline:
                raise DemoError(f"{len(waiting)} customers were not enrolled in loyalty in time")
            if waiting:
                await asyncio.sleep(0.5)

    async def _is_member(self, customer_id: str) -> bool:
        return (await self.c["loyalty"].get(f"/v1/members/{customer_id}")).status_code == 200

    async def purchases(self, people: list[Person]) -> None:
        """Every purchase, oldest first (tiers and rules apply as of each purchase's time)."""
        rows = sorted(((p.purchases[i].occurred_at, p, i) for p in people for i in range(len(p.purchases))), key=lambda r: (r[0], r[1].key, r[2]))
        for start in range(0, len(rows), BATCH):
            chunk = [_purchase_body(self.summary.ids[p.key], p.purchases[i]) for _, p, i in rows[start : start + BATCH]]
            out = _ok(await self.c["loyalty"].post("/v1/purchases/batch", json={"purchases": chunk}))
            failed = [item for item in out["items"] if item["status"] >= 400]
            if failed:
                raise DemoError(f"purchase batch item refused: {failed[0]}")
            if self.progress:
                self.progress("purchases", min(start + BATCH, len(rows)), len(rows))
        for _, p, i in rows:
            self.summary.revenue += sum((line.unit_price * line.quantity for line in p.purchases[i].lines), Decimal("0"))
        self.summary.purchases += len(rows)
        if rows:
            first = rows[0][0]
            self.summary.first_purchase_at = min(first, self.summary.first_purchase_at or first)

    async def referrals(self, business: Business) -> list[Person]:
        """Each friend is referred by the advocate's code; returns the friends who were created."""
        pairs = business.referees

        async def refer(pair: tuple[Person, Person]) -> Person | None:
            advocate, friend = pair
            code = _ok(await self.c["customer"].get(f"/v1/customers/{self.summary.ids[advocate.key]}"))["referral_code"]
            referee = {"given_name": friend.given_name, "family_name": friend.family_name, "email": friend.email, "language": friend.language, "country": "SA"}
            r = await self.c["customer"].post("/v1/referrals", json={"code": code, "referee": referee})
            if r.status_code == 409:  # already referred by an earlier run
                return None
            out = _ok(r, 201)
            if out.get("referee_id") is None:
                return None
            self.summary.ids[friend.key] = out["referee_id"]
            return friend

        made = [f for f in await _gather(pairs, refer, "referrals", self.progress) if f is not None]
        self.summary.referrals += len(made)
        return made

    async def survey(self, people: list[Person]) -> None:
        """One relationship survey; each answer comes in through its own invitation, dated when given."""
        answering = [(p, a) for p in people for a in p.answers]
        if not answering:
            return
        body = {
            "name": "Relationship NPS — demo",
            "kind": "relationship",
            "objective": "How loyal are our customers, and what drives it?",
            "title": t("رأيك يهمنا", "Your opinion matters"),
            "fatigue_days": 0,
            "questions": [
                {
                    "id": "nps",
                    "type": "nps",
                    "required": True,
                    "text": t("ما مدى احتمال أن توصي بنا لصديق؟", "How likely are you to recommend us?"),
                },
                {"id": "csat", "type": "csat", "required": True, "text": t("ما مدى رضاك عن تجربتك؟", "How satisfied are you with your experience?")},
                {"id": "price", "type": "attribute", "attribute": "price", "text": t("الأسعار", "Prices")},
                {"id": "staff", "type": "attribute", "attribute": "staff", "text": t("تعامل الموظفين", "Staff courtesy")},
                {"id": "speed", "type": "attribute", "attribute": "speed", "text": t("سرعة الخدمة", "Speed of service")},
            ],
        }
        existing = _ok(await self.c["survey"].get("/v1/surveys", params={"limit": 500}))["items"]
        if any(s["name"] == body["name"] for s in existing):  # loaded by an earlier run
            return
        survey = _ok(await self.c["survey"].post("/v1/surveys", json=body), 201)
        _ok(await self.c["survey"].post(f"/v1/surveys/{survey['id']}/publish"))
        # One invitation per answer; a customer's second answer comes from a later invitation
        # round (one call invites a customer at most once).
        tokens: list[str] = []
        answers: list[Answer] = []
        for round_ in range(max(len(p.answers) for p in people)):
            wave = [(p, p.answers[round_]) for p in people if len(p.answers) > round_]
            for start in range(0, len(wave), 5000):
                chunk = wave[start : start + 5000]
                invitees = [{"customer_id": self.summary.ids[p.key]} for p, _ in chunk]
                created = _ok(await self.c["survey"].post(f"/v1/surveys/{survey['id']}/invitations", json={"invitees": invitees}), 201)["created"]
                if len(created) != len(chunk):
                    raise DemoError(f"{len(chunk)} invitations asked, {len(created)} made")
                token_of = {inv["customer_id"]: inv["token"] for inv in created}
                tokens += [token_of[self.summary.ids[p.key]] for p, _ in chunk]
                answers += [a for _, a in chunk]

        async def respond(item: tuple[str, Any]) -> None:
            token, a = item
            answers = {"nps": a.nps, "csat": a.csat, **{k: {"satisfaction": s, "importance": i} for k, (s, i) in a.attributes.items()}}
            body = {"token": token, "answers": answers, "submitted_at": a.submitted_at.isoformat(), "language": "ar"}
            _ok(await self.c["survey"].post("/v1/responses", json=body), 201)

        await _gather(zip(tokens, answers, strict=True), respond, "survey responses", self.progress)
        self.summary.responses += len(tokens)

    async def tasks(self) -> None:
        """The team works through part of its call list (the rest stays open, some overdue)."""
        _ok(await self.c["touch-scheduler"].post("/v1/ops/jobs/dispatch/run"))
        open_tasks = _ok(await self.c["touch-scheduler"].get("/v1/tasks", params={"status": "open", "limit": 200}))["items"]
        outcomes = ("reached", "voicemail", "reached", "no_answer", "done")

        async def complete(item: tuple[int, dict[str, Any]]) -> None:
            i, task = item
            body = {"outcome": outcomes[i % len(outcomes)], "notes": "demo"}
            _ok(await self.c["touch-scheduler"].post(f"/v1/tasks/{task['id']}/complete", json=body), 200, 409)

        half = list(enumerate(open_tasks))[: len(open_tasks) // 2]
        await _gather(half, complete, "tasks", self.progress)
        self.summary.tasks_completed += len(half)

    async def goals_and_clv(self, now: datetime) -> None:
        quarter_start = date(now.year, 3 * ((now.month - 1) // 3) + 1, 1)
        quarter_end = (quarter_start + timedelta(days=95)).replace(day=1) - timedelta(days=1)
        goals = _ok(await self.c["analytics"].get("/v1/goals", params={"limit": 100}))["items"]
        if not goals:
            for kpi, target, name in (
                ("nps", "40", "NPS ≥ 40 — صافي نقاط الترويج"),
                ("retention_rate", "60", "Retention 60% — الاحتفاظ بالعملاء"),
                ("referral_rate", "5", "Referral rate 5% — معدل الإحالة"),
                ("csat", "4.2", "CSAT 4.2 — رضا العملاء"),
            ):
                body = {"name": name, "kpi": kpi, "period_from": quarter_start.isoformat(), "period_to": quarter_end.isoformat(), "target": target}
                _ok(await self.c["analytics"].post("/v1/goals", json=body), 201)
        _ok(await self.c["analytics"].post("/v1/clv/fits", json={"as_of": now.isoformat()}), 202)


def _purchase_body(customer_id: str, p: Purchase) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "order_id": p.order_id,
        "occurred_at": p.occurred_at.isoformat(),
        "currency": CURRENCY,
        "channel": p.channel,
        "store": p.store,
        "lines": [{"sku": line.sku, "category": line.category, "quantity": str(line.quantity), "unit_price": str(line.unit_price)} for line in p.lines],
    }


async def seed_demo(
    urls: Mapping[str, str],
    token: str,
    *,
    customers: int = 2000,
    months: int = 18,
    seed: int = 7,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> DemoSummary:
    """Generate the business for `seed` and load it through the APIs at `urls` (service name -> base URL)."""
    started = time.monotonic()
    now = now or datetime.now(UTC)
    business = generate(customers, months, seed, now)
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=PARALLEL * 2)
    clients = {name: httpx.AsyncClient(base_url=url, headers=headers, timeout=120, limits=limits) for name, url in urls.items()}
    try:
        loader = Loader(clients, progress, f"demo-{seed}-{now:%Y%m%d}")
        await loader.ready()
        await loader.team()
        await loader.program()
        await loader.customers(business.customers)
        await loader.members(business.customers)
        await loader.purchases(business.customers)
        friends = await loader.referrals(business)
        buying = [f for f in friends if f.purchases]
        await loader.members(buying)
        await loader.purchases(buying)
        await loader.survey(business.customers)
        await loader.tasks()
        await loader.goals_and_clv(now)
    finally:
        for client in clients.values():
            await client.aclose()
    loader.summary.seconds = round(time.monotonic() - started, 1)
    return loader.summary
