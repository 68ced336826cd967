"""Touch scheduler benchmark: materialise Client for Life schedules for many enrolments, and
dispatch due touches (fatigue checks, Standard Webhooks signing, HTTP POST) to a local sink.

    .venv/bin/python bench/touch.py --enrolments 100000 --dispatch 20000 [--streams N] [--sink raw|uvicorn] [--loop uvloop|asyncio] [--concurrency N]

`--streams 2` materialises with two enrolment batches in flight, each in its own transaction,
as two consumer replicas would (one process here, so the Python side still shares one core).

Runs the touch scheduler app in-process on embedded PostgreSQL (relay, consumers and the
periodic job loop off, so only the measured work runs); the webhook sink is a separate process:
a bare asyncio HTTP/1.1 server (`raw`, default) or a uvicorn ASGI app. The event loop is uvloop
by default, as the services run under the launcher. Baselines from the same run:
- materialisation: COPY of the same number of touch rows, precomputed, into a table of the same
  shape without indexes (no rules, no events);
- announce: the look-ahead job over a 30-day window after materialisation (reported, no baseline);
- dispatch: signing + POSTing the same number of messages to the same sink with the same
  concurrency and the same client as dispatch (`WebhookSender`, aiohttp), no database; and, for
  reference, the same with one httpx client holding every connection.
Dispatched touches are inserted already announced (in steady state the look-ahead job announced
them days before they come due). Writes bench/results/touch.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
from harness import cpu_snapshot, cpu_used, postgres_processes, remove_home
from sqlalchemy import text

from wafa_shared.clock import ManualClock
from wafa_shared.embedded.broker import EmbeddedBroker, free_port
from wafa_shared.embedded.postgres import EmbeddedPostgres
from wafa_shared.migrations import upgrade
from wafa_shared.webhooks.sender import WebhookSender
from wafa_shared.webhooks.signing import new_secret, signed_headers
from wafa_touch import dispatch
from wafa_touch import repository as repo
from wafa_touch.announce import run_announce
from wafa_touch.app import create_app
from wafa_touch.definitions import Definition, definition_ids
from wafa_touch.enrolment import EnrolRequest, enrol_many
from wafa_touch.models import Plan
from wafa_touch.settings import Settings

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
RAW_SINK = """
import asyncio, sys
RESP = b"HTTP/1.1 200 OK\\r\\ncontent-length: 0\\r\\n\\r\\n"
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\\r\\n\\r\\n")
            n = 0
            for line in head.split(b"\\r\\n"):
                if line[:15].lower() == b"content-length:":
                    n = int(line[15:])
            if n:
                await reader.readexactly(n)
            writer.write(RESP)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
async def main(port):
    async with await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024) as srv:
        await srv.serve_forever()
