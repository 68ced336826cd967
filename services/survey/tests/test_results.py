"""Results over a fixed set of responses equal hand-computed, numpy or scipy values."""

from __future__ import annotations

import csv
import io
import math
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from scipy import stats as sps
from survey_testkit import T0, answer, invite, published_survey, survey_body

from wafa_shared.clock import ManualClock

NPS = [10, 9, 9, 8, 7, 6, 3, 10, 5, 9, 2, 8]
CSAT = [5, 4, 4, 3, 5, 2, 1, 5, 4, 3, 2, 5]
CES = [1, 2, 3, 2, 1, 5, 7, 1, 4, 2, 6, 3]
PRICE = [(2, 5), (3, 5), (2, 4), (3, 5), (4, 4), (1, 5), (2, 5), (3, 4), (2, 5), (3, 5), (1, 4), (4, 5)]
STAFF = [(5, 3), (4, 2), (5, 3), (4, 3), (5, 2), (4, 3), (3, 2), (5, 3), (4, 3), (5, 2), (4, 3), (5, 3)]
TRUST = [(4, 5, 4), (3, 3, 2), (5, 5, 5), (2, 3, 3), (4, 4, 5), (1, 2, 1), (3, 4, 3), (5, 4, 5), (2, 2, 3), (4, 5, 4), (1, 1, 2), (4, 4, None)]
AGE = ["18-34"] * 6 + ["35+"] * 6


def _answers(i: int) -> dict[str, Any]:
    a: dict[str, Any] = {
        "nps": NPS[i],
        "csat": CSAT[i],
        "ces": CES[i],
        "price": {"satisfaction": PRICE[i][0], "importance": PRICE[i][1]},
        "staff": {"satisfaction": STAFF[i][0], "importance": STAFF[i][1]},
        "q1": TRUST[i][0],
        "q2": TRUST[i][1],
        "age": AGE[i],
        "channel": "web" if i % 3 else "store",
    }
    if TRUST[i][2] is not None:
        a["q3"] = TRUST[i][2]
    return a


async def _fixture(svc: Any, clock: ManualClock) -> str:
    survey = await published_survey(svc, survey_body(invitation_ttl_days=60))
    sid = survey["id"]
    invitations = await invite(svc, sid, 14, segments=["gold"] * 7 + ["silver"] * 7)
    for i in range(12):
        if i == 6:
            clock.advance(timedelta(days=31))  # the second half is answered in April
        clock.advance(timedelta(minutes=1))
        r = await answer(svc, invitations[i]["token"], _answers(i))
        assert r.status_code == 201, r.text
    return sid  # type: ignore[no-any-return]


