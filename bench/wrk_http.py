"""HTTP throughput with `wrk` (a C load generator: the Python client in harness.py saturates a
core of this 2-core machine before the services do). Measures the loyalty purchase and member
lookup against the bare FastAPI + asyncpg baseline in the same run, each after an unmeasured
warm-up (`--warmup`): the first seconds on fresh tables, cold caches and empty pools measured
about half the steady rate here.

    apt-get install wrk   # Debian package; then:
    .venv/bin/python bench/wrk_http.py --seconds 15
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx
from harness import admin_headers, baseline_app, platform, platform_rss_mb, print_table, service_url
from loyalty import PROGRAM
from survey import SURVEY, answers

LUA = """
local counter = 0
local members = {%(members)s}
local id = 0
local threads = 0
function setup(thread) thread:set("tid", "%(run)s-" .. threads); threads = threads + 1 end
function init(args) id = tid end
request = function()
  counter = counter + 1
  local m = members[(counter %% #members) + 1]
  %(body)s
end
"""

PURCHASE = (
    'local body = string.format(\'{"customer_id":"%s","order_id":"w-%s-%d","occurred_at":"2026-03-01T10:00:00+00:00",'
    '"currency":"SAR","channel":"pos","lines":[{"sku":"SKU-%d","category":"perfume","quantity":"2","unit_price":"12.50"},'
    '{"sku":"SKU-7","category":"gift","quantity":"1","unit_price":"30.00"}]}\', m, id, counter, counter % 10)\n'
    '  return wrk.format("POST", "/v1/purchases", {["Content-Type"]="application/json", ["Authorization"]=auth}, body)'
)
ITEM = (
    'local body = string.format(\'{"customer_id":"%s","amount":"55.00"}\', m)\n'
    '  return wrk.format("POST", "/items", {["Content-Type"]="application/json"}, body)'
)
LOOKUP = 'return wrk.format("GET", "/v1/members/" .. m, {["Authorization"]=auth})'

# Survey responses: every request spends its own single-use invitation token (thread t of T
# takes tokens t, t+T, t+2T, ...), answers cycle through pre-rendered variants.
RESPONSES_LUA = """
auth = "Bearer %(token)s"
local tokens = {%(tokens)s}
local answers = {%(answers)s}
local threads = 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
local n = 0
request = function()
  local i = n * %(threads)d + tid
  n = n + 1
  local body = '{"token":"' .. tokens[(i %% #tokens) + 1] .. '","answers":' .. answers[(i %% #answers) + 1] .. '}'
  return wrk.format("POST", "/v1/responses", {["Content-Type"]="application/json", ["Authorization"]=auth}, body)
end
"""
BASE_GET = 'return wrk.format("GET", "/healthz")'


def wrk(url: str, body: str, members: list[str], token: str, seconds: int, connections: int) -> dict[str, float]:
    # A fresh run id per call: wrk's Lua random numbers repeat from run to run, so order ids
    # drawn from them made a measured run replay the warm-up's orders (cheap 200s, not purchases).
    script = LUA % {"members": ",".join(f'"{m}"' for m in members), "body": body, "run": uuid.uuid4().hex[:12]}
    return run_wrk(url, f'auth = "Bearer {token}"\n' + script, seconds, connections)


def run_wrk(url: str, script: str, seconds: int, connections: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    out = subprocess.run(
        ["wrk", f"-t{threads(connections)}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", f.name, url], capture_output=True, text=True, check=True
    ).stdout
    Path(f.name).unlink()
    per_s = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)

    def pct(p: str) -> float:
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    return {"per_s": per_s, "p50_ms": pct("50"), "p99_ms": pct("99"), "errors": int(non2xx.group(1)) if non2xx else 0}


def threads(connections: int) -> int:
    return min(2, connections)


async def setup(url: str, n: int) -> list[str]:
    members = [str(uuid.uuid4()) for _ in range(n)]
    async with httpx.AsyncClient(base_url=url, headers=admin_headers(), timeout=60) as client:
        (await client.post("/v1/programs", json=PROGRAM)).raise_for_status()
        for m in members:
            (await client.post("/v1/members", json={"customer_id": m, "birth_date": "1990-05-15"})).raise_for_status()
    return members


async def survey_tokens(url: str, n: int) -> list[str]:
    """A published survey and `n` invitation tokens for it."""
    async with httpx.AsyncClient(base_url=url, headers=admin_headers(), timeout=120) as client:
        sid = (await client.post("/v1/surveys", json=SURVEY)).raise_for_status().json()["id"]
        (await client.post(f"/v1/surveys/{sid}/publish")).raise_for_status()
        tokens: list[str] = []
        while len(tokens) < n:
            invitees = [{"customer_id": str(uuid.uuid4())} for _ in range(min(1000, n - len(tokens)))]
            r = (await client.post(f"/v1/surveys/{sid}/invitations", json={"invitees": invitees})).raise_for_status()
            tokens += [c["token"] for c in r.json()["created"]]
    return tokens


def responses_script(tokens: list[str], token: str, connections: int) -> str:
    variants = ",".join("[==[" + json.dumps(answers(i), ensure_ascii=False) + "]==]" for i in range(55))
    return RESPONSES_LUA % {"token": token, "tokens": ",".join(f'"{t}"' for t in tokens), "answers": variants, "threads": threads(connections)}


async def drained(url: str) -> None:
    """Wait until the service's outbox is empty (the invitations' events are published), so
    the relay does not compete with the measured requests."""
    async with httpx.AsyncClient(base_url=url, headers=admin_headers(), timeout=30) as client:
        while (await client.get("/v1/ops/outbox")).json()["backlog"]:
            await asyncio.sleep(0.5)


def responses_row(args: argparse.Namespace, token: str, members: list[str]) -> dict[str, Any]:
    """Survey responses on their own platform, next to the baseline on its PostgreSQL."""
    with platform(["survey"]) as p:
        s_url = service_url(p, "survey")
        # enough single-use tokens for the warm-up and the run at up to 2,000 responses/s
        tokens = asyncio.run(survey_tokens(s_url, 2000 * (args.warmup + args.seconds)))
        asyncio.run(drained(s_url))
        script = responses_script(tokens, token, args.connections)
        assert p.pg is not None
        with baseline_app(p.pg) as base:
            if args.warmup:
                wrk(base, ITEM, members, token, args.warmup, args.connections)
                run_wrk(s_url, script.replace("local n = 0", f"local n = {2000 * args.seconds // threads(args.connections)}"), args.warmup, args.connections)
            b_post = wrk(base, ITEM, members, token, args.seconds, args.connections)
            answered = run_wrk(s_url, script, args.seconds, args.connections)
    return {
        "scenario": f"POST /v1/responses (c={args.connections})",
        **answered,
        "baseline_per_s": b_post["per_s"],
        "ratio": round(answered["per_s"] / b_post["per_s"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=10, help="seconds of unmeasured load before each measured run (pools, caches, fresh tables)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    token = admin_headers()["Authorization"].split()[1]
    rows: list[dict[str, Any]] = []
    with platform(["loyalty"]) as p:
        p_url = service_url(p, "loyalty")
        members = asyncio.run(setup(p_url, args.members))
        assert p.pg is not None
        with baseline_app(p.pg) as base:
            if args.warmup:
                wrk(base, ITEM, members, token, args.warmup, args.connections)
                wrk(p_url, PURCHASE, members, token, args.warmup, args.connections)
            b_post = wrk(base, ITEM, members, token, args.seconds, args.connections)
            ours = wrk(p_url, PURCHASE, members, token, args.seconds, args.connections)
            rows.append(
                {
                    "scenario": f"POST /v1/purchases (c={args.connections})",
                    **ours,
                    "baseline_per_s": b_post["per_s"],
                    "ratio": round(ours["per_s"] / b_post["per_s"], 3),
                }
            )
            b_get = wrk(base, BASE_GET, members, token, args.seconds, args.connections)
            look = wrk(p_url, LOOKUP, members, token, args.seconds, args.connections)
            rows.append(
                {
                    "scenario": f"GET /v1/members/{{id}} (c={args.connections})",
                    **look,
                    "baseline_per_s": b_get["per_s"],
                    "ratio": round(look["per_s"] / b_get["per_s"], 3),
                }
            )
            look1 = wrk(p_url, LOOKUP, members, token, args.seconds, 1)
            rows.append({"scenario": "GET /v1/members/{id} (c=1)", **look1})
        rss = platform_rss_mb(p)
    rows.append(responses_row(args, token, members))
    print_table(rows)
    print(f"platform RSS (loyalty, PostgreSQL, broker): {rss} MB")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "wrk_http.json").write_text(json.dumps({"rows": rows, "rss_mb": rss}, indent=2))


if __name__ == "__main__":
    main()
