"""Customer benchmark: bulk import, profile reads at a fixed rate, segment evaluation at scale.

    .venv/bin/python bench/customer.py [--import-rows 100000] [--rate 500] [--seconds 20]
                                       [--segment-customers 1000000]

Starts embedded PostgreSQL, the broker and the customer service as a real uvicorn process (as
`make run` does); the relay publishes every event to the broker while the load runs.

- Import: `--import-rows` CSV rows (name, email, Saudi mobile written locally, country, time zone,
  birth date, tags, external id) through `POST /v1/customers/import?wait=true`: validation,
  normalisation, upsert, events. Baseline: the same rows loaded with asyncpg `COPY` into a bare
  table (no validation, no events) in the same PostgreSQL; the ratio is printed.
- Reads (after the relay has published the import's events): `GET /v1/customers/{id}` sent open-loop at `--rate` requests/s for `--seconds` (so
  latency is not hidden by back-pressure), p50/p99, and the CPU the server process spent per
  request (`cpu_us_per_request`, user + system; steadier than latency on a shared machine).
  Baseline: the bare FastAPI + asyncpg single-row read (`baseline_app.py`) at the same rate.
- Segments: `--segment-customers` customers generated inside PostgreSQL, then a 3-rule segment
  (country, total spend, last purchase within 90 days) created and counted through the API
  (median of 3), and the first members page. Baseline: the same count written by hand in SQL.

Writes bench/results/customer.json.
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

import asyncpg
import httpx
import psutil
from harness import admin_headers, baseline_app, cpu_seconds, platform, platform_rss_mb, service_url, steady_generator
from rawhttp import RawHttp

from wafa_shared.migrations import asyncpg_dsn

CONNECTIONS = 32  # keep-alive connections per target, as wrk_http

RULE = {
    "all": [
        {"field": "country", "op": "eq", "value": "SA"},
        {"field": "total_spend", "op": "gte", "value": "1000"},
        {"field": "last_purchase_at", "op": "within_days", "value": 90},
    ]
}


def csv_rows(n: int) -> bytes:
    lines = ["external_id,given_name,family_name,email,phone,country,time_zone,birth_date,tags"]
    for i in range(n):
        lines.append(
            f"B{i},Name{i},Family{i % 997},user{i}@bench.example,05{5 if i % 2 else 0}{i % 10_000_000:07d},SA,Asia/Riyadh,"
            f"19{60 + i % 40}-{1 + i % 12:02d}-{1 + i % 28:02d},vip|b{i % 7}"
        )
    return ("\n".join(lines) + "\n").encode()


async def bench_import(url: str, headers: dict[str, str], dsn: str, n: int) -> dict[str, Any]:
    body = csv_rows(n)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=1200) as client:
        t = time.perf_counter()
        r = await client.post("/v1/customers/import", params={"wait": "true", "source": "bench"}, content=body, headers={"content-type": "text/csv"})
        seconds = time.perf_counter() - t
    job = r.json()
    assert r.status_code == 200 and job["created"] == n and job["failed"] == 0, job
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_copy"
            " (external_id text, given_name text, family_name text, email text, phone text, country text, tz text, birth text, tags text)"
        )
        records = [tuple(line.split(",")) for line in body.decode().splitlines()[1:]]
        t = time.perf_counter()
        await conn.copy_records_to_table("bench_copy", records=records)
        base = time.perf_counter() - t
        await conn.execute("DROP TABLE bench_copy")
    finally:
        await conn.close()
    return {
        "rows": n,
        "seconds": round(seconds, 2),
        "rows_per_s": round(n / seconds),
        "baseline_copy_seconds": round(base, 2),
        "ratio": round(seconds / base, 1),
    }


async def fixed_rate(pool: RawHttp, paths: list[str], rate: float, seconds: float, server: psutil.Process | None = None) -> dict[str, Any]:
    """Open loop: request i is due at i/rate whatever happened to earlier ones; its latency is
    counted from when it was due (so a stalled generator or server cannot hide queueing).
    With `server`, also the CPU that process spent per request (its background loops included)."""
    total = int(rate * seconds)
    cpu_before = cpu_seconds([server]) if server is not None else 0.0
    latencies: list[float] = []
    errors = 0

    async def one(path: str, due: float) -> None:
        nonlocal errors
        try:
            errors += (await pool.get(path)).status_code != 200
        except (OSError, asyncio.IncompleteReadError):
            errors += 1
        latencies.append((time.perf_counter() - due) * 1000)

    with steady_generator():
        start = time.perf_counter()
        tasks = []
        for i in range(total):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(paths[i % len(paths)], due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    latencies.sort()
    cpu = {"cpu_us_per_request": round((cpu_seconds([server]) - cpu_before) / total * 1e6)} if server is not None else {}
    return {
        **cpu,
        "requests": total,
        "errors": errors,
        "achieved_per_s": round(total / elapsed),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
        "max_ms": round(latencies[-1], 2),
    }


def baseline_process() -> psutil.Process:
    """The uvicorn process `baseline_app` started (a child of this one)."""

    def is_baseline(c: psutil.Process) -> bool:
        try:
            return "baseline_app:app" in c.cmdline()
        except psutil.Error:  # a child that has just exited
            return False

    return next(c for c in psutil.Process().children() if is_baseline(c))


async def bench_reads(url: str, headers: dict[str, str], dsn: str, base: str, rate: float, seconds: float, service_pid: int) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        ids = [str(r["id"]) for r in await conn.fetch("SELECT id FROM customers ORDER BY random() LIMIT 2000")]
    finally:
        await conn.close()
    async with httpx.AsyncClient(base_url=base) as client:
        item = (await client.post("/items", json={"customer_id": "x", "amount": "1"})).json()["id"]
    base_pool = RawHttp(base, {}, CONNECTIONS)
    await fixed_rate(base_pool, [f"/items/{item}"], rate, 2)  # warm-up
    baseline = await fixed_rate(base_pool, [f"/items/{item}"], rate, seconds, baseline_process())
    await base_pool.aclose()
    pool = RawHttp(url, headers, CONNECTIONS)
    await fixed_rate(pool, [f"/v1/customers/{i}" for i in ids], rate, 2)  # warm-up
    ours = await fixed_rate(pool, [f"/v1/customers/{i}" for i in ids], rate, seconds, psutil.Process(service_pid))
    await pool.aclose()
    ceiling = {}
    for name, paths, hdrs in (("healthz_same_service", ["/healthz"], {}), ("get_customer", [f"/v1/customers/{i}" for i in ids], headers)):
        pool = RawHttp(url, hdrs, CONNECTIONS)
        ceiling[name] = await closed_loop(pool, paths, int(rate * seconds / 2))
        await pool.aclose()
    return {"rate": rate, "seconds": seconds, "ours": ours, "baseline": baseline, "closed_loop_max_per_s": ceiling}


async def closed_loop(pool: RawHttp, paths: list[str], total: int) -> int:
    """Requests/s with every connection always busy: the ceiling of this process on this machine."""
    counter = iter(range(total))

    async def worker() -> None:
        for i in counter:
            await pool.get(paths[i % len(paths)])

    t = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return round(total / (time.perf_counter() - t))


GENERATE = """
INSERT INTO customers (id, kind, lifecycle, given_name, display_name, search_name, email, email_canonical, phone, country, language,
                       referral_code, total_spend, purchase_count, last_purchase_at, tier, nps_band, created_at, updated_at)
