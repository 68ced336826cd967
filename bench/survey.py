"""Survey benchmark: responses through `POST /v1/responses` and results over 100k responses.

    .venv/bin/python bench/survey.py --responses 5000 --results-rows 100000

Runs the survey app in-process (ASGI, lifespan running: relay publishes every
`survey.response.submitted` to the embedded broker) on embedded PostgreSQL. Baselines from the
same run: `GET /healthz` through the same HTTP stack and client concurrency, and one raw SQL
scan of the same response tables. Writes bench/results/survey.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from harness import remove_home
from sqlalchemy import text

from wafa_shared.auth import mint_token
from wafa_shared.embedded.broker import EmbeddedBroker, free_port
from wafa_shared.embedded.postgres import EmbeddedPostgres
from wafa_shared.migrations import upgrade
from wafa_shared.settings import DEV_JWT_SECRET
from wafa_survey.app import create_app
from wafa_survey.settings import Settings

CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "32"))


def t(ar: str, en: str) -> dict[str, str]:
    return {"ar": ar, "en": en}


SURVEY = {
    "name": "bench",
    "kind": "transactional",
    "title": t("قياس", "Bench"),
    "fatigue_days": 0,
    "questions": [
        {"id": "nps", "type": "nps", "required": True, "text": t("توصية", "Recommend")},
        {"id": "why_low", "type": "text", "text": t("لماذا", "Why"), "show_if": {"question": "nps", "lte": 6}},
        {"id": "csat", "type": "csat", "required": True, "text": t("رضا", "Satisfied")},
        {"id": "ces", "type": "ces", "text": t("سهولة", "Easy")},
        {"id": "price", "type": "attribute", "text": t("السعر", "Price")},
        {"id": "staff", "type": "attribute", "text": t("الموظفون", "Staff")},
        {"id": "q1", "type": "likert", "points": 5, "scale": "trust", "text": t("ثقة", "Trust")},
        {"id": "q2", "type": "likert", "points": 5, "scale": "trust", "text": t("وعود", "Promises")},
        {"id": "q3", "type": "likert", "points": 5, "scale": "trust", "text": t("صدق", "Honest")},
        {"id": "channel", "type": "single_choice", "options": [{"value": v, "label": t(v, v)} for v in ("web", "store")], "text": t("قناة", "Channel")},
        {"id": "age", "type": "demographic", "options": [{"value": v, "label": t(v, v)} for v in ("18-34", "35-54", "55+")], "text": t("العمر", "Age")},
    ],
}


def answers(i: int) -> dict[str, Any]:
    nps = i % 11
    a: dict[str, Any] = {
        "nps": nps,
        "csat": 1 + i % 5,
        "ces": 1 + i % 7,
        "price": {"satisfaction": 1 + i % 5, "importance": 1 + (i // 5) % 5},
        "staff": {"satisfaction": 1 + (i // 3) % 5, "importance": 1 + (i // 7) % 5},
        "q1": 1 + i % 5,
        "q2": 1 + (i + 1) % 5,
        "q3": 1 + (i // 2) % 5,
        "channel": "web" if i % 2 else "store",
        "age": ("18-34", "35-54", "55+")[i % 3],
    }
    if nps <= 6:
        a["why_low"] = "الانتظار طويل"
    return a


async def run_concurrently(n: int, work: Any) -> float:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            await work(queue.get_nowait())

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return n / (time.perf_counter() - start)


_BULK = """
INSERT INTO responses (id, survey_id, version_id, version_number, status, language, segment, answers, demographics,
                       nps, csat, ces, erased, started_at, submitted_at)
SELECT md5(:seed || g)::uuid, :sid, :vid, 1, 'completed', 'ar', (ARRAY['gold','silver','bronze'])[1 + g % 3],
       '{}'::jsonb, jsonb_build_object('age', (ARRAY['18-34','35-54','55+'])[1 + (g / 7) % 3]),
       (g * 7) % 11, 1 + (g * 3) % 5, 1 + (g * 5) % 7, false,
       timestamptz '2026-01-01' + (g % 365) * interval '1 day', timestamptz '2026-01-01' + (g % 365) * interval '1 day'
FROM generate_series(1, :n) g
"""
_BULK_VALUES = """
INSERT INTO response_values (response_id, survey_id, question_id, part, num, choice)
SELECT r.id, r.survey_id, q.qid, q.part,
       CASE WHEN q.qid = 'nps' THEN r.nps WHEN q.qid = 'csat' THEN r.csat WHEN q.qid = 'ces' THEN r.ces
            WHEN q.qid IN ('channel', 'age') THEN NULL
            ELSE 1 + (abs(hashtext(r.id::text || q.qid || q.part)) % 5) END,
       CASE WHEN q.qid = 'channel' THEN (ARRAY['web','store'])[1 + abs(hashtext(r.id::text)) % 2]
            WHEN q.qid = 'age' THEN r.demographics ->> 'age' END
FROM responses r CROSS JOIN (VALUES ('nps','value'),('csat','value'),('ces','value'),('price','satisfaction'),('price','importance'),
     ('staff','satisfaction'),('staff','importance'),('q1','value'),('q2','value'),('q3','value'),('channel','value'),('age','value')) AS q(qid, part)