asyncio.run(main(int(sys.argv[1])))
"""
SINK = """
import sys, uvicorn
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error", access_log=False)
"""


async def seed_profiles(sessions: Any, n: int) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(n)]
    consents = json.dumps({c: "granted" for c in ("email", "sms", "phone", "post", "push")})
    async with sessions() as s:
        conn = await (await s.connection()).get_raw_connection()
        await conn.driver_connection.copy_records_to_table(
            "customer_profiles",
            records=[(cid, "Asia/Riyadh", "SA", date(1980 + i % 30, 1 + i % 12, 1 + i % 28), "{}", consents, f"c{i}@example.com") for i, cid in enumerate(ids)],
            columns=["customer_id", "time_zone", "country", "birth_date", "custom_dates", "consents", "email"],
        )
        await s.commit()
    return ids


async def bench_materialise(runtime: Any, n: int, chunk: int, streams: int, pg: EmbeddedPostgres) -> dict[str, Any]:
    ids = await seed_profiles(runtime.sessions, n)
    async with runtime.sessions() as s:
        plan = await repo.plan_by_key(s, "client-for-life")
        assert plan is not None
        plan.holdout_pct = 0  # type: ignore[assignment]
        await s.commit()
    plan_id = plan.id
    touches = 0

    async def stream(first: int) -> None:
        """Chunks first, first + streams, ...: one consumer's share of the enrolments."""
        nonlocal touches
        for i in range(first * chunk, n, chunk * streams):
            async with runtime.sessions() as s:
                plan = await s.get(Plan, plan_id)
                assert plan is not None
                part = ids[i : i + chunk]
                profiles = await repo.profiles(s, part)
                reqs = [EnrolRequest(cid, T0 + timedelta(minutes=j % 1440), "first_purchase", None) for j, cid in enumerate(part)]
                results = await enrol_many(s, plan, reqs, T0, default_tz="Asia/Riyadh", default_country="SA", profiles=profiles)
                touches += sum(r.touches for r in results)
                await s.commit()

    me = [psutil.Process()]
    start, cpu0 = time.perf_counter(), (cpu_snapshot(me), cpu_snapshot(postgres_processes(pg)))
    await asyncio.gather(*(stream(k) for k in range(streams)))
    seconds = time.perf_counter() - start
    cpu = (cpu_used(cpu0[0], me), cpu_used(cpu0[1], postgres_processes(pg)))
    # The look-ahead job after materialisation, over a 30-day window (what it publishes over a month).
    runtime.settings.announce_window_days = 30
    a0 = time.perf_counter()
    announced = (await run_announce(runtime))["announced"]
    announce_seconds = time.perf_counter() - a0
    runtime.settings.announce_window_days = 7
    # Baseline: COPY the same number of rows, precomputed, into a scratch table of the same shape.
    async with runtime.sessions() as s:
        await s.execute(text("CREATE TABLE bench_touches (LIKE touches INCLUDING DEFAULTS)"))
        rows = (await s.execute(text(f"SELECT {', '.join(repo.TOUCH_COLUMNS)} FROM touches LIMIT :n"), {"n": touches})).all()
        recs = [tuple(orjson.dumps(v).decode() if c == "payload" else v for c, v in zip(repo.TOUCH_COLUMNS, r, strict=True)) for r in rows]
        conn = await (await s.connection()).get_raw_connection()
        b0 = time.perf_counter()
        await conn.driver_connection.copy_records_to_table("bench_touches", records=recs, columns=list(repo.TOUCH_COLUMNS))
        await s.commit()
        baseline = time.perf_counter() - b0
    return {
        "enrolments": n,
        "streams": streams,
        "touches": touches,
        "seconds": round(seconds, 2),
        "enrolments_per_s": round(n / seconds),
        "touches_per_s": round(touches / seconds),
        "cpu_seconds_service_postgres": [round(c, 1) for c in cpu],
        "baseline_copy_seconds": round(baseline, 2),
        "ratio_to_copy": round(baseline / seconds, 3),
        "announced_30d": announced,
        "announce_seconds": round(announce_seconds, 2),
        "announced_per_s": round(announced / announce_seconds) if announce_seconds else None,
    }