SELECT gen_random_uuid(), 'person', 'customer', 'Gen' || i, 'Gen ' || i, 'gen ' || i, 'gen' || i || '@seg.example', 'gen' || i || '@seg.example',
       '+9665' || lpad((i % 100000000)::text, 8, '0'),
       (ARRAY['SA', 'AE', 'KW', 'EG'])[1 + i % 4], 'ar', 'G' || lpad(i::text, 11, '0'),
       round((random() * 3000)::numeric, 2), 1 + (i % 20), now() - (random() * 730) * interval '1 day',
       (ARRAY['silver', 'gold', NULL])[1 + i % 3], (ARRAY['promoter', 'passive', 'detractor', NULL])[1 + i % 4], now(), now()
FROM generate_series($1::int, $2::int) AS i
"""


async def bench_segments(url: str, headers: dict[str, str], dsn: str, n: int) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        have = await conn.fetchval("SELECT count(*) FROM customers")
        t = time.perf_counter()
        step = 200_000
        for lo in range(1, n - have + 1, step):
            await conn.execute(GENERATE, lo, min(lo + step - 1, n - have))
        await conn.execute("ANALYZE customers")
        generated_s = time.perf_counter() - t
        total = await conn.fetchval("SELECT count(*) FROM customers")
        hand = []
        for _ in range(3):
            t = time.perf_counter()
            expected = await conn.fetchval(
                "SELECT count(*) FROM customers WHERE erased_at IS NULL AND country = 'SA' AND total_spend >= 1000"
                " AND last_purchase_at >= now() - interval '90 days'"
            )
            hand.append(time.perf_counter() - t)
    finally:
        await conn.close()
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=600) as client:
        t = time.perf_counter()
        r = await client.post("/v1/segments", json={"name": f"bench-{uuid.uuid4().hex[:6]}", "rule": RULE})
        create_s = time.perf_counter() - t
        seg = r.json()
        counts = []
        for _ in range(3):
            t = time.perf_counter()
            got = (await client.get(f"/v1/segments/{seg['id']}")).json()
            counts.append(time.perf_counter() - t)
        t = time.perf_counter()
        page = (await client.get(f"/v1/segments/{seg['id']}/members", params={"limit": 500})).json()
        page_s = time.perf_counter() - t
    assert got["member_count"] == expected, (got["member_count"], expected)
    return {
        "customers": total,
        "generated_s": round(generated_s, 1),
        "members": got["member_count"],
        "create_and_count_s": round(create_s, 3),
        "count_median_s": round(statistics.median(counts), 3),
        "first_page_500_s": round(page_s, 3),
        "page_items": len(page["items"]),
        "baseline_hand_sql_median_s": round(statistics.median(hand), 3),
        "ratio": round(statistics.median(counts) / statistics.median(hand), 2),
    }


async def drain_outbox(url: str, headers: dict[str, str]) -> float:
    """Seconds until the relay has published the import's events, so reads are measured alone."""
    t = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, headers=headers) as client:
        while (await client.get("/v1/ops/outbox")).json()["backlog"] > 0 and time.perf_counter() - t < 300:
            await asyncio.sleep(0.5)
    return round(time.perf_counter() - t, 1)


async def run(args: argparse.Namespace, p: Any) -> dict[str, Any]:
    url = service_url(p, "customer")
    headers = admin_headers()
    dsn = asyncpg_dsn(p.env["WAFA_CUSTOMER_DATABASE_URL"])
    out: dict[str, Any] = {}
    out["import"] = await bench_import(url, headers, dsn, args.import_rows)
    print("import", out["import"], flush=True)
    out["import"]["events_drained_s"] = await drain_outbox(url, headers)
    assert p.pg is not None
    with baseline_app(p.pg) as base:
        out["reads"] = await bench_reads(url, headers, dsn, base, args.rate, args.seconds, p.procs["customer"].pid)
    print("reads", out["reads"], flush=True)
    if args.segment_customers:
        out["segments"] = await bench_segments(url, headers, dsn, args.segment_customers)
        print("segments", out["segments"], flush=True)
    out["rss_mb"] = platform_rss_mb(p)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--import-rows", type=int, default=100_000)
    ap.add_argument("--rate", type=float, default=500)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--segment-customers", type=int, default=1_000_000)
    args = ap.parse_args()
    with platform(["customer"]) as p:
        result = asyncio.run(run(args, p))
    out = Path(__file__).parent / "results" / "customer.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
