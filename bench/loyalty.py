"""Loyalty benchmark: purchases (single and batch) with all earning rules on, and member lookups.

    .venv/bin/python bench/loyalty.py --members 2000 --single 5000 --batches 4 --batch-size 5000

Starts embedded PostgreSQL, the broker and the loyalty service as a real uvicorn process (as
`make run` does); the relay publishes every event to the broker while the load runs. The
baseline (`baseline_app.py`: bare FastAPI + asyncpg single insert / single-row read / the same
batch bodies parsed and stored in one multi-row insert) is measured in the same run against
the same PostgreSQL, and each ratio is printed.
Writes bench/results/loyalty.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from harness import LoadResult, admin_headers, baseline_app, http_load, platform, platform_rss_mb, print_table, service_url

CONCURRENCY = 32
T0 = datetime(2026, 3, 1, tzinfo=UTC)

PROGRAM = {
    "name": "bench",
    "currency": "SAR",
    "earn_rate": "1",
    "rounding": "down",
    "point_value": "0.05",
    "pending_days": 14,
    "expiry_mode": "fixed",
    "expiry_months": 12,
    "qualification_basis": "spend",
    "qualification_period": "rolling_12m",
    "rules": {
        "category_multipliers": [{"match": "perfume", "multiplier": "3"}, {"match": "grocery", "multiplier": "1.5"}],
        "sku_multipliers": [{"match": "SKU-7", "multiplier": "5", "valid_until": "2030-01-01T00:00:00+00:00"}],
        "birthday_multiplier": "2",
        "first_purchase_bonus": "50",
        "referral_bonus": "500",
        "survey_bonus": "25",
    },
    "tiers": [{"name": "Silver", "threshold": "0"}, {"name": "Gold", "threshold": "2000", "earn_multiplier": "1.5"}],
}


def purchase(members: list[str], i: int, prefix: str) -> dict[str, Any]:
    return {
        "customer_id": members[i % len(members)],
        "order_id": f"{prefix}-{i}",
        "occurred_at": (T0 + timedelta(minutes=i % 10000)).isoformat(),
        "currency": "SAR",
        "channel": "pos",
        "store": f"store-{i % 20}",
        "lines": [
            {"sku": f"SKU-{i % 10}", "category": "perfume" if i % 3 == 0 else "grocery", "quantity": "2", "unit_price": "12.50"},
            {"sku": "SKU-7", "category": "gift", "quantity": "1", "unit_price": "30.00"},
        ],
    }


async def run(args: argparse.Namespace, p: Any) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    url = service_url(p, "loyalty")
    headers = admin_headers()
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as client:
        r = await client.post("/v1/programs", json=PROGRAM)
        r.raise_for_status()
    members = [str(uuid.uuid4()) for _ in range(args.members)]
    enrol = await http_load(
        url + "/v1/members",
        total=len(members),
        concurrency=CONCURRENCY,
        body=lambda i: {"customer_id": members[i], "birth_date": f"1990-{1 + i % 12:02d}-15"},
        headers=headers,
    )
    assert enrol.errors == 0, "enrolment failed"
    assert p.pg is not None
    with baseline_app(p.pg) as base:
        base_insert = await http_load(
            base + "/items", total=args.single, concurrency=CONCURRENCY, body=lambda i: {"customer_id": members[i % len(members)], "amount": "55.00"}
        )
        single = await http_load(url + "/v1/purchases", total=args.single, concurrency=CONCURRENCY, body=lambda i: purchase(members, i, "s"), headers=headers)
        rows.append(single.row(f"POST /v1/purchases (c={CONCURRENCY})", base_insert))

        # batch: `batches` calls of `batch_size`, 4 in flight, against the bare batch insert first
        base_batch = await _batches(base + "/orders/batch", members, args, "o", {})
        batch = await _batches(url + "/v1/purchases/batch", members, args, "b", headers)
        rows.append(batch.row(f"POST /v1/purchases/batch ({args.batch_size}/call)", base_batch))

        base_ids: list[str] = []
        async with httpx.AsyncClient(base_url=base) as client:
            for _ in range(50):
                base_ids.append((await client.post("/items", json={"customer_id": "x", "amount": "1"})).json()["id"])
        for conc in (1, CONCURRENCY):
            base_read = await http_load(f"{base}/items/{base_ids[0]}", total=args.lookups, concurrency=conc, method="GET")
            lookup = await _lookups(url, members, args.lookups, conc, headers)
            rows.append(lookup.row(f"GET /v1/members/{{id}} (c={conc})", base_read))
    rss = platform_rss_mb(p)
    print_table(rows)
    return {"rows": rows, "members": args.members, "rss_mb": rss}


async def _batches(url: str, members: list[str], args: argparse.Namespace, prefix: str, headers: dict[str, str]) -> LoadResult:
    """`batches` calls of `batch_size` purchases, 4 in flight; counted in purchases."""
    latencies: list[float] = []
    errors = 0
    sem = asyncio.Semaphore(min(4, args.batches))
    bodies = [{"purchases": [purchase(members, b * args.batch_size + i, prefix) for i in range(args.batch_size)]} for b in range(args.batches)]
    async with httpx.AsyncClient(headers=headers, timeout=600) as client:

        async def one(body: dict[str, Any]) -> None:
            nonlocal errors
            async with sem:
                t = time.perf_counter()
                r = await client.post(url, json=body)
                latencies.append((time.perf_counter() - t) * 1000)
                if r.status_code != 200 or r.json().get("failed"):
                    errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(one(body) for body in bodies))
        seconds = time.perf_counter() - t0
    latencies.sort()
    return LoadResult(args.batches * args.batch_size, errors, seconds, latencies[len(latencies) // 2], latencies[-1])


async def _lookups(url: str, members: list[str], total: int, concurrency: int, headers: dict[str, str]) -> LoadResult:
    latencies: list[float] = []
    counter = iter(range(total))
    errors = 0
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=httpx.Limits(max_connections=concurrency)) as client:

        async def worker() -> None:
            nonlocal errors
            for i in counter:
                t = time.perf_counter()
                r = await client.get(f"/v1/members/{members[i % len(members)]}")
                latencies.append((time.perf_counter() - t) * 1000)
                errors += r.status_code != 200

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - t0
    latencies.sort()
    return LoadResult(total, errors, seconds, latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99) - 1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=2000)
    ap.add_argument("--single", type=int, default=5000)
    ap.add_argument("--batches", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=5000)
    ap.add_argument("--lookups", type=int, default=3000)
    args = ap.parse_args()
    os.environ["WAFA_LOYALTY_RATE_LIMIT_PER_S"] = "0"  # measure the service, not the per-client limiter
    with platform(["loyalty"]) as p:
        result = asyncio.run(run(args, p))
    out = Path(__file__).parent / "results" / "loyalty.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
