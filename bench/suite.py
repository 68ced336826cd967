"""`make bench`: every scenario, one after the other, each on its own fresh platform, then one
table (and bench/results/summary.json, bench/RESULTS.md) of throughput, latency, end-to-end
lag and memory, each next to the baseline measured in the same run and the ratio.

    .venv/bin/python bench/suite.py            # the whole suite (about 10 minutes here)
    .venv/bin/python bench/suite.py --quick    # small sizes, to check the suite itself
    .venv/bin/python bench/suite.py --only loyalty mixed
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).parent
RESULTS = BENCH / "results"
Row = dict[str, Any]

# scenario -> (script args, quick args); sizes chosen so the suite takes minutes, not hours
SCENARIOS: dict[str, tuple[list[str], list[str]]] = {
    "bus": (["bus.py", "--events", "50000"], ["bus.py", "--events", "5000"]),
    "loyalty": (["loyalty.py"], ["loyalty.py", "--members", "200", "--single", "500", "--batches", "2", "--batch-size", "1000", "--lookups", "300"]),
    "wrk_http": (["wrk_http.py", "--seconds", "10"], ["wrk_http.py", "--seconds", "3"]),
    "customer": (
        ["customer.py", "--import-rows", "100000", "--seconds", "20", "--segment-customers", "200000"],
        ["customer.py", "--import-rows", "5000", "--seconds", "3", "--segment-customers", "20000"],
    ),
    "survey": (["survey.py"], ["survey.py", "--responses", "500", "--results-rows", "5000"]),
    "touch": (["touch.py", "--enrolments", "20000", "--dispatch", "5000"], ["touch.py", "--enrolments", "1000", "--dispatch", "500"]),
    "analytics": (
        ["analytics.py", "--customers", "200000", "--events", "50000", "--purchases", "2000000"],
        ["analytics.py", "--customers", "10000", "--events", "5000", "--purchases", "100000"],
    ),
    "mixed": (["mixed.py", "--seconds", "60", "--purchases-per-s", "500"], ["mixed.py", "--seconds", "5", "--purchases-per-s", "100", "--customers", "200"]),
}


def row(scenario: str, value: float | None, unit: str, baseline: float | None = None, *, p50: float | None = None, p99: float | None = None) -> Row:
    out: Row = {"scenario": scenario, "value": None if value is None else round(value, 3), "unit": unit, "p50_ms": p50, "p99_ms": p99}
    if baseline:
        out["baseline"] = round(baseline, 3)
        out["ratio"] = round(value / baseline, 3) if value is not None else None
    return out


def _http_rows(d: dict[str, Any]) -> list[Row]:
    return [
        row(
            r["scenario"], r["per_s"], "purchases/s" if "batch" in r["scenario"] else "req/s", r.get("baseline_per_s"), p50=r.get("p50_ms"), p99=r.get("p99_ms")
        )
        for r in d["rows"]
    ]


def _bus(d: dict[str, Any]) -> list[Row]:
    return [
        row("bus: outbox -> Kafka -> inbox", d["outbox_kafka_inbox_events_per_s"], "events/s", d["raw_aiokafka_events_per_s"]),
        row("bus: outbox writes", d["outbox_write_events_per_s"], "events/s"),
    ]


def _customer(d: dict[str, Any]) -> list[Row]:
    i, r, s = d["import"], d["reads"], d["segments"]
    return [
        row(f"customer import ({i['rows']} rows)", i["rows_per_s"], "rows/s", i["rows"] / i["baseline_copy_seconds"]),
        row(
            f"GET /v1/customers/{{id}} at {r['rate']}/s",
            r["ours"]["achieved_per_s"],
            "req/s",
            r["baseline"]["achieved_per_s"],
            p50=r["ours"]["p50_ms"],
            p99=r["ours"]["p99_ms"],
        ),
        row(f"segment count ({s['customers']} customers)", s["count_median_s"], "s", s["baseline_hand_sql_median_s"]),
    ]


def _survey(d: dict[str, Any]) -> list[Row]:
    return [
        row("POST /v1/responses", d["responses_per_s"], "req/s", d["healthz_baseline_per_s"]),
        row(f"survey results ({d['results_rows']} responses)", d["results_median_s"]["plain"], "s", d["raw_sql_scan_baseline_s"]),
    ]


def _touch(d: dict[str, Any]) -> list[Row]:
    m, x = d["materialise"], d["dispatch"]
    return [
        row(f"touch materialise ({m['enrolments']} enrolments)", m["enrolments_per_s"], "enrolments/s"),
        row("touch materialise: touch rows", m["touches_per_s"], "rows/s", m["touches"] / m["baseline_copy_seconds"]),
        row(f"touch dispatch ({x['touches']})", x["touches_per_s"], "touches/s", x["baseline_per_s"]),
    ]


def _analytics(d: dict[str, Any]) -> list[Row]:
    c, f, k = d["cdnow_bgnbd"], d["large_fit"], d["kpi_query"]
    return [
        row("BG/NBD fit, CDNOW (2,357 customers)", c["ours_s"], "s", c.get("lifetimes_s")),  # baseline: --lifetimes-python
        row(f"BG/NBD fit ({f['customers']} customers)", f["bgnbd_s"], "s"),
        row("analytics consumption", d["consumption"]["events_per_s"], "events/s"),
        *(row(f"KPIs of a {period} ({k['purchases']} purchases)", s, "s") for period, s in k["seconds"].items()),
    ]


def _mixed(d: dict[str, Any]) -> list[Row]:
    out = [row(r["scenario"], r.get("per_s"), "req/s", p50=r["p50_ms"], p99=r["p99_ms"]) | {"errors": r["errors"]} for r in d["rows"]]
    lag = d["lag"]
    out.append(row(f"e2e lag to analytics at {d['rate_per_s']:.0f} purchases/s", lag["analytics_p99_s"], "s p99") | {"p50_s": lag["analytics_p50_s"]})
    out.append(row("e2e lag to touch schedule", lag["touch_schedule_p99_s"], "s p99") | {"p50_s": lag["touch_schedule_p50_s"]})
    return out


EXTRACT: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "bus": _bus,
    "loyalty": _http_rows,
    "wrk_http": _http_rows,
    "customer": _customer,
    "survey": _survey,
    "touch": _touch,
    "analytics": _analytics,
    "mixed": _mixed,
}


def run_scenario(name: str, quick: bool) -> tuple[list[Row], int | None, float]:
    args = SCENARIOS[name][1 if quick else 0]
    if name == "wrk_http" and shutil.which("wrk") is None:
        print("  (skipped: wrk is not installed; `apt-get install wrk`)", flush=True)
        return [], None, 0.0
    (RESULTS / f"{name}.json").unlink(missing_ok=True)
    t = time.monotonic()
    subprocess.run([sys.executable, *args], cwd=BENCH, check=True, env={**os.environ, "WAFA_LOG_LEVEL": "WARNING"})
    data = json.loads((RESULTS / f"{name}.json").read_text())
    return EXTRACT[name](data), data.get("rss_mb"), time.monotonic() - t


def table(rows: list[Row]) -> str:
    lines = ["| scenario | value | unit | p50 ms | p99 ms | baseline | ratio |", "|---|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        cells = [r["scenario"], r["value"], r["unit"], r.get("p50_ms"), r.get("p99_ms"), r.get("baseline"), r.get("ratio")]
        lines.append("| " + " | ".join("" if c is None else str(c) for c in cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", nargs="*", choices=list(SCENARIOS), default=None)
    args = ap.parse_args()
    RESULTS.mkdir(exist_ok=True)
    rows: list[Row] = []
    rss: dict[str, int] = {}
    for name in args.only or list(SCENARIOS):
        print(f"== {name}", flush=True)
        got, mb, seconds = run_scenario(name, args.quick)
        rows += got
        if mb:
            rss[name] = mb
        print(f"  ({seconds:.0f} s)", flush=True)
    summary = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        "quick": args.quick,
        "rows": rows,
        "rss_mb_after_each_scenario": rss,
    }
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2))
    text = table(rows)
    print("\n" + text)
    print(f"\nRSS after each scenario (services + PostgreSQL + broker, MB): {rss}")
    if not args.quick and not args.only:
        (BENCH / "RESULTS.md").write_text(
            f"# Benchmark results\n\n`make bench` on {summary['machine']}, {summary['when']}. Each row's baseline was measured "
            "in the same run (bare FastAPI + asyncpg for HTTP, raw aiokafka for the bus, COPY for bulk writes, "
            "hand-written SQL for queries, the `lifetimes` package for model fits); for seconds, lower is better.\n\n"
            f"{text}\n\nResident memory after each scenario (services + PostgreSQL + broker, MB): {rss}\n"
        )


if __name__ == "__main__":
    main()
