"""Analytics benchmark: CLV model fits, event consumption into the read model, KPI queries.

    .venv/bin/python bench/analytics.py [--lifetimes-python PATH] [--customers 1000000]
                                        [--events 50000] [--purchases 10000000] [--skip-db]
                                        [--skip-fits] [--only-purchases]

- BG/NBD fit on CDNOW (2357 customers): ours vs the `lifetimes` package (0.11.3) on the same CSV
  in the same run. `lifetimes` runs in its own virtualenv (it is not a dependency of Wafa):
  `python3 -m venv /tmp/lt-venv && /tmp/lt-venv/bin/pip install lifetimes==0.11.3`, then pass
  `--lifetimes-python /tmp/lt-venv/bin/python`. Times are the median of 7 fits after a warm-up.
- BG/NBD + Gamma-Gamma fits over `--customers` simulated customers (continuous t_x and T, so
  nothing collapses).
- Event consumption: `--events` mixed events (purchases, responses, touches) pre-produced to the
  topics, then the analytics consumer applies them into the read model (embedded PostgreSQL and
  broker); events/s from consumer start to the last inbox row.
- KPI query: `--purchases` purchases by purchases/10 customers over three years, generated inside
  PostgreSQL; time of the KPI facts query for a quarter and for a year (median of 3).

Writes bench/results/analytics.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from harness import remove_home

ROOT = Path(__file__).resolve().parent.parent
CDNOW = ROOT / "services/analytics/tests/data/cdnow_customers_summary_with_transactions.csv"

LIFETIMES_SCRIPT = """
import json, statistics, sys, time
import pandas as pd
from lifetimes import BetaGeoFitter
d = pd.read_csv(sys.argv[1])
BetaGeoFitter().fit(d["x"], d["t_x"], d["T"])
times = []
for _ in range(7):
    t = time.perf_counter(); f = BetaGeoFitter(); f.fit(d["x"], d["t_x"], d["T"]); times.append(time.perf_counter() - t)
