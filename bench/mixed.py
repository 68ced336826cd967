"""Mixed load on the whole platform at a fixed rate, with end-to-end lag.

    .venv/bin/python bench/mixed.py --seconds 60 --purchases-per-s 500

All five services, embedded PostgreSQL and the broker, started as `make run` does. For
`--seconds`, an open-loop generator sends purchases at `--purchases-per-s` (each its own
`POST /v1/purchases`) blended with member lookups and customer reads, and counts errors.

End-to-end lag is "purchase accepted → visible": the measured purchases are dated in a
reserved year, so analytics' order count for that year is exactly how many it has applied;
polled every `--poll-ms` (250 ms by default; each poll is a KPI query over the year, which
competes with the load), the k-th accepted purchase is visible in analytics at the first poll
that counts k. Every 50th purchase is a new customer's first, which enrols them in a 33-touch plan;
it is in the touch schedule when its `touch.plan.enrolled` event (published from the enrolment's
transaction) reaches the benchmark. Load and polls go through `rawhttp.RawHttp`.
The bare FastAPI + asyncpg endpoint of `baseline_app.py`, at the same rate in the same run, is
the HTTP baseline. Writes bench/results/mixed.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer
from harness import admin_headers, baseline_app, cpu_snapshot, cpu_used, platform, platform_processes, platform_rss_mb, service_url, steady_generator
from rawhttp import RawHttp

from wafa_shared.events.touch import PlanEnrolled

SERVICES = ["customer", "loyalty", "survey", "analytics", "touch-scheduler"]
YEAR = 2001  # the measured purchases' year: nothing else is dated in it
WARM_UP_YEAR = 2000  # the regulars' first purchases, before the measured window
CANARY_EVERY = 50
PROGRAM = {"name": "bench", "currency": "SAR", "earn_rate": "1", "rounding": "down", "point_value": "0.05", "pending_days": 0, "is_default": True}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


async def import_customers(client: httpx.AsyncClient, n: int, tag: str) -> list[str]:
    rows = [{"external_id": f"{tag}-{i}", "given_name": f"Bench {i}", "email": f"b{i}.{tag}@bench.wafa.example", "tags": [tag]} for i in range(n)]
    body = b"\n".join(json.dumps(r).encode() for r in rows)
    r = await client.post("/v1/customers/import", content=body, params={"wait": "true", "source": "bench"}, headers={"Content-Type": "application/x-ndjson"})
    r.raise_for_status()
    ids: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"tag": tag, "limit": 500, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/customers", params=params)).json()
        ids += [c["id"] for c in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            return ids


async def wait_members(client: httpx.AsyncClient, ids: list[str]) -> None:
    waiting = list(ids)
    deadline = time.monotonic() + 300
    gate = asyncio.Semaphore(16)
    while waiting:

        async def member(cid: str) -> bool:
            async with gate:
                return (await client.get(f"/v1/members/{cid}")).status_code == 200

        found = await asyncio.gather(*(member(c) for c in waiting))
        waiting = [c for c, ok in zip(waiting, found, strict=True) if not ok]
        if waiting and time.monotonic() > deadline:
            raise TimeoutError(f"{len(waiting)} customers not enrolled")
        if waiting:
            await asyncio.sleep(0.5)


def purchase(customer_id: str, i: int, year: int = YEAR) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "order_id": f"mixed-{year}-{i}-{uuid.uuid4().hex[:6]}",
        "occurred_at": f"{year}-06-{1 + i % 28:02d}T12:00:00+00:00",
        "currency": "SAR",
        "lines": [{"sku": "SKU-1", "category": "grocery", "quantity": "1", "unit_price": "20.00"}],
    }


async def warm_up(c: dict[str, httpx.AsyncClient], p: Any, regulars: list[str], idle: float) -> None:
    """Give every regular its first purchase before the measured window, and wait until its
    effects are done (counted in analytics, enrolled in Client for Life, the platform quiet).

    Without it the window opened with 2,000 first purchases: 2,000 enrolments of 33 touches
    each in the first seconds, a burst of new customers rather than the steady blend measured
    (every 50th purchase a first one)."""
    for k in range(0, len(regulars), 1000):
        body = {"purchases": [purchase(cid, i, WARM_UP_YEAR) for i, cid in enumerate(regulars[k : k + 1000], k)]}
        (await c["loyalty"].post("/v1/purchases/batch", json=body)).raise_for_status()
    wanted = set(regulars)
    consumer = await enrolments_consumer(p)
    deadline = time.monotonic() + 300
    try:
        while wanted and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                wanted -= {orjson.loads(r.value)["data"]["customer_id"] for r in records}
    finally:
        await consumer.stop()
    params = {"from": f"{WARM_UP_YEAR}-01-01", "to": f"{WARM_UP_YEAR}-12-31"}
    while (await c["analytics"].get("/v1/kpis", params=params)).json()["kpis"]["orders"] < len(regulars) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    if wanted or time.monotonic() >= deadline:
        raise TimeoutError(f"warm-up not done: {len(wanted)} regulars not enrolled")
    await settled(p, deadline, idle)


async def enrolments_consumer(p: Any) -> AIOKafkaConsumer:
    """A started reader of `touch.plan.enrolled` from the topic's start."""
    consumer = AIOKafkaConsumer(p.env.get("WAFA_TOPIC_PREFIX", "") + PlanEnrolled.topic, bootstrap_servers=p.broker.bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    return consumer


async def cpu_rate(p: Any, seconds: float = 1.0) -> float:
    """Cores the platform's processes use together over the next `seconds` (a process that
    ends meanwhile, an autovacuum worker, counts what it used before)."""
    before = cpu_snapshot(platform_processes(p))
    await asyncio.sleep(seconds)
    return cpu_used(before, platform_processes(p)) / seconds


async def settled(p: Any, deadline: float, idle: float) -> None:
    """Until the platform's processes use under a tenth of a core more than when idle (`idle`:
    polling relays and consumers, about 0.15-0.2 core here), i.e. outboxes relayed and
    consumers caught up: what the warm-up left running would be measured as load."""
    while time.monotonic() < deadline:
        if await cpu_rate(p) < idle + 0.1:
            return
    raise TimeoutError("the platform did not settle after the warm-up")


class Open:
    """Open-loop sender: request i leaves at t0 + i / rate, whatever the previous ones are doing."""

    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    def send(self, kind: str, call: Any, on_ok: Any = None) -> None:
        async def go() -> None:
            t = time.perf_counter()
            try:
                r = await call()
                ok = r.status_code < 400
            except (OSError, asyncio.IncompleteReadError, ValueError):  # refused, reset, or a malformed answer
                ok = False
            self.latencies.setdefault(kind, []).append((time.perf_counter() - t) * 1000)
            if not ok:
                self.errors[kind] = self.errors.get(kind, 0) + 1
            elif on_ok is not None:
                on_ok()

        task = asyncio.create_task(go())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def drain(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks))