async def bench_dispatch(runtime: Any, n: int, sink_url: str) -> dict[str, Any]:
    """n customers each with one email touch due now: one decision and one signed POST each."""
    ids = await seed_profiles(runtime.sessions, n)
    secret = new_secret()
    async with runtime.sessions() as s:
        await s.execute(text("INSERT INTO channel_endpoints (channel, url, secret) VALUES ('email', :u, :s)"), {"u": sink_url, "s": secret})
        [definition_id] = await definition_ids(s, [Definition("bench", "monthly-newsletter")])
        await repo.insert_touches(
            s,
            [
                {
                    "id": uuid.uuid4(),
                    "customer_id": cid,
                    "plan_id": None,
                    "enrolment_id": None,
                    "definition_id": definition_id,
                    "seq": 0,
                    "channel": "email",
                    "priority": 10,
                    "status": "scheduled",
                    "reason": None,
                    "due_at": T0,
                    "original_due_at": T0,
                    "window_end": T0 + timedelta(days=7),
                    "sent_at": None,
                    "completed_at": None,
                    "attempts": 0,
                    "next_attempt_at": None,
                    "delivery_status": None,
                    "payload": {},
                    "scheduled_announced_at": T0 - timedelta(days=7),
                }
                for cid in ids
            ],
        )
        await s.commit()
    runtime.clock.set(T0 + timedelta(hours=3))  # 15:00 in Riyadh: outside quiet hours
    phases = {"decide": 0.0, "post": 0.0}
    decide_due, post_all = dispatch.decide_due, WebhookSender.post_all

    async def timed_decide(*a: Any, **k: Any) -> Any:
        t = time.perf_counter()
        try:
            return await decide_due(*a, **k)
        finally:
            phases["decide"] += time.perf_counter() - t

    async def timed_post(self: Any, *a: Any, **k: Any) -> Any:
        t = time.perf_counter()
        try:
            return await post_all(self, *a, **k)
        finally:
            phases["post"] += time.perf_counter() - t

    dispatch.decide_due, WebhookSender.post_all = timed_decide, timed_post  # type: ignore[method-assign]
    try:
        start = time.perf_counter()
        totals = await dispatch.run_dispatch(runtime)
        seconds = time.perf_counter() - start
    finally:
        dispatch.decide_due, WebhookSender.post_all = decide_due, post_all  # type: ignore[method-assign]
    assert totals.get("delivered") == n, totals
    s = runtime.settings
    body = orjson.dumps({"type": "touch.dispatch", "touch_id": str(uuid.uuid4()), "channel": "email", "customer": {"id": str(uuid.uuid4())}})
    # Baseline: sign and POST the same number of bodies through the same client set-up and
    # concurrency, no database.
    sender = WebhookSender(timeout_s=10, connections=s.dispatch_concurrency)
    try:
        b0 = time.perf_counter()
        for i in range(0, n, s.dispatch_batch_size):
            requests = [(sink_url, body, signed_headers(secret, f"msg_{j}", body)) for j in range(i, min(n, i + s.dispatch_batch_size))]
            outs = await post_all(sender, requests, s.dispatch_concurrency)
            assert all(o is not None and o[1] is None for o in outs), outs[:3]
        baseline = time.perf_counter() - b0
    finally:
        await sender.aclose()
    # Reference: one httpx client holding all the connections (httpx was the dispatch client before).
    m = min(n, 5000)
    sem = asyncio.Semaphore(s.dispatch_concurrency)
    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=s.dispatch_concurrency)) as client:

        async def post(i: int) -> None:
            async with sem:
                r = await client.post(sink_url, content=body, headers=signed_headers(secret, f"msg_{i}", body))
                r.raise_for_status()

        c0 = time.perf_counter()
        await asyncio.gather(*(post(i) for i in range(m)))
        single = time.perf_counter() - c0
    return {
        "touches": n,
        "seconds": round(seconds, 2),
        "touches_per_s": round(n / seconds),
        "decide_seconds": round(phases["decide"], 2),
        "post_seconds": round(phases["post"], 2),
        "other_seconds": round(seconds - phases["decide"] - phases["post"], 2),
        "baseline_per_s": round(n / baseline),
        "ratio": round(baseline / seconds, 3),
        "single_client_baseline_per_s": round(m / single),
        "concurrency": s.dispatch_concurrency,
    }