print(json.dumps({"seconds": statistics.median(times), "params": {k: float(v) for k, v in f.params_.items()}}))
"""


def bench_cdnow(lifetimes_python: str | None) -> dict[str, Any]:
    from wafa_analytics.domain import bgnbd

    d = np.genfromtxt(CDNOW, delimiter=",", names=True)
    bgnbd.fit(d["x"], d["t_x"], d["T"])
    times = []
    for _ in range(7):
        t = time.perf_counter()
        res = bgnbd.fit(d["x"], d["t_x"], d["T"])
        times.append(time.perf_counter() - t)
    out: dict[str, Any] = {
        "ours_s": statistics.median(times),
        "ours_params": res.params.__dict__,
        "published": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    }
    if lifetimes_python:
        proc = subprocess.run([lifetimes_python, "-c", LIFETIMES_SCRIPT, str(CDNOW)], capture_output=True, text=True, check=True)
        lt = json.loads(proc.stdout.strip().splitlines()[-1])
        out["lifetimes_s"] = lt["seconds"]
        out["lifetimes_params"] = lt["params"]
        out["speedup"] = lt["seconds"] / out["ours_s"]
        out["max_param_diff"] = max(abs(out["ours_params"][k] - lt["params"][k]) for k in ("r", "alpha", "a", "b"))
    return out


def simulate(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """BG/NBD customers (r=0.25, alpha=4.5, a=0.8, b=2.5), T ~ U(20, 80) weeks, spend ~ Gamma-Gamma."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(0.25, 1 / 4.5, n)
    p = rng.beta(0.8, 2.5, n)
    T = rng.uniform(20, 80, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    now = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        now[idx] += rng.exponential(1 / np.maximum(lam[idx], 1e-12))
        bought = now[idx] < T[idx]
        hit = idx[bought]
        x[hit] += 1
        t_x[hit] = now[hit]
        alive[idx[~bought]] = False
        drop = hit[rng.random(len(hit)) < p[hit]]
        alive[drop] = False
    nu = rng.gamma(3.7, 1 / 15.4, n)
    m = np.where(x > 0, rng.gamma(6.25 * np.maximum(x, 1), 1 / (nu * np.maximum(x, 1))), 0.0)
    return x, t_x, T, m


def bench_large_fit(n: int) -> dict[str, Any]:
    from wafa_analytics.domain import bgnbd, gammagamma

    x, t_x, T, m = simulate(n)
    t = time.perf_counter()
    bg = bgnbd.fit(x, t_x, T)
    bg_s = time.perf_counter() - t
    t = time.perf_counter()
    gg = gammagamma.fit(x, m)
    gg_s = time.perf_counter() - t
    return {"customers": n, "bgnbd_s": bg_s, "bgnbd_params": bg.params.__dict__, "gamma_gamma_s": gg_s, "gamma_gamma_params": gg.params.__dict__}


async def bench_db(n_events: int, n_purchases: int, mixed: bool = True) -> dict[str, Any]:
    from aiokafka import AIOKafkaProducer
    from prometheus_client import REGISTRY
    from sqlalchemy import text

    from wafa_analytics import ingest, repository, service
    from wafa_analytics.app import SPEC
    from wafa_analytics.events import CONSUMERS
    from wafa_analytics.settings import Settings
    from wafa_shared.embedded.broker import EmbeddedBroker, free_port
    from wafa_shared.embedded.postgres import EmbeddedPostgres
    from wafa_shared.events import loyalty as lo
    from wafa_shared.events import new_event
    from wafa_shared.events import survey as sv
    from wafa_shared.events import touch as to
    from wafa_shared.kafka import all_topics, ensure_topics
    from wafa_shared.lifecycle import Runtime
    from wafa_shared.migrations import upgrade

    home = Path(tempfile.mkdtemp(prefix="wafa-bench-analytics-"))
    pg = EmbeddedPostgres(home / "pg", free_port())
    broker = EmbeddedBroker(free_port())
    pg.start()
    broker.start()
    out: dict[str, Any] = {}
    try:
        url = pg.url("bench_analytics")
        await upgrade(url, SPEC.migrations_dir)
        prefix = f"b{uuid.uuid4().hex[:6]}."
        settings = Settings(database_url=url, topic_prefix=prefix, kafka_bootstrap_servers=broker.bootstrap, db_pool_size=5)
        runtime = Runtime(SPEC, settings)  # what handlers reach via runtime_of
        engine, sessions = runtime.engine, runtime.sessions
        await ensure_topics(broker.bootstrap, all_topics(prefix), 6)

        # 1. consumption: 60 % purchases, 20 % touches, 20 % survey responses
        rng = np.random.default_rng(3)
        base = datetime(2025, 1, 1, tzinfo=UTC)
        events = []
        for i in range(n_events):
            cid = uuid.UUID(int=int(rng.integers(1, 20000)))
            when = base + timedelta(minutes=int(rng.integers(0, 525600)))
            k = i % 5 if mixed else 0
            if k < 3:
                data: Any = lo.PurchaseRecorded(
                    purchase_id=uuid.uuid4(), customer_id=cid, order_id=str(i), amount=Decimal(int(rng.integers(5, 500))), currency="SAR", occurred_at=when
                )
            elif k == 3:
                data = to.TouchSent(touch_id=uuid.uuid4(), customer_id=cid, channel="email", sent_at=when)
            else:
                data = sv.ResponseSubmitted(
                    response_id=uuid.uuid4(), survey_id=uuid.uuid4(), survey_kind="nps", customer_id=cid, nps=int(rng.integers(7, 11)), submitted_at=when
                )
            events.append(new_event(data, source="bench", subject=cid))
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=5, max_batch_size=512 * 1024)
        await producer.start()
        futures = [await producer.send(prefix + _topic(e.type), e.to_json(), key=str(e.subject).encode()) for e in events]
        await asyncio.gather(*futures)
        await producer.stop()
        # What a running service holds: not the 100k produced events, and its start-up objects
        # frozen out of the collector's sight (as `wafa_shared.app` does).
        del events, futures
        gc.collect()
        gc.freeze()
        consumer = runtime.consumers[0]  # built as the service builds it (batch size, session timeout)
        applied = {"service": "analytics", "consumer": CONSUMERS[0].name, "result": "applied"}
        before = REGISTRY.get_sample_value("wafa_events_consumed_total", applied) or 0.0
        start = time.perf_counter()
        task = asyncio.create_task(consumer.run())
        while not consumer.connected:  # joined the group, partitions assigned
            await asyncio.sleep(0.005)
        joined = time.perf_counter()
        # Watch the consumer's own counter (bumped after each commit), not `count(*)` every 50 ms:
        # that scan competed with the consumer for the database's CPU. The inbox confirms.
        while (REGISTRY.get_sample_value("wafa_events_consumed_total", applied) or 0.0) - before < n_events:
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - start
        consumer.stop()
        await task
        async with sessions() as s:
            assert (await s.execute(text("SELECT count(*) FROM inbox"))).scalar_one() == n_events
        out["consumption"] = {
            "events": n_events,
            "seconds": elapsed,
            "events_per_s": n_events / elapsed,
            "join_s": joined - start,
            "events_per_s_after_join": n_events / (elapsed - (joined - start)),
            "note": "events_per_s includes the consumer-group join (join_s: Tansu answers JoinGroup after session_timeout/2 = 5 s)",
        }

        # 2. KPI query over many purchases, generated in PostgreSQL
        if n_purchases:
            customers = max(1, n_purchases // 10)
            t = time.perf_counter()
            async with sessions() as s, s.begin():
                await s.execute(text("TRUNCATE a_purchases, a_customers, a_daily, a_touches, a_responses, a_spells, inbox"))
                await s.execute(text("SET LOCAL synchronous_commit = off"))
                # bulk load without the secondary indexes, then build them (as a restore would)
                await s.execute(text("DROP INDEX ix_a_purchases_occurred_at, ix_a_purchases_customer_occurred"))
                await s.execute(
                    text(f"""
INSERT INTO a_purchases (purchase_id, customer_id, amount, currency, occurred_at, prev_at, prev2_at)
SELECT purchase_id, customer_id, amount, currency, occurred_at, lag(occurred_at) OVER w, lag(occurred_at, 2) OVER w FROM (
SELECT gen_random_uuid() AS purchase_id, ('00000000-0000-0000-0000-' || lpad(to_hex((random() * {customers})::bigint), 12, '0'))::uuid AS customer_id,
round((random() * 300 + 5)::numeric, 2) AS amount, 'SAR' AS currency, timestamptz '2023-01-01' + random() * interval '1095 days' AS occurred_at
FROM generate_series(1, {n_purchases})) g WINDOW w AS (PARTITION BY customer_id ORDER BY occurred_at, purchase_id)""")
                )
                await s.execute(
                    text("""INSERT INTO a_customers (customer_id, first_purchase_at, last_purchase_at, purchase_count, revenue)
SELECT customer_id, min(occurred_at), max(occurred_at), count(*), sum(amount) FROM a_purchases GROUP BY 1""")
                )
                await s.execute(
                    text("CREATE INDEX ix_a_purchases_occurred_at ON a_purchases (occurred_at) INCLUDE (customer_id, currency, amount, prev_at, prev2_at)")
                )
                await s.execute(text("CREATE INDEX ix_a_purchases_customer_occurred ON a_purchases (customer_id, occurred_at)"))
                t_spells = time.perf_counter()
                await ingest.rebuild_spells(s, 365)
                spells_s = time.perf_counter() - t_spells
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("VACUUM ANALYZE a_purchases"))
                await conn.execute(text("VACUUM ANALYZE a_customers"))
                await conn.execute(text("VACUUM ANALYZE a_spells"))
            load_s = time.perf_counter() - t
            settings = Settings(database_url=url)
            rates = service.rates(settings)
            timings: dict[str, float] = {}
            for label, (a, b) in {"quarter": ("2025-07-01", "2025-10-01"), "year": ("2025-01-01", "2026-01-01")}.items():
                runs = []
                for _ in range(3):
                    async with sessions() as s:
                        t = time.perf_counter()
                        await repository.kpi_facts(
                            s,
                            datetime.fromisoformat(a).replace(tzinfo=UTC),
                            datetime.fromisoformat(b).replace(tzinfo=UTC),
                            segment=None,
                            currency="SAR",
                            rates=rates,
                        )
                        runs.append(time.perf_counter() - t)
                timings[label] = statistics.median(runs)
            out["kpi_query"] = {"purchases": n_purchases, "customers": customers, "load_s": load_s, "spells_rebuild_s": spells_s, "seconds": timings}
        await engine.dispose()
    finally:
        broker.stop()
        pg.stop()
        remove_home(home)
    return out


