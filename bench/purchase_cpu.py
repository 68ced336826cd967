"""Where a single purchase's CPU goes: loyalty alone, `POST /v1/purchases` at c=32 through wrk,
process CPU (user + system) of the loyalty service, its PostgreSQL (postmaster and backends)
and the broker, divided by the purchases recorded. Use it to see which side an optimisation
moved; the throughput table with its same-run baseline is `wrk_http.py`.

    .venv/bin/python bench/purchase_cpu.py --seconds 12
    WAFA_LOYALTY_PURCHASE_LANES=3 .venv/bin/python bench/purchase_cpu.py   # a setting to compare
"""

from __future__ import annotations

import argparse
import asyncio

import psutil
from harness import admin_headers, cpu_snapshot, cpu_used, platform, postgres_processes, service_url
from wrk_http import PURCHASE, setup, wrk


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=12)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--connections", type=int, default=32)
    args = ap.parse_args()
    token = admin_headers()["Authorization"].split()[1]
    with platform(["loyalty"]) as p:
        url = service_url(p, "loyalty")
        members = asyncio.run(setup(url, 500))
        wrk(url, PURCHASE, members, token, args.warmup, args.connections)
        assert p.pg is not None and p.broker is not None and p.broker.proc is not None
        sides = {
            "loyalty": lambda: [psutil.Process(x.pid) for x in p.procs.values()],
            "postgres": lambda: postgres_processes(p.pg),  # type: ignore[arg-type]
            "broker": lambda: [psutil.Process(p.broker.proc.pid)],  # type: ignore[union-attr]
        }
        before = {name: cpu_snapshot(procs()) for name, procs in sides.items()}
        result = wrk(url, PURCHASE, members, token, args.seconds, args.connections)
        used = {name: cpu_used(before[name], procs()) for name, procs in sides.items()}
    n = result["per_s"] * args.seconds
    print(f"POST /v1/purchases c={args.connections}: {result['per_s']:.0f}/s, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, errors {result['errors']}")
    print("CPU per purchase: " + ", ".join(f"{name} {1e6 * used[name] / n:.0f} µs" for name in sides))


if __name__ == "__main__":
    main()