async def test_results_equal_reference_values_on_a_fixed_fixture(wafa_service: Any) -> None:
    clock = ManualClock(T0)
    async with wafa_service("survey", clock=clock) as svc:
        sid = await _fixture(svc, clock)
        r = await svc.client.get(f"/v1/surveys/{sid}/results", params={"crosstab": "age", "period": "month"}, headers=svc.auth("surveys:read"))
        assert r.status_code == 200, r.text
        res = r.json()

        assert res["responses"] == 12 and res["invited"] == 14
        assert res["response_rate"] == pytest.approx(12 / 14)
        assert res["margin_of_error"] == pytest.approx(1.959964 * math.sqrt(0.25 / 12), abs=1e-6)  # no population known

        # NPS: 5 promoters, 3 passives, 4 detractors of 12
        nps = res["nps"]
        assert (nps["promoters"], nps["passives"], nps["detractors"]) == (5, 3, 4)
        assert nps["nps"] == pytest.approx(100 / 12)
        se = 100 * math.sqrt((9 / 12 - (1 / 12) ** 2) / 12)
        assert nps["standard_error"] == pytest.approx(se)
        assert nps["ci95"] == pytest.approx([100 / 12 - 1.959964 * se, 100 / 12 + 1.959964 * se], abs=1e-4)

        assert res["csat"]["mean"] == pytest.approx(43 / 12)
        assert res["csat"]["top2box_pct"] == pytest.approx(700 / 12)  # 7 of 12 answered 4 or 5
        assert res["ces"]["mean"] == pytest.approx(sum(CES) / 12)

        price_sat, price_imp = np.mean([p[0] for p in PRICE]), np.mean([p[1] for p in PRICE])
        staff_sat, staff_imp = np.mean([s[0] for s in STAFF]), np.mean([s[1] for s in STAFF])
        w = price_imp / (price_imp + staff_imp)
        assert res["csi"] == pytest.approx(100 * (w * (price_sat - 1) / 4 + (1 - w) * (staff_sat - 1) / 4))
        attrs = {a["name"]: a for a in res["attributes"]}
        assert attrs["price"]["satisfaction"] == pytest.approx(price_sat) and attrs["price"]["importance"] == pytest.approx(price_imp)
        assert attrs["price"]["quadrant"] == "concentrate_here" and attrs["staff"]["quadrant"] == "possible_overkill"

        complete = np.array([t for t in TRUST if t[2] is not None], dtype=float)
        k = 3
        alpha = k / (k - 1) * (1 - complete.var(axis=0, ddof=1).sum() / complete.sum(axis=1).var(ddof=1))
        [scale] = res["scales"]
        assert scale["scale"] == "trust" and scale["n"] == 11
        assert scale["cronbach_alpha"] == pytest.approx(alpha)

        nps_q = next(q for q in res["questions"] if q["question_id"] == "nps")
        assert nps_q["distribution"] == {"10": 2, "9": 3, "8": 2, "7": 1, "6": 1, "5": 1, "3": 1, "2": 1}
        channel = next(q for q in res["questions"] if q["question_id"] == "channel")
        assert channel["distribution"] == {"store": 4, "web": 8}

        cross = res["crosstab"]
        rows = {row["group"]: row["counts"] for row in cross["rows"]}
        assert rows == {"18-34": {"promoter": 3, "passive": 2, "detractor": 1}, "35+": {"promoter": 2, "passive": 1, "detractor": 3}}
        ref = sps.chi2_contingency([[3, 2, 1], [2, 1, 3]], correction=False)
        assert cross["chi_square"]["statistic"] == pytest.approx(ref.statistic)
        assert cross["chi_square"]["p_value"] == pytest.approx(ref.pvalue)
        assert cross["chi_square"]["dof"] == 2 and cross["chi_square"]["significant_at_5pct"] is False

        trend = res["trend"]
        assert [p["period"] for p in trend] == ["2026-03-01", "2026-04-01"]
        assert [p["responses"] for p in trend] == [6, 6]
        assert trend[0]["nps"]["nps"] == pytest.approx(100 * (3 - 1) / 6)
        assert trend[1]["nps"]["nps"] == pytest.approx(100 * (2 - 3) / 6)


async def test_results_filter_by_demographic_segment_and_period(wafa_service: Any) -> None:
    clock = ManualClock(T0)
    async with wafa_service("survey", clock=clock) as svc:
        sid = await _fixture(svc, clock)

        async def get(**params: Any) -> dict[str, Any]:
            r = await svc.client.get(f"/v1/surveys/{sid}/results", params=params, headers=svc.auth("surveys:read"))
            assert r.status_code == 200, r.text
            return r.json()  # type: ignore[no-any-return]

        older = await get(demographic="age:35+")
        assert older["responses"] == 6 and older["nps"]["nps"] == pytest.approx(-100 / 6)
        gold = await get(segment="gold")  # invitations 0-6 were gold
        assert gold["responses"] == 7 and gold["invited"] == 7
        assert gold["nps"]["promoters"] == 3 and gold["nps"]["detractors"] == 2
        march = await get(**{"to": "2026-04-01T00:00:00Z"})
        assert march["responses"] == 6 and march["csat"]["mean"] == pytest.approx(sum(CSAT[:6]) / 6)
        bad = await svc.client.get(f"/v1/surveys/{sid}/results", params={"demographic": "nocolon"}, headers=svc.auth("surveys:read"))
        assert bad.status_code == 422


async def test_csv_export_has_one_row_per_completed_response_with_raw_answers(wafa_service: Any) -> None:
    clock = ManualClock(T0)
    async with wafa_service("survey", clock=clock) as svc:
        sid = await _fixture(svc, clock)
        r = await svc.client.get(f"/v1/surveys/{sid}/responses.csv", headers=svc.auth("surveys:read"))
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert len(rows) == 12
        assert sorted(int(row["nps"]) for row in rows) == sorted(NPS)
        first = rows[0]
        assert first["price.satisfaction"] == "2" and first["price.importance"] == "5"
        assert first["nps_category"] == "promoter" and first["age"] == "18-34" and first["customer_id"]