def _topic(event_type: str) -> str:
    from wafa_shared.events import CATALOG

    return CATALOG.schema(event_type).topic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lifetimes-python", default=None)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--purchases", type=int, default=10_000_000)
    parser.add_argument("--skip-db", action="store_true")
    parser.add_argument("--only-purchases", action="store_true", help="consume purchases only (no type interleaving)")
    parser.add_argument("--skip-fits", action="store_true", help="skip the CLV fits (keep their last numbers)")
    args = parser.parse_args()
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    previous = json.loads((out / "analytics.json").read_text()) if (out / "analytics.json").exists() else {}
    if args.skip_fits:  # keep the last fit numbers, if any
        result: dict[str, Any] = {k: v for k, v in previous.items() if k in ("cdnow_bgnbd", "large_fit")}
    else:
        result = {"cdnow_bgnbd": bench_cdnow(args.lifetimes_python), "large_fit": bench_large_fit(args.customers)}
    if not args.skip_db:
        result.update(asyncio.run(bench_db(args.events, args.purchases, mixed=not args.only_purchases)))
    else:  # keep the last database numbers
        result.update({k: v for k, v in previous.items() if k in ("consumption", "kpi_query")})
    (out / "analytics.json").write_text(json.dumps(result, indent=2, default=str))
    if "cdnow_bgnbd" in result:
        c = result["cdnow_bgnbd"]
        print(f"BG/NBD on CDNOW: ours {c['ours_s'] * 1000:.1f} ms", end="")
        if "lifetimes_s" in c:
            print(f", lifetimes {c['lifetimes_s'] * 1000:.1f} ms, speed-up x{c['speedup']:.2f}, max |param diff| {c['max_param_diff']:.2e}")
        else:
            print(" (lifetimes not run: pass --lifetimes-python)")
    if "large_fit" in result:
        lf = result["large_fit"]
        print(f"Fits over {lf['customers']:,} customers: BG/NBD {lf['bgnbd_s']:.2f} s, Gamma-Gamma {lf['gamma_gamma_s']:.2f} s")
    if "consumption" in result:
        co = result["consumption"]
        print(f"Consumption: {co['events_per_s']:,.0f} events/s ({co['events']:,} events)", end="")
        if "join_s" in co:
            print(f"; {co['events_per_s_after_join']:,.0f} events/s after the group join ({co['join_s']:.1f} s)", end="")
        print()
    if "kpi_query" in result:
        k = result["kpi_query"]
        print(
            f"KPI query over {k['purchases']:,} purchases: quarter {k['seconds']['quarter']:.3f} s, year {k['seconds']['year']:.3f} s (load {k['load_s']:.0f} s)"  # noqa: E501
        )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "services/analytics"))
    main()