async def main(enrolments: int, n_dispatch: int, chunk: int, streams: int, sink_kind: str, concurrency: int | None) -> dict[str, Any]:
    logging.disable(logging.WARNING)
    home = Path(tempfile.mkdtemp(prefix="wafa-bench-touch-"))
    pg = EmbeddedPostgres(home / "pg", free_port(), fast=True)
    pg.start()
    broker = EmbeddedBroker(free_port(), log_file=home / "broker.log")  # topics are created at start-up
    broker.start()
    port = free_port()
    sink = subprocess.Popen([sys.executable, "-c", RAW_SINK if sink_kind == "raw" else SINK, str(port)])  # noqa: ASYNC220 - set-up, before timing
    try:
        url = pg.url("bench_touch")
        migrations = Path(__file__).parent.parent / "services/touch-scheduler/wafa_touch/migrations"
        await upgrade(url, migrations)
        settings = Settings(
            env="test",
            database_url=url,
            kafka_bootstrap_servers=broker.bootstrap,
            relay_enabled=False,
            consumers_enabled=False,
            webhooks_enabled=False,
            dispatch_interval_s=3600,
            announce_interval_s=3600,
            **({"dispatch_concurrency": concurrency} if concurrency else {}),
        )
        app = create_app(settings, clock=ManualClock(T0))
        async with app.router.lifespan_context(app):
            runtime = app.state.runtime
            async with httpx.AsyncClient() as c:
                for _ in range(100):
                    try:
                        await c.post(f"http://127.0.0.1:{port}/hook", content=b"{}")
                        break
                    except httpx.HTTPError:
                        await asyncio.sleep(0.1)
            mat = await bench_materialise(runtime, enrolments, chunk, streams, pg)
            dis = await bench_dispatch(runtime, n_dispatch, f"http://127.0.0.1:{port}/hook")
        return {"materialise": mat, "dispatch": {**dis, "sink": sink_kind}}
    finally:
        sink.terminate()
        sink.wait()
        broker.stop()
        pg.stop("immediate")
        remove_home(home)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--enrolments", type=int, default=100_000)
    parser.add_argument("--dispatch", type=int, default=20_000)
    parser.add_argument("--chunk", type=int, default=2000)
    parser.add_argument("--streams", type=int, default=1, help="enrolment batches in flight at once, each in its own transaction (consumer replicas)")
    parser.add_argument("--sink", choices=("raw", "uvicorn"), default="raw")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--concurrency", type=int, default=None, help="dispatch concurrency (default: the service's)")
    args = parser.parse_args()
    if args.loop == "uvloop":
        import uvloop

        uvloop.install()
    result = asyncio.run(main(args.enrolments, args.dispatch, args.chunk, args.streams, args.sink, args.concurrency))
    result["loop"] = args.loop
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "touch.json").write_text(json.dumps(result, indent=2))
    m, d = result["materialise"], result["dispatch"]
    print(f"{'materialise enrolments':<38}{m['enrolments']:>12}")
    print(f"{'  streams':<38}{m['streams']:>12}")
    print(f"{'  touches':<38}{m['touches']:>12}")
    print(f"{'  seconds':<38}{m['seconds']:>12}")
    print(f"{'  touches/s':<38}{m['touches_per_s']:>12}")
    print(f"{'  enrolments/s':<38}{m['enrolments_per_s']:>12}")
    print(f"{'  CPU s: service / PostgreSQL':<38}{' / '.join(map(str, m['cpu_seconds_service_postgres'])):>12}")
    print(f"{'  baseline COPY seconds':<38}{m['baseline_copy_seconds']:>12}")
    print(f"{'announce (30-day window) touches':<38}{m['announced_30d']:>12}")
    print(f"{'  touches/s':<38}{m['announced_per_s']:>12}")
    print(f"{'dispatch touches/s':<38}{d['touches_per_s']:>12}")
    print(f"{'  baseline sign+POST/s':<38}{d['baseline_per_s']:>12}")
    print(f"{'  ratio (ours / baseline)':<38}{d['ratio']:>12}")
    print(f"{'  decide / post / other seconds':<38}{d['decide_seconds']:>6} {d['post_seconds']} {d['other_seconds']}")
    print(f"{'  one-client httpx baseline/s':<38}{d['single_client_baseline_per_s']:>12}")