WHERE r.survey_id = :sid
"""


async def main(n_responses: int, n_rows: int) -> dict[str, Any]:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    load_before = os.getloadavg()[0]
    home = Path(tempfile.mkdtemp(prefix="wafa-bench-survey-"))
    pg = EmbeddedPostgres(home / "pg", free_port(), fast=os.environ.get("BENCH_PG_FAST") == "1")
    broker = EmbeddedBroker(free_port())
    pg.start()
    broker.start()
    try:
        url = pg.url("bench_survey")
        await upgrade(url, Path(str(__import__("wafa_survey").__file__)).parent / "migrations")
        settings = Settings(
            env="test",
            database_url=url,
            kafka_bootstrap_servers=broker.bootstrap,
            topic_prefix="bench.",
            jwt_secret=DEV_JWT_SECRET,
            db_pool_size=20,
            relay_enabled=os.environ.get("BENCH_RELAY", "1") == "1",
        )
        if hasattr(settings, "rate_limit_per_s"):
            settings.rate_limit_per_s = 0  # type: ignore[attr-defined]
        app = create_app(settings)
        headers = {"Authorization": f"Bearer {mint_token(DEV_JWT_SECRET, 'bench', ['admin'], ttl_s=86400)}"}
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://survey", headers=headers, timeout=60) as client:
                sid = (await client.post("/v1/surveys", json=SURVEY)).json()["id"]
                await client.post(f"/v1/surveys/{sid}/publish")
                tokens: list[str] = []
                for start in range(0, n_responses, 1000):
                    invitees = [{"customer_id": str(uuid.uuid4())} for _ in range(min(1000, n_responses - start))]
                    r = await client.post(f"/v1/surveys/{sid}/invitations", json={"invitees": invitees})
                    tokens += [c["token"] for c in r.json()["created"]]

                health_rps = await run_concurrently(n_responses, lambda i: client.get("/healthz"))
                failures = 0

                async def respond(i: int) -> None:
                    nonlocal failures
                    r = await client.post("/v1/responses", json={"token": tokens[i], "answers": answers(i)})
                    failures += r.status_code != 201

                cpu0, wall0 = time.process_time(), time.perf_counter()
                responses_rps = await run_concurrently(n_responses, respond)
                app_cpu_share = (time.process_time() - cpu0) / (time.perf_counter() - wall0)

                # 100k-response results on a second survey filled set-based
                sid2 = (await client.post("/v1/surveys", json={**SURVEY, "name": "bench-100k"})).json()["id"]
                survey2 = (await client.post(f"/v1/surveys/{sid2}/publish")).json()
                vid = survey2["versions"][0]["id"]
                async with app.state.runtime.sessions() as s, s.begin():
                    t0 = time.perf_counter()
                    await s.execute(text(_BULK), {"seed": "b", "sid": sid2, "vid": vid, "n": n_rows})
                    await s.execute(text(_BULK_VALUES), {"sid": sid2})
                    fill_s = time.perf_counter() - t0
                async with app.state.runtime.sessions() as s:
                    await s.execute(text("ANALYZE responses"))
                    await s.execute(text("ANALYZE response_values"))
                    await s.commit()
                    t0 = time.perf_counter()
                    await s.execute(text("SELECT count(*), avg(num) FROM response_values WHERE survey_id = :sid"), {"sid": sid2})
                    raw_scan_s = time.perf_counter() - t0
                timings: dict[str, list[float]] = {"plain": [], "with_crosstab_and_trend": [], "filtered_by_demographic": []}
                params = {
                    "plain": {},
                    "with_crosstab_and_trend": {"crosstab": "age", "period": "month"},
                    "filtered_by_demographic": {"demographic": "age:35-54"},
                }
                for _ in range(3):
                    for name, p in params.items():
                        t0 = time.perf_counter()
                        r = await client.get(f"/v1/surveys/{sid2}/results", params=p)
                        timings[name].append(time.perf_counter() - t0)
                        assert r.status_code == 200, r.text
                        if name == "with_crosstab_and_trend":
                            res = r.json()
                t0 = time.perf_counter()
                csv = await client.get(f"/v1/surveys/{sid2}/responses.csv")
                csv_s = time.perf_counter() - t0
        return {
            "load_avg_1m_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "cpu_count": os.cpu_count(),
            "responses_posted": n_responses,
            "concurrency": CONCURRENCY,
            "responses_per_s": round(responses_rps),
            "response_failures": failures,
            "healthz_baseline_per_s": round(health_rps),
            "ratio_to_healthz": round(responses_rps / health_rps, 3),
            "client_and_app_process_cpu_share": round(app_cpu_share, 2),
            "results_rows": n_rows,
            "value_rows": n_rows * 12,
            "fill_s": round(fill_s, 2),
            "results_median_s": {k: round(statistics.median(v), 3) for k, v in timings.items()},
            "raw_sql_scan_baseline_s": round(raw_scan_s, 3),
            "csv_export_s": round(csv_s, 2),
            "csv_bytes": len(csv.content),
            "check": {
                "responses": res["responses"],
                "nps": round(res["nps"]["nps"], 2),
                "csi": round(res["csi"], 2),
                "chi_square_p": res["crosstab"]["chi_square"]["p_value"],
                "trend_periods": len(res["trend"]),
            },
        }
    finally:
        broker.stop()
        pg.stop()
        remove_home(home)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--responses", type=int, default=5000)
    parser.add_argument("--results-rows", type=int, default=100_000)
    args = parser.parse_args()
    result = asyncio.run(main(args.responses, args.results_rows))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "survey.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
