"""Chaos: a 10,000-purchase ingest survives killed services, a hung broker and a PostgreSQL
restart, and a replay of every topic from offset 0 changes nothing (issue #9, RELIABILITY.md).

One platform on its own PostgreSQL and broker (so nothing here disturbs the session's other
tests), one ingest through the loyalty HTTP API (batches and single purchases, for customers
registered through the customer API), and during it, at seeded-random moments, each of:
SIGKILL + restart of loyalty, analytics and the touch scheduler, the broker SIGSTOPped for 10 s,
and PostgreSQL restarted. The client retries a failed request with the same order ids, as a
point of sale would. Afterwards:

- every purchase is in the ledger exactly once, with the points its amount earns;
- every member's balance (the API's and the row's) is the sum of its ledger entries;
- analytics' totals (orders, revenue) and the customer service's facts equal the ledger;
- no touch was made or sent twice: one welcome touch per customer, one message id per touch;
- replaying every topic from offset 0 (new consumer groups) changes none of that.

`WAFA_CHAOS_SEED` picks another fault schedule; the outcome asserted is the same for every seed.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from wafa_analytics.events import CONSUMERS as ANALYTICS_CONSUMERS
from wafa_customer.events import CONSUMERS as CUSTOMER_CONSUMERS
from wafa_loyalty.events import CONSUMERS as LOYALTY_CONSUMERS
from wafa_shared.embedded.broker import EmbeddedBroker, free_port
from wafa_shared.embedded.postgres import EmbeddedPostgres
from wafa_shared.migrations import asyncpg_dsn
from wafa_shared.services import SERVICES
from wafa_shared.testing.events import eventually
from wafa_shared.testing.platform import OPEN_FATIGUE_POLICY, RunningPlatform, launch_platform
from wafa_shared.testing.plugin import Infra
from wafa_shared.testing.webhook_sink import WebhookSink, webhook_sink
from wafa_shared.webhooks.signing import new_secret
from wafa_survey.events import CONSUMERS as SURVEY_CONSUMERS
from wafa_touch.events import CONSUMERS as TOUCH_CONSUMERS

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("WAFA_CHAOS_SEED", "20261125"))
CUSTOMERS = 200
PURCHASES = 10_000
BATCH = 200  # purchases per `POST /v1/purchases/batch`
SINGLE_SHARE = 0.05  # of purchases sent one by one (`POST /v1/purchases`)
RATE = 1000.0  # purchases per second the point of sale offers between faults
TRICKLE_REQUESTS = 5.0  # single purchases per second while a fault strikes ...
TRICKLE = 15.0  # ... or batched purchases per second once no single one is left
WORKERS = 4  # requests in flight
EARN_RATE = Decimal("1")
FIRST_BONUS = Decimal("50")
WAIT_S = 90.0
BROKER_PAUSE_S = 10.0
PG_DOWN_S = 3.0  # a restart as production sees one: shutdown checkpoint, a moment down, recovery
NAME = "chaos"
CONSUMER_NAMES = {
    "customer": CUSTOMER_CONSUMERS,
    "loyalty": LOYALTY_CONSUMERS,
    "survey": SURVEY_CONSUMERS,
    "analytics": ANALYTICS_CONSUMERS,
    "touch-scheduler": TOUCH_CONSUMERS,
}


def dec(value: Any) -> Decimal:
    return Decimal(str(value))


def points_for(amount: Decimal, first: bool) -> Decimal:
    """The program's earn rule by hand: amount x rate rounded down, plus the first-purchase bonus."""
    return (amount * EARN_RATE).to_integral_value(rounding=ROUND_FLOOR) + (FIRST_BONUS if first else 0)


# ------------------------------------------------------------------------------------------
# The chaos platform: its own PostgreSQL and broker
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chaos_infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    """A PostgreSQL and a broker for this module only: restarting and pausing them must not
    touch the servers the session's other tests share."""
    root = tmp_path_factory.mktemp("chaos")
    pg = EmbeddedPostgres(root / "pg", free_port(), fast=True)
    pg.start()
    broker = EmbeddedBroker(free_port(), log_file=root / "broker.log")
    try:
        broker.start()
        yield Infra(pg.url("postgres"), broker.bootstrap, pg, broker)
    finally:
        broker.stop()
        pg.stop("immediate")


