"""Benchmark harness: start embedded PostgreSQL, the broker and chosen services as real
processes, drive HTTP load, and report throughput, p50/p99 latency and RSS.

Every scenario is measured next to a baseline in the same run (`baseline_app.py`: a bare
FastAPI + asyncpg single-insert endpoint), and the ratio is printed.
"""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from wafa_shared.auth import mint_token
from wafa_shared.embedded.broker import EmbeddedBroker, free_port
from wafa_shared.embedded.postgres import EmbeddedPostgres
from wafa_shared.launcher import Platform
from wafa_shared.settings import DEV_JWT_SECRET

BENCH_DIR = Path(__file__).parent


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def per_s(self) -> float:
        return self.requests / self.seconds

    def row(self, name: str, baseline: LoadResult | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "scenario": name,
            "requests": self.requests,
            "errors": self.errors,
            "per_s": round(self.per_s),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
        }
        if baseline is not None:
            out["baseline_per_s"] = round(baseline.per_s)
            out["ratio"] = round(self.per_s / baseline.per_s, 3)
        return out


async def http_load(
    url: str,
    *,
    total: int,
    concurrency: int,
    method: str = "POST",
    body: Callable[[int], Any] | None = None,
    headers: dict[str, str] | None = None,
    ok: Callable[[int], bool] = lambda status: status < 400,
) -> LoadResult:
    """Send `total` requests with `concurrency` in flight; latency per request."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    # Idle connections expire before uvicorn's 5 s keep-alive timeout: at the same 5 s, the
    # server could close one just as a request was sent on it (httpx.ReadError mid-run).
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency, keepalive_expiry=2)
    async with httpx.AsyncClient(limits=limits, timeout=30, headers=headers) as client:

        async def worker() -> None:
            nonlocal errors
            for i in counter:
                start = time.perf_counter()
                r = await client.request(method, url, json=body(i) if body else None)
                latencies.append((time.perf_counter() - start) * 1000)
                if not ok(r.status_code):
                    errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - t0
    latencies.sort()
    return LoadResult(total, errors, seconds, statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1])


@contextmanager
def steady_generator() -> Iterator[None]:
    """No garbage-collector pauses in the load generator while it measures.

    A full collection over the generator's heap (clients, result lists, thousands of request
    tasks) stalls its event loop for 100-250 ms on this machine; every request due in that
    window is then counted late, so the p99 measured the generator, not the server (the
    baseline's p99 too). Collect once, freeze what survives, and collect again afterwards."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()
        gc.collect()


@contextmanager
def platform(services: list[str]) -> Iterator[Platform]:
    """Embedded PostgreSQL + broker + the named services, as `make run` starts them."""
    home = Path(tempfile.mkdtemp(prefix="wafa-bench-"))
    saved = dict(os.environ)
    os.environ.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    p = Platform(home, free_port(), free_port())
    p.env["WAFA_LOG_LEVEL"] = "WARNING"
    for name in services:
        from wafa_shared.services import SERVICES

        info = next(s for s in SERVICES if s.name == name)
        p.env[f"{info.env_prefix}PORT"] = str(free_port())
        p.env[f"{info.env_prefix}RATE_LIMIT_PER_S"] = "0"  # one load generator is one client
    try:
        p.start_infra()
        p.migrate(only=services)
        p.start_services(only=services)
        yield p
    finally:
        p.stop()
        os.environ.clear()
        os.environ.update(saved)
        remove_home(home)


def remove_home(home: Path) -> None:
    """Delete a run's data directory (PostgreSQL, logs): a 100k-enrolment run leaves 3 GB, and
    a few dozen runs filled the disk. `WAFA_BENCH_KEEP=1` keeps it to look at."""
    if os.environ.get("WAFA_BENCH_KEEP") != "1":
        shutil.rmtree(home, ignore_errors=True)


def service_url(p: Platform, name: str) -> str:
    from wafa_shared.services import SERVICES

    info = next(s for s in SERVICES if s.name == name)
    return f"http://127.0.0.1:{p.env[f'{info.env_prefix}PORT']}"


def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(DEV_JWT_SECRET, 'bench', ['admin'])}"}


@contextmanager
def baseline_app(pg: EmbeddedPostgres) -> Iterator[str]:
    """The bare FastAPI + asyncpg single-insert endpoint, as its own uvicorn process."""
    port = free_port()
    env = {**os.environ, "BASELINE_DSN": pg.url("wafa_baseline").replace("+asyncpg", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "baseline_app:app", "--port", str(port), "--no-access-log", "--loop", "uvloop", "--log-level", "warning"],
        cwd=BENCH_DIR,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def platform_processes(p: Platform) -> list[psutil.Process]:
    """The services', PostgreSQL's (postmaster and backends) and the broker's processes."""
    procs = [psutil.Process(x.pid) for x in p.procs.values()]
    if p.pg is not None:
        procs += postgres_processes(p.pg)
    if p.broker is not None and p.broker.proc is not None:
        procs.append(psutil.Process(p.broker.proc.pid))
    return procs


def platform_rss_mb(p: Platform) -> int:
    """Memory of the services, PostgreSQL and the broker, in MB (proportional set size: RSS
    summed over PostgreSQL's backends counted its shared buffers once per backend)."""
    return round(sum(pss(x) for x in platform_processes(p)) / 1e6)


def platform_cpu_seconds(p: Platform) -> float:
    """CPU time used so far by the platform's live processes (user + system)."""
    return cpu_seconds(platform_processes(p))


def cpu_seconds(procs: list[psutil.Process]) -> float:
    """CPU time used so far by these processes (user + system; ended ones count nothing)."""
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def cpu_snapshot(procs: list[psutil.Process]) -> dict[int, float]:
    """CPU time so far per process id, for `cpu_used` (which also counts processes started since)."""
    return {proc.pid: cpu_seconds([proc]) for proc in procs}


def cpu_used(before: dict[int, float], procs: list[psutil.Process]) -> float:
    """CPU time these processes used since `before`; one started since counts from its start
    (a pool that opens a connection mid-run starts a new PostgreSQL backend)."""
    return sum(cpu_seconds([proc]) - before.get(proc.pid, 0.0) for proc in procs)


def postgres_rss(pg: EmbeddedPostgres) -> int:
    """Bytes resident in this PostgreSQL's processes only (other benchmarks may run beside it)."""
    return sum(pss(x) for x in postgres_processes(pg))


def postgres_processes(pg: EmbeddedPostgres) -> list[psutil.Process]:
    """The postmaster and its children (backends, background workers)."""
    postmaster = pg.pid()
    if postmaster is None:
        return []
    root = psutil.Process(postmaster)
    return [root, *root.children()]


def pss(proc: psutil.Process) -> int:
    """A process's proportional set size: a page shared by n processes counts 1/n in each
    (RSS counts PostgreSQL's shared buffers once per backend that touched them)."""
    try:
        return int(proc.memory_full_info().pss)
    except psutil.NoSuchProcess:  # a backend that ended meanwhile
        return 0


def print_table(rows: list[dict[str, Any]]) -> None:
    cols = ["scenario", "requests", "errors", "per_s", "p50_ms", "p99_ms", "baseline_per_s", "ratio"]
    print("  ".join(f"{c:>14}" if c != "scenario" else f"{c:<36}" for c in cols))
    for r in rows:
        print("  ".join(f"{r.get(c, ''):>14}" if c != "scenario" else f"{r[c]:<36}" for c in cols))


__all__ = ["EmbeddedBroker", "LoadResult", "admin_headers", "baseline_app", "http_load", "platform", "print_table", "service_url"]