async def run(args: argparse.Namespace, p: Any) -> dict[str, Any]:
    urls = {s: service_url(p, s) for s in SERVICES}
    h = admin_headers()
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    c = {s: httpx.AsyncClient(base_url=u, headers=h, timeout=60, limits=limits) for s, u in urls.items()}  # set-up
    fast = {s: RawHttp(u, h, connections=32) for s, u in urls.items()}  # the measured load and the polls; 32 per service as wrk_http
    (await c["loyalty"].post("/v1/programs", json=PROGRAM)).raise_for_status()
    idle = await cpu_rate(p, 3.0)  # before any load: what settling after the warm-up comes back to
    rate = args.purchases_per_s
    total = int(rate * args.seconds)
    regulars = await import_customers(c["customer"], args.customers, "regular")
    canaries = await import_customers(c["customer"], total // CANARY_EVERY + 1, "canary")
    await wait_members(c["loyalty"], regulars + canaries)
    await warm_up(c, p, regulars, idle)

    accepted: list[float] = []  # when each measured purchase was accepted
    canary_accepted: dict[str, float] = {}
    enrolled_first: set[str] = set()
    visible_analytics: list[float] = []
    touch_lag: list[float] = []
    done = asyncio.Event()

    async def poll_analytics() -> None:
        params = {"from": f"{YEAR}-01-01", "to": f"{YEAR}-12-31"}
        while True:
            try:
                r = await fast["analytics"].get("/v1/kpis", params=params)
                orders = r.json()["kpis"]["orders"] if r.status_code == 200 else 0  # type: ignore[index]
            except (OSError, asyncio.IncompleteReadError):  # a keep-alive connection the server closed: poll again
                continue
            now = time.perf_counter()
            while len(visible_analytics) < min(orders, len(accepted)):
                visible_analytics.append(now - accepted[len(visible_analytics)])
            if done.is_set() and len(visible_analytics) >= len(accepted):
                return
            await asyncio.sleep(args.poll_ms / 1000)

    async def watch_enrolments() -> None:
        """A canary is in the touch schedule once its enrolment committed; the scheduler
        publishes `touch.plan.enrolled` from the same transaction, so its arrival here is that
        moment plus the relay's hop (an upper bound). Polling each canary's timeline instead
        sent hundreds of reads per second to the scheduler and measured the polling."""
        consumer = await enrolments_consumer(p)
        try:
            while not (done.is_set() and not canary_accepted):
                for records in (await consumer.getmany(timeout_ms=100)).values():
                    now = time.perf_counter()
                    for record in records:
                        cid = orjson.loads(record.value)["data"]["customer_id"]
                        at = canary_accepted.pop(cid, None)
                        if at is not None:
                            touch_lag.append(now - at)
                        else:  # enrolled before its purchase's response arrived here
                            enrolled_first.add(cid)
        finally:
            await consumer.stop()

    print(f"measuring: {rate:g} purchases/s for {args.seconds:g} s", flush=True)
    with steady_generator():  # its pauses would count as lag
        load = Open()
        pollers = [asyncio.create_task(poll_analytics()), asyncio.create_task(watch_enrolments())]
        t0 = time.perf_counter()
        ticks = int(args.seconds * 100)  # a tick every 10 ms
        sent = 0
        behind = 0.0  # how late the generator got against its schedule: large means it measured itself
        for tick in range(ticks):
            await asyncio.sleep(max(0.0, t0 + tick / 100 - time.perf_counter()))
            behind = max(behind, time.perf_counter() - (t0 + tick / 100))
            due = int(rate * (tick + 1) / 100)
            for i in range(sent, due):
                canary = i % CANARY_EVERY == 0
                cid = canaries[i // CANARY_EVERY] if canary else regulars[i % len(regulars)]

                def accepted_now(cid: str = cid, canary: bool = canary) -> None:
                    accepted.append(time.perf_counter())
                    if canary and cid in enrolled_first:
                        touch_lag.append(0.0)
                    elif canary:
                        canary_accepted[cid] = accepted[-1]

                load.send("POST /v1/purchases", lambda cid=cid, i=i: fast["loyalty"].post("/v1/purchases", json=purchase(cid, i)), accepted_now)
                if i % 5 < 2:  # 2 lookups for every 5 purchases
                    load.send("GET /v1/members/{id}", lambda i=i: fast["loyalty"].get(f"/v1/members/{regulars[i % len(regulars)]}"))
                if i % 5 == 0:
                    load.send("GET /v1/customers/{id}", lambda i=i: fast["customer"].get(f"/v1/customers/{regulars[(i * 7) % len(regulars)]}"))
            sent = due
        await load.drain()
        seconds = time.perf_counter() - t0
        done.set()
        try:
            await asyncio.wait_for(asyncio.gather(*pollers), timeout=120)
        except TimeoutError:
            pass
    rss = platform_rss_mb(p)

    assert p.pg is not None
    with baseline_app(p.pg) as base:
        bc = RawHttp(base, {}, connections=128)
        base_load = Open()
        with steady_generator():
            b0 = time.perf_counter()
            for tick in range(int(min(args.seconds, 20) * 100)):
                await asyncio.sleep(max(0.0, b0 + tick / 100 - time.perf_counter()))
                for _ in range(int(rate * (tick + 1) / 100) - int(rate * tick / 100)):
                    base_load.send("baseline", lambda: bc.post("/items", json={"customer_id": "x", "amount": "20.00"}))
            await base_load.drain()
        await bc.aclose()
    for client in c.values():
        await client.aclose()
    for raw in fast.values():
        await raw.aclose()

    rows = []
    for kind, lat in load.latencies.items():
        rows.append(
            {
                "scenario": f"mixed: {kind}",
                "requests": len(lat),
                "errors": load.errors.get(kind, 0),
                "per_s": round(len(lat) / seconds),
                "p50_ms": round(statistics.median(lat), 2),
                "p99_ms": round(pct(lat, 0.99), 2),
            }
        )
    base_lat = base_load.latencies["baseline"]
    rows.append({"scenario": "baseline POST /items, same rate", "requests": len(base_lat), "errors": base_load.errors.get("baseline", 0),
                 "p50_ms": round(statistics.median(base_lat), 2), "p99_ms": round(pct(base_lat, 0.99), 2)})  # fmt: skip
    lag = {
        "analytics_p50_s": round(pct(visible_analytics, 0.5), 3),
        "analytics_p99_s": round(pct(visible_analytics, 0.99), 3),
        "analytics_measured": len(visible_analytics),
        "touch_schedule_p50_s": round(pct(touch_lag, 0.5), 3),
        "touch_schedule_p99_s": round(pct(touch_lag, 0.99), 3),
        "touch_schedule_measured": len(touch_lag),
        "purchases_accepted": len(accepted),
        "generator_behind_max_s": round(behind, 3),
    }
    for r in rows:
        rate_s = r.get("per_s", "")
        print(f"{r['scenario']:<40} {r['requests']:>8} req  {r['errors']:>5} errors  {rate_s:>6}/s  p50 {r['p50_ms']:>8} ms  p99 {r['p99_ms']:>8} ms")
    print("end-to-end lag (accepted -> visible):", json.dumps(lag))
    print(f"platform RSS after the load: {rss} MB")
    return {"rows": rows, "lag": lag, "rate_per_s": rate, "seconds": round(seconds, 1), "rss_mb": rss}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--purchases-per-s", type=float, default=500)
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--poll-ms", type=float, default=250, help="analytics KPI poll interval: the lag's resolution; each poll is a KPI query over the year")
    args = ap.parse_args()
    with platform(SERVICES) as p:
        result = asyncio.run(run(args, p))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "mixed.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