@pytest.fixture(scope="module")
def chaos_platform(chaos_infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    env = {"WAFA_TOUCH_SCHEDULER_DISPATCH_INTERVAL_S": "0.5"}
    for s in SERVICES:
        env[f"{s.env_prefix}RATE_LIMIT_PER_S"] = "0"  # one point of sale sends far more than a client would
    with launch_platform(chaos_infra, Path(tmp_path_factory.mktemp("chaos-platform")), NAME, env) as running:
        yield running


class Databases:
    """Read-only SQL on each service's database, for the checks (the services own the data)."""

    def __init__(self, infra: Infra) -> None:
        self.infra = infra

    async def rows(self, service: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        info = next(s for s in SERVICES if s.name == service)
        conn = await asyncpg.connect(asyncpg_dsn(self.infra.db_url(f"{NAME}_{info.database}")))
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    async def one(self, service: str, sql: str, *args: Any) -> asyncpg.Record:
        (row,) = await self.rows(service, sql, *args)
        return row

    async def value(self, service: str, sql: str, *args: Any) -> Any:
        return (await self.one(service, sql, *args))[0]

    async def value_or_none(self, service: str, sql: str, *args: Any) -> Any:
        """For polls that run while PostgreSQL restarts: None instead of a connection error."""
        try:
            return await self.value(service, sql, *args)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return None


# ------------------------------------------------------------------------------------------
# The point of sale: purchases with stable order ids, retried until answered
# ------------------------------------------------------------------------------------------


@dataclass
class Ingest:
    """What the point of sale sent and what loyalty answered."""

    work: list[list[dict[str, Any]]]  # one item per request; a list of one is a single purchase
    acked: int = 0  # purchases answered 2xx
    in_flight: int = 0  # requests sent and not yet answered
    purchase_ids: dict[str, str] = field(default_factory=dict)  # order id -> purchase id
    statuses: dict[int, int] = field(default_factory=dict)  # per-purchase status -> count
    retries: int = 0  # requests sent again after a failure
    failures: dict[str, int] = field(default_factory=dict)  # what made a request fail
    failed_at: list[float] = field(default_factory=list)  # monotonic time of each failed request
    first_ack_after: dict[str, float] = field(default_factory=dict)  # fault -> monotonic time of the next ack
    started: float = 0.0
    finished: float = 0.0

    @property
    def purchases(self) -> list[dict[str, Any]]:
        return [p for item in self.work for p in item]

    def note(self, what: str) -> None:
        self.failures[what] = self.failures.get(what, 0) + 1
        self.failed_at.append(time.monotonic())


def make_work(rng: random.Random, customers: list[str]) -> list[list[dict[str, Any]]]:
    """10,000 purchases (seeded amounts, customers and times in the last hour), cut into
    batches and single purchases."""
    now = datetime.now(UTC)
    purchases = []
    for i in range(PURCHASES):
        cents = rng.randint(1_000, 30_000)
        purchases.append(
            {
                "customer_id": rng.choice(customers),
                "order_id": f"chaos-{SEED}-{i:05d}",
                "occurred_at": (now - timedelta(seconds=rng.randint(0, 3600))).isoformat(),
                "currency": "SAR",
                "channel": rng.choice(["store", "online"]),
                "lines": [{"sku": f"SKU-{rng.randint(1, 50)}", "category": "general", "quantity": "1", "unit_price": str(Decimal(cents) / 100)}],
            }
        )
    work: list[list[dict[str, Any]]] = []
    batch: list[dict[str, Any]] = []
    for p in purchases:
        if rng.random() < SINGLE_SHARE:
            work.append([p])
            continue
        batch.append(p)
        if len(batch) == BATCH:
            work.append(batch)
            batch = []
    if batch:
        work.append(batch)
    return work


async def send(client: httpx.AsyncClient, item: list[dict[str, Any]], ingest: Ingest) -> None:
    """One request, sent again (same body, same order ids) until loyalty answers it: a killed
    process, a restarting database or a conflict with an earlier attempt still running only
    delay it. Any other answer fails the test."""
    delay = 0.1
    while True:
        try:
            if len(item) == 1:
                r = await client.post("/v1/purchases", json=item[0])
                if r.status_code in (200, 201):
                    out = r.json()
                    ingest.purchase_ids[out["order_id"]] = out["id"]
                    ingest.statuses[r.status_code] = ingest.statuses.get(r.status_code, 0) + 1
                    ingest.acked += 1
                    return
            else:
                r = await client.post("/v1/purchases/batch", json={"purchases": item})
                if r.status_code == 200:
                    body = r.json()
                    assert body["failed"] == 0, [i for i in body["items"] if i["status"] >= 400][:3]
                    for it in body["items"]:
                        ingest.purchase_ids[it["purchase"]["order_id"]] = it["purchase"]["id"]
                        ingest.statuses[it["status"]] = ingest.statuses.get(it["status"], 0) + 1
                    ingest.acked += len(item)
                    return
            retryable = r.status_code >= 500 or r.status_code == 429 or (r.status_code == 409 and "concurrent-order" in r.text)
            assert retryable, f"{r.request.url} -> {r.status_code}: {r.text[:500]}"
            ingest.note(f"HTTP {r.status_code}")
        except httpx.TransportError as exc:
            ingest.note(type(exc).__name__)
        ingest.retries += 1
        await asyncio.sleep(delay)  # a point of sale's retry back-off
        delay = min(delay * 2, 1.0)


async def run_ingest(platform: RunningPlatform, ingest: Ingest, chaos: Chaos) -> None:
    """Offer the work from `WORKERS` concurrent requests at `RATE` purchases/s. While a fault
    strikes and the platform recovers, single purchases go first, `TRICKLE_REQUESTS` a second
    (then batches at `TRICKLE` purchases/s): requests are in flight all through each fault and
    the ingest outlasts them all."""
    queue = list(reversed(ingest.work))
    ingest.started = next_at = time.monotonic()

    def take() -> tuple[list[dict[str, Any]], float]:
        """The next request and how long it occupies the point of sale's schedule."""
        if chaos.busy:
            for i in range(len(queue) - 1, -1, -1):
                if len(queue[i]) == 1:
                    return queue.pop(i), 1 / TRICKLE_REQUESTS
            return queue[-1], len(queue.pop()) / TRICKLE
        return queue[-1], len(queue.pop()) / RATE

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal next_at
        while queue:
            item, interval = take()
            at = next_at
            next_at = max(next_at, time.monotonic() - 1.0) + interval
            if at > time.monotonic():
                await asyncio.sleep(at - time.monotonic())  # load shaping, not synchronisation
            ingest.in_flight += 1
            try:
                await send(client, item, ingest)
            finally:
                ingest.in_flight -= 1

    async with platform.client("loyalty") as client:
        client.timeout = httpx.Timeout(60)
        await asyncio.gather(*(worker(client) for _ in range(WORKERS)))
    ingest.finished = time.monotonic()


# ------------------------------------------------------------------------------------------
# Faults
# ------------------------------------------------------------------------------------------


@dataclass
class FaultReport:
    name: str
    at_purchase: int  # purchases acknowledged when it struck
    at_s: float  # seconds into the ingest
    in_flight: int  # requests in flight when it struck
    down_s: float = 0.0  # how long the fault itself lasted (kill -> restarted process healthy; pause; restart)
    ready_s: float = 0.0  # fault end -> every service answers /readyz
    caught_up_s: float = 0.0  # fault end -> analytics holds every purchase acknowledged when it struck
    failed_during: int = 0  # requests the point of sale had to send again while the fault lasted
    failed_after: int = 0  # ... and after it ended (e.g. stale pooled connections)


class Chaos:
    def __init__(self, platform: RunningPlatform, infra: Infra, dbs: Databases, ingest: Ingest, rng: random.Random) -> None:
        self.platform = platform
        self.infra = infra
        self.dbs = dbs
        self.ingest = ingest
        self.rng = rng
        self.reports: list[FaultReport] = []
        self.busy = False  # a fault is striking or the platform is recovering from it

    @property
    def processes(self) -> Any:
        assert self.platform.processes is not None
        return self.platform.processes

    async def kill(self, name: str) -> None:
        proc = self.processes.procs[name]
        proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(proc.wait, 10)
        await asyncio.to_thread(self.processes.start_services, only=[name])

    async def pause_broker(self) -> None:
        assert self.infra.broker is not None
        self.infra.broker.pause()
        try:
            await asyncio.sleep(BROKER_PAUSE_S)  # the fault itself: a broker hung for 10 s
        finally:
            self.infra.broker.resume()

    async def restart_postgres(self) -> None:
        pg = self.infra.pg
        assert pg is not None
        await asyncio.to_thread(pg.stop, "fast")  # every connection of every service is cut
        try:
            await asyncio.sleep(PG_DOWN_S)  # the fault itself: the database is away
        finally:
            await asyncio.to_thread(pg.start)

    def faults(self) -> list[tuple[str, Callable[[], Awaitable[None]]]]:
        faults: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("SIGKILL loyalty", lambda: self.kill("loyalty")),
            ("SIGKILL analytics", lambda: self.kill("analytics")),
            ("SIGKILL touch-scheduler", lambda: self.kill("touch-scheduler")),
            ("SIGSTOP broker 10 s", self.pause_broker),
            (f"PostgreSQL down {PG_DOWN_S:.0f} s and restarted", self.restart_postgres),
        ]
        self.rng.shuffle(faults)
        return faults

    async def run(self) -> None:
        """Each fault at a seeded-random share of the ingest, one after the other: the next
        strikes once the platform has recovered from the previous one."""
        faults = self.faults()
        marks = sorted(self.rng.uniform(0.03, 0.6) * PURCHASES for _ in faults)
        try:
            for (name, inject), mark in zip(faults, marks, strict=True):
                await eventually(lambda mark=mark: self.ingest.acked >= mark, timeout_s=WAIT_S, interval_s=0.02)
                self.busy = True
                acked = self.ingest.acked
                report = FaultReport(name, acked, time.monotonic() - self.ingest.started, self.ingest.in_flight)
                started = time.monotonic()
                await inject()
                ended = time.monotonic()
                report.down_s = ended - started
                await self.all_ready()
                report.ready_s = time.monotonic() - ended
                await eventually(lambda acked=acked: self.analytics_has(acked), timeout_s=WAIT_S, interval_s=0.1)
                report.caught_up_s = time.monotonic() - ended
                report.failed_during = sum(1 for t in self.ingest.failed_at if started <= t < ended)
                report.failed_after = sum(1 for t in self.ingest.failed_at if t >= ended)
                self.reports.append(report)
                self.busy = False
        finally:
            self.busy = False

    async def analytics_has(self, n: int) -> bool:
        count = await self.dbs.value_or_none("analytics", "SELECT count(*) FROM a_purchases")
        return count is not None and count >= n

    async def all_ready(self) -> None:
        await all_ready(self.platform)


# ------------------------------------------------------------------------------------------
# Set-up through the public APIs
# ------------------------------------------------------------------------------------------


def ok(r: httpx.Response, *codes: int) -> Any:
    assert r.status_code in (codes or (200,)), f"{r.request.method} {r.request.url} -> {r.status_code}: {r.text[:1000]}"
    return r.json()


async def all_ready(platform: RunningPlatform) -> None:
    """Every service answers /readyz (its database and broker reachable, its loops running)."""
    for name in platform.urls:
        async with platform.client(name) as c:

            async def ready(c: httpx.AsyncClient = c) -> bool:
                try:
                    return (await c.get("/readyz")).status_code == 200
                except httpx.HTTPError:
                    return False

            try:
                await eventually(ready, timeout_s=WAIT_S, interval_s=0.1)
            except TimeoutError:
                raise AssertionError(f"{name} did not recover: /readyz not 200 after {WAIT_S:.0f} s") from None


async def stage(platform: RunningPlatform, dbs: Databases, sink: WebhookSink) -> tuple[list[str], str]:
    """A default program (1 point per SAR, 50 on the first purchase), a welcome e-mail at once
    after the first purchase (delivered to `sink`), and CUSTOMERS customers who consented to
    e-mail, known to loyalty, analytics and the touch scheduler before the ingest starts.
    Returns the customer ids and the welcome plan's id."""
    await all_ready(platform)
    async with platform.client("loyalty") as loyalty, platform.client("touch-scheduler") as touch, platform.client("customer") as customer:
        program = {
            "name": "Chaos",
            "currency": "SAR",
            "earn_rate": str(EARN_RATE),
            "rounding": "down",
            "point_value": "0.05",
            "rules": {"first_purchase_bonus": str(FIRST_BONUS)},
            "tiers": [{"name": "Base", "threshold": "0"}, {"name": "Gold", "threshold": "5000"}],
            "is_default": True,
        }
        ok(await loyalty.post("/v1/programs", json=program), 201)
        ok(await touch.put("/v1/fatigue-policy", json=OPEN_FATIGUE_POLICY))
        ok(await touch.put("/v1/channels/email", json={"url": sink.url, "secret": new_secret()}))
        welcome = {
            "key": "chaos-welcome",
            "name": "Welcome e-mail after the first purchase",
            "trigger": "first_purchase",
            "touches": [
                {
                    "key": "welcome-email",
                    "channel": "email",
                    "content_key": "thank-you-first-purchase",
                    "timing": {"kind": "after_event", "offset_hours": 0, "window_days": 7},
                    "priority": 50,
                    "cost": "0.02",
                }
            ],
        }
        plan = ok(await touch.post("/v1/plans", json=welcome, headers={"Idempotency-Key": "chaos-welcome"}), 201)

        ids: list[str] = []
        gate = asyncio.Semaphore(8)

        async def register(i: int) -> None:
            body = {
                "given_name": f"Chaos{i}",
                "family_name": "Customer",
                "email": f"chaos.{i}.{SEED}@chaos.wafa.example",
                "country": "SA",
                "language": "ar",
                "time_zone": "Asia/Riyadh",
            }
            async with gate:
                c = ok(await customer.post("/v1/customers", json=body, headers={"Idempotency-Key": f"chaos-reg-{i}"}), 201)
                consents = {"channels": {"email": "granted"}, "source": "pos"}
                ok(await customer.put(f"/v1/customers/{c['id']}/consents", json=consents))
            ids.append(c["id"])

        await asyncio.gather(*(register(i) for i in range(CUSTOMERS)))

    async def everyone_known() -> bool:
        members = await dbs.value("loyalty", "SELECT count(*) FROM members")
        profiles = await dbs.value("touch-scheduler", "SELECT count(*) FROM customer_profiles WHERE consents->>'email' = 'granted'")
        known = await dbs.value("analytics", "SELECT count(*) FROM a_customers")
        return bool(members == profiles == known == CUSTOMERS)

    await eventually(everyone_known, timeout_s=WAIT_S, interval_s=0.2)
    return sorted(ids), plan["id"]


# ------------------------------------------------------------------------------------------
# What must hold afterwards
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """Every count and sum the checks compare, from every service's own database."""

    purchases: tuple[Any, ...]
    ledger: tuple[Any, ...]
    balances: tuple[Any, ...]
    analytics: tuple[Any, ...]
    facts: tuple[Any, ...]
    touches: tuple[Any, ...]
    messages: frozenset[str] = field(compare=False, repr=False)  # message ids the partner received (a repeat of one id is the same message)
    in_flight: frozenset[str] = field(compare=False, repr=False)  # message ids of touches being delivered (leased)


async def snapshot(dbs: Databases, sink: WebhookSink) -> Snapshot:
    return Snapshot(
        purchases=tuple(await dbs.one("loyalty", "SELECT count(*), count(DISTINCT order_id), sum(amount), sum(points) FROM purchases")),
        ledger=tuple(await dbs.one("loyalty", "SELECT count(*), sum(points), sum(pending_delta) FROM ledger_entries")),
        balances=tuple(await dbs.one("loyalty", "SELECT sum(available), sum(pending), sum(purchases) FROM members")),
        analytics=tuple(
            await dbs.one(
                "analytics",
                "SELECT (SELECT count(*) FROM a_purchases), (SELECT sum(amount) FROM a_purchases),"
                " (SELECT sum(orders) FROM a_daily), (SELECT sum(revenue) FROM a_daily),"
                " (SELECT sum(purchase_count) FROM a_customers), (SELECT sum(revenue) FROM a_customers)",
            )
        ),
        facts=tuple(await dbs.one("customer", "SELECT sum(purchase_count), sum(total_spend) FROM customers")),
        touches=tuple(
            await dbs.one(
                "touch-scheduler",
                # a touch leased by a killed scheduler may go from dispatching to sent meanwhile
                "SELECT (SELECT count(*) FROM touches), (SELECT count(*) FROM enrolments),"
                " (SELECT count(*) FROM touches WHERE status IN ('sent', 'dispatching'))",
            )
        ),
        messages=frozenset(r.headers["webhook-id"] for r in sink.received),
        in_flight=frozenset(f"msg_{r[0]}" for r in await dbs.rows("touch-scheduler", "SELECT id FROM touches WHERE status = 'dispatching'")),
    )


SETTLING = ("customer outbox", "loyalty outbox", "touch-scheduler outbox", "analytics purchases", "customer facts", "welcome touches")


async def pending_work(dbs: Databases, sink: WebhookSink, expected_customers: int, welcome_plan: str) -> list[str]:
    """What the ingest set in motion and has not happened yet: outboxes to drain, purchases
    analytics or the customer facts lack, welcome touches not made or not delivered (a touch
    leased by a scheduler killed while posting it counts as delivered: it is posted again,
    under the same message id, when the lease ends)."""
    pending = []
    for service in ("customer", "loyalty", "touch-scheduler"):
        if await dbs.value_or_none(service, "SELECT count(*) FROM outbox WHERE published_at IS NULL") != 0:
            pending.append(f"{service} outbox")
    if (n := await dbs.value_or_none("analytics", "SELECT count(*) FROM a_purchases")) != PURCHASES:
        pending.append(f"analytics purchases ({n})")
    if (n := await dbs.value_or_none("customer", "SELECT sum(purchase_count) FROM customers")) != PURCHASES:
        pending.append(f"customer facts ({n})")
    try:
        welcome = await dbs.rows(
            "touch-scheduler",
            "SELECT id, status, next_attempt_at > now() AS leased FROM touches WHERE plan_id = $1",
            uuid.UUID(welcome_plan),
        )
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        welcome = []
    received = {json.loads(r.body)["touch_id"] for r in sink.received}
    done = [t for t in welcome if t["status"] in ("sent", "skipped", "failed") or (t["status"] == "dispatching" and (str(t["id"]) in received or t["leased"]))]
    if not len(welcome) == len(done) == expected_customers:
        pending.append("welcome touches")
    return pending


async def settle(dbs: Databases, sink: WebhookSink, expected_customers: int, welcome_plan: str) -> dict[str, float]:
    """Wait until nothing is pending; returns how many seconds each part took."""
    t0 = time.monotonic()
    done_at: dict[str, float] = {}
    last: list[str] = []

    async def nothing_pending() -> bool:
        nonlocal last
        last = await pending_work(dbs, sink, expected_customers, welcome_plan)
        for name in SETTLING:
            if not any(p.startswith(name) for p in last):
                done_at.setdefault(name, round(time.monotonic() - t0, 1))
        return not last

    try:
        await eventually(nothing_pending, timeout_s=WAIT_S, interval_s=0.25)
    except TimeoutError:
        raise AssertionError(f"not settled after {WAIT_S:.0f} s; still pending: {last}") from None
    return done_at


async def check_ledger(dbs: Databases, platform: RunningPlatform, ingest: Ingest) -> dict[str, Any]:
    sent = ingest.purchases
    amounts = {p["order_id"]: dec(p["lines"][0]["unit_price"]) for p in sent}
    rows = await dbs.rows("loyalty", "SELECT id::text, order_id, customer_id::text, amount, points, first_purchase FROM purchases")
    assert len(rows) == PURCHASES == len(amounts)
    assert {r["order_id"] for r in rows} == set(amounts), "every order recorded, none invented"
    assert {r["order_id"]: r["id"] for r in rows} == ingest.purchase_ids, "every answer (first or replayed) names the purchase that was recorded"
    for r in rows:
        assert r["amount"] == amounts[r["order_id"]]
        assert r["points"] == points_for(r["amount"], r["first_purchase"]), r
    firsts = [r["customer_id"] for r in rows if r["first_purchase"]]
    assert len(firsts) == len(set(firsts)) == len({r["customer_id"] for r in rows}), "one first purchase per buying customer"

    doubled = await dbs.rows(
        "loyalty",
        "SELECT purchase_id, rule, count(*) FROM ledger_entries WHERE purchase_id IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1",
    )
    assert doubled == [], f"ledger entries repeated for one purchase and rule: {doubled[:5]}"
    earned = await dbs.one(
        "loyalty",
        "SELECT count(DISTINCT purchase_id) FILTER (WHERE rule = 'base_spend'), sum(points + pending_delta) FROM ledger_entries WHERE purchase_id IS NOT NULL",
    )
    assert earned[0] == PURCHASES, "every purchase earned in the ledger"
    assert earned[1] == sum(r["points"] for r in rows), "the ledger holds exactly the purchases' points"

    off = await dbs.rows(
        "loyalty",
        """SELECT m.customer_id, m.available, m.pending, m.purchases, l.points, l.pending, p.n
           FROM members m
           LEFT JOIN (SELECT customer_id, sum(points) AS points, sum(pending_delta) AS pending FROM ledger_entries GROUP BY 1) l USING (customer_id)
           LEFT JOIN (SELECT customer_id, count(*) AS n FROM purchases GROUP BY 1) p USING (customer_id)
           WHERE m.available <> coalesce(l.points, 0) OR m.pending <> coalesce(l.pending, 0) OR m.purchases <> coalesce(p.n, 0)""",
    )
    assert off == [], f"balances that are not the sum of their ledger entries: {off[:5]}"
    sums = {str(r["customer_id"]): r["s"] for r in await dbs.rows("loyalty", "SELECT customer_id, sum(points) AS s FROM ledger_entries GROUP BY customer_id")}
    async with platform.client("loyalty") as loyalty:
        for cid, total in sums.items():
            member = ok(await loyalty.get(f"/v1/members/{cid}"))
            assert dec(member["available"]) == total, (cid, member, total)
    return {"purchases": len(rows), "ledger_entries_checked": (await dbs.value("loyalty", "SELECT count(*) FROM ledger_entries")), "members": len(sums)}


async def check_analytics(dbs: Databases, platform: RunningPlatform) -> dict[str, Any]:
    count, revenue = await dbs.one("loyalty", "SELECT count(*), sum(amount) FROM purchases")
    a = await dbs.one(
        "analytics",
        "SELECT (SELECT count(*) FROM a_purchases), (SELECT sum(amount) FROM a_purchases),"
        " (SELECT sum(orders) FROM a_daily), (SELECT sum(revenue) FROM a_daily),"
        " (SELECT sum(purchase_count) FROM a_customers), (SELECT sum(revenue) FROM a_customers)",
    )
    assert tuple(a) == (count, revenue, count, revenue, count, revenue), f"analytics {tuple(a)} != ledger {(count, revenue)}"
    missing = await dbs.rows("loyalty", "SELECT id FROM purchases")
    in_analytics = {r[0] for r in await dbs.rows("analytics", "SELECT purchase_id FROM a_purchases")}
    assert {r[0] for r in missing} == in_analytics, "analytics holds exactly the ledger's purchases"
    today = datetime.now(UTC).date()
    params = {"from": (today - timedelta(days=2)).isoformat(), "to": (today + timedelta(days=1)).isoformat()}
    async with platform.client("analytics") as analytics:
        k = ok(await analytics.get("/v1/kpis", params=params))["kpis"]
    assert k["orders"] == count and dec(k["revenue"]) == revenue, k
    facts = await dbs.one("customer", "SELECT sum(purchase_count), sum(total_spend) FROM customers")
    assert tuple(facts) == (count, revenue), "the customer service's purchase facts equal the ledger"
    return {"orders": count, "revenue": str(revenue)}


async def check_no_dead_letters(dbs: Databases) -> None:
    """Infrastructure faults delay events; they never make a valid event a dead letter."""
    for s in SERVICES:
        dead = await dbs.rows(s.name, "SELECT consumer, event_type, left(error, 300) AS error FROM dead_letters LIMIT 5")
        assert dead == [], f"{s.name} dead-lettered valid events: {dead}"


async def check_touches(dbs: Databases, sink: WebhookSink, welcome_plan: str, buyers: int) -> dict[str, Any]:
    per_customer = await dbs.rows(
        "touch-scheduler", "SELECT customer_id, count(*) FROM touches WHERE plan_id = $1 GROUP BY 1 HAVING count(*) <> 1", uuid.UUID(welcome_plan)
    )
    assert per_customer == [], f"customers with other than one welcome touch: {per_customer[:5]}"
    welcome = {
        str(r["id"]): r["status"] for r in await dbs.rows("touch-scheduler", "SELECT id, status FROM touches WHERE plan_id = $1", uuid.UUID(welcome_plan))
    }
    assert len(welcome) == buyers
    enrolments = await dbs.rows("touch-scheduler", "SELECT plan_id, customer_id, count(*) FROM enrolments GROUP BY 1, 2 HAVING count(*) > 1")
    assert enrolments == [], f"customers enrolled twice in a plan: {enrolments[:5]}"
    twice = await dbs.rows(
        "touch-scheduler",
        "SELECT t.enrolment_id, d.def_key, t.seq, count(*) FROM touches t JOIN touch_definitions d ON d.id = t.definition_id"
        " WHERE t.enrolment_id IS NOT NULL GROUP BY 1, 2, 3 HAVING count(*) > 1",
    )
    assert twice == [], f"a plan's touch made twice for one enrolment: {twice[:5]}"
    received: dict[str, set[str]] = {}
    bodies: dict[str, set[bytes]] = {}
    for r in sink.received:
        touch_id = json.loads(r.body)["touch_id"]
        received.setdefault(touch_id, set()).add(r.headers["webhook-id"])
        bodies.setdefault(r.headers["webhook-id"], set()).add(r.body)
    assert all(len(b) == 1 for b in bodies.values()), "a repeated message id carries the same message (the partner may drop the repeat)"
    assert set(received) <= set(welcome), "only welcome e-mails were sent"
    assert all(ids == {f"msg_{t}"} for t, ids in received.items()), "a touch is always sent under one message id"
    sent = {t for t, status in welcome.items() if status == "sent"}
    assert sent <= set(received), "every touch marked sent reached the partner"
    redelivered = len(sink.received) - len(received)
    # A touch posted but not yet recorded when the scheduler was killed is posted again under the
    # same message id (the partner drops it); it stays leased ('dispatching') until then.
    unrecorded = set(received) - sent
    assert all(welcome[t] == "dispatching" for t in unrecorded), {t: welcome[t] for t in unrecorded}
    planned = await dbs.value("touch-scheduler", "SELECT count(*) FROM touches")
    return {
        "touches_planned": planned,
        "welcome_touches": len(welcome),
        "messages": len(sink.received),
        "distinct": len(received),
        "redelivered_same_id": redelivered,
    }


# ------------------------------------------------------------------------------------------
# Replay from offset 0
# ------------------------------------------------------------------------------------------


def group_ids(platform: RunningPlatform, suffix: str) -> dict[str, tuple[str, list[str]]]:
    """service -> (consumer group, topics) of every consumer, as `InboxConsumer` names them."""
    assert platform.processes is not None
    prefix = platform.processes.env["WAFA_TOPIC_PREFIX"]
    return {
        f"{service}.{spec.name}": (f"{prefix}{service}.{spec.name}{suffix}", [prefix + t for t in spec.topics])
        for service, specs in CONSUMER_NAMES.items()
        for spec in specs
    }


async def replayed(bootstrap: str, groups: dict[str, tuple[str, list[str]]]) -> bool:
    """Every consumer group has committed the end of every partition it reads."""
    for group, topics in groups.values():
        # a member of no subscription: it only reads the group's committed offsets
        probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
        await probe.start()
        try:
            tps = [TopicPartition(t, p) for t in topics for p in (probe.partitions_for_topic(t) or set())]
            for tp, end in (await probe.end_offsets(tps)).items():
                if end > 0 and (await probe.committed(tp) or 0) < end:
                    return False
        finally:
            await probe.stop()
    return True


# ------------------------------------------------------------------------------------------
# The test
# ------------------------------------------------------------------------------------------


async def test_ten_thousand_purchases_through_killed_services_a_hung_broker_and_a_postgresql_restart_are_each_recorded_once_and_a_replay_changes_nothing(
    chaos_platform: RunningPlatform, chaos_infra: Infra
) -> None:
    rng = random.Random(SEED)
    dbs = Databases(chaos_infra)
    numbers: dict[str, Any] = {"seed": SEED}
    try:
        async with webhook_sink() as sink:
            customers, welcome_plan = await stage(chaos_platform, dbs, sink)
            ingest = Ingest(make_work(rng, customers))
            chaos = Chaos(chaos_platform, chaos_infra, dbs, ingest, rng)
            await asyncio.gather(run_ingest(chaos_platform, ingest, chaos), chaos.run())
            numbers["ingest_s"] = round(ingest.finished - ingest.started, 1)
            numbers["retries"] = ingest.retries
            numbers["failures_seen"] = ingest.failures
            numbers["statuses"] = ingest.statuses
            numbers["faults"] = [vars(r) | {k: round(v, 2) for k, v in vars(r).items() if isinstance(v, float)} for r in chaos.reports]
            assert len(chaos.reports) == 5 and all(r.at_s + r.down_s < numbers["ingest_s"] for r in chaos.reports), "every fault struck during the ingest"

            buyers = len({p["customer_id"] for p in ingest.purchases})
            numbers["settled_after_ingest_s"] = await settle(dbs, sink, buyers, welcome_plan)
            await check_no_dead_letters(dbs)
            numbers["ledger"] = await check_ledger(dbs, chaos_platform, ingest)
            numbers["analytics"] = await check_analytics(dbs, chaos_platform)
            numbers["touches"] = await check_touches(dbs, sink, welcome_plan, buyers)
            before = await snapshot(dbs, sink)

            # Replay: every consumer of every service re-reads every topic from offset 0.
            suffix = f".replay-{uuid.uuid4().hex[:6]}"
            processes = chaos_platform.processes
            assert processes is not None
            for s in SERVICES:
                processes.env[f"{s.env_prefix}CONSUMER_GROUP_SUFFIX"] = suffix
            t0 = time.monotonic()
            await asyncio.to_thread(processes.stop)
            await asyncio.to_thread(processes.start_services)
            await eventually(lambda: replayed(chaos_infra.bootstrap, group_ids(chaos_platform, suffix)), timeout_s=WAIT_S, interval_s=0.5)
            numbers["replay_s"] = round(time.monotonic() - t0, 1)
            numbers["settled_after_replay_s"] = await settle(dbs, sink, buyers, welcome_plan)
            after = await snapshot(dbs, sink)
            assert after == before, f"the replay changed something:\n{before}\n{after}"
            # no new message: only touches already being delivered may have reached the partner meanwhile
            # (a lease held by the scheduler killed earlier ends 2 minutes after it was taken)
            assert after.messages - before.messages <= before.in_flight, sorted(after.messages - before.messages - before.in_flight)[:5]
            numbers["delivered_during_replay_from_earlier_leases"] = len(after.messages - before.messages)
            await check_ledger(dbs, chaos_platform, ingest)
            await check_analytics(dbs, chaos_platform)
            numbers["touches_after_replay"] = await check_touches(dbs, sink, welcome_plan, buyers)
            await check_no_dead_letters(dbs)
    finally:  # the numbers, also when a check fails
        print(f"\nchaos numbers: {json.dumps(numbers, default=str, indent=1)}")
