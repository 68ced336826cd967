"""Results of a survey, computed set-based: a handful of aggregate queries over `responses`
and `response_values` (one scan each, whatever the number of responses), then the formulas
of `domain.stats` on the aggregates."""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_shared.problems import ProblemError
from wafa_survey import repository as repo
from wafa_survey.domain.questions import Question
from wafa_survey.domain.stats import (
    AttributeScore,
    achieved_margin,
    chi_square,
    cronbach_alpha,
    ipa_quadrants,
    nps_with_ci,
    satisfaction_index,
    top_box_share,
)

Period = Literal["day", "week", "month", "quarter", "year"]
CATEGORIES = ("promoter", "passive", "detractor")
RESULTS_WORK_MEM = "64MB"


class ResultsFilter(BaseModel):
    start: datetime | None = None
    end: datetime | None = None
    segment: str | None = None
    demographics: dict[str, str] = {}
    version: int | None = None


def _where(f: ResultsFilter, survey_id: uuid.UUID) -> tuple[str, dict[str, Any]]:
    clauses = ["r.survey_id = :sid", "r.status = 'completed'"]
    params: dict[str, Any] = {"sid": survey_id}
    if f.start is not None:
        clauses.append("r.submitted_at >= :start")
        params["start"] = f.start
    if f.end is not None:
        clauses.append("r.submitted_at < :end")
        params["end"] = f.end
    if f.segment is not None:
        clauses.append("r.segment = :segment")
        params["segment"] = f.segment
    if f.version is not None:
        clauses.append("r.version_number = :version")
        params["version"] = f.version
    for i, (key, value) in enumerate(sorted(f.demographics.items())):
        clauses.append(f"r.demographics ->> :dk{i} = :dv{i}")
        params[f"dk{i}"], params[f"dv{i}"] = key, value
    return " AND ".join(clauses), params


def _values_source(f: ResultsFilter, where: str) -> str:
    """`response_values` of the filtered responses; without filters the values alone suffice
    (only completed responses have values), which spares a join over every row."""
    if f == ResultsFilter():
        return "response_values v WHERE v.survey_id = :sid"
    return f"response_values v JOIN responses r ON r.id = v.response_id WHERE v.survey_id = :sid AND {where}"


def _label(num: Decimal) -> str:
    return format(num.normalize(), "f")


def _moments(pairs: list[tuple[Decimal, int]]) -> tuple[int, float, float | None]:
    """Count, mean and sample standard deviation from (value, frequency) pairs, exactly."""
    n = sum(c for _, c in pairs)
    mean = sum((v * c for v, c in pairs), Decimal(0)) / n
    if n < 2:
        return n, float(mean), None
    ss = sum((c * (v - mean) ** 2 for v, c in pairs), Decimal(0))
    return n, float(mean), math.sqrt(float(ss / (n - 1)))


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


def _nps_block(promoters: int, passives: int, detractors: int) -> dict[str, Any] | None:
    est = nps_with_ci(promoters, passives, detractors)
    if est is None:
        return None
    return {
        "n": est.n,
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
        "nps": est.nps,
        "standard_error": est.standard_error,
        "ci95": [est.ci_low, est.ci_high],
        "ci_method": "Wald interval of a difference of multinomial proportions (Rocks 2016)",
    }


_NPS_COUNTS = "count(*) FILTER (WHERE r.nps >= 9), count(*) FILTER (WHERE r.nps BETWEEN 7 AND 8), count(*) FILTER (WHERE r.nps <= 6)"


async def results(
    session: AsyncSession,
    survey_id: uuid.UUID,
    f: ResultsFilter,
    *,
    crosstab_by: str | None = None,
    period: Period | None = None,
) -> dict[str, Any]:
    survey = await repo.get_survey(session, survey_id)
    if survey is None:
        raise ProblemError(404, "not-found", f"Survey {survey_id} does not exist")
    number = f.version or survey.published_version or survey.latest_version
    version = await repo.version(session, survey.id, number)
    if version is None:
        raise ProblemError(404, "not-found", f"Survey {survey_id} has no version {number}")
    questions = [Question.model_validate(q) for q in version.questions]
    where, params = _where(f, survey.id)
    # the per-response aggregates (Cronbach's alpha) hash 100k+ groups: keep them in memory
    # (default 4MB spills to disk); SET LOCAL ends with this read-only transaction
    await session.execute(text(f"SET LOCAL work_mem = '{RESULTS_WORK_MEM}'"))

    row = (await session.execute(text(f"SELECT count(*), {_NPS_COUNTS} FROM responses r WHERE {where}"), params)).one()
    completed, promoters, passives, detractors = (int(x) for x in row)

    inv_clauses = ["i.survey_id = :sid", "i.status <> 'scheduled'"]
    if f.start is not None:
        inv_clauses.append("i.send_at >= :start")
    if f.end is not None:
        inv_clauses.append("i.send_at < :end")
    if f.segment is not None:
        inv_clauses.append("i.segment = :segment")
    inv_params = {k: v for k, v in params.items() if k in ("sid", "start", "end", "segment")}
    invited_row = (
        await session.execute(
            text(f"SELECT count(*), count(*) FILTER (WHERE i.status = 'completed') FROM invitations i WHERE {' AND '.join(inv_clauses)}"), inv_params
        )
    ).one()
    invited, answered = int(invited_row[0]), int(invited_row[1])

    plan = await repo.latest_sampling_plan(session, survey.id)
    population = plan.population_size if plan else None

    source = _values_source(f, where)
    rows = (await session.execute(text(f"SELECT v.question_id, v.part, v.choice, v.num, count(*) FROM {source} GROUP BY 1, 2, 3, 4"), params)).all()
    dist: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    numeric: dict[tuple[str, str], list[tuple[Decimal, int]]] = defaultdict(list)
    for qid, part, choice, num, count in rows:
        dist[(qid, part)][choice if choice is not None else _label(num)] = int(count)
        if num is not None:
            numeric[(qid, part)].append((num, int(count)))
    stat = {key: _moments(pairs) for key, pairs in numeric.items()}

    per_question = []
    for q in questions:
        parts = ["satisfaction", "importance"] if q.type == "attribute" else ["value"]
        for part in parts:
            if q.type == "text":
                continue
            entry: dict[str, Any] = {"question_id": q.id, "type": q.type, "part": part, "distribution": dist.get((q.id, part), {})}
            if (q.id, part) in stat:
                n, mean, sd = stat[(q.id, part)]
                entry.update(n=n, mean=mean, sd=sd)
            else:
                entry["n"] = sum(entry["distribution"].values())
            per_question.append(entry)

    def pooled(kind: str) -> dict[int, int]:
        out: dict[int, int] = defaultdict(int)
        for q in questions:
            if q.type == kind:
                for val, c in dist.get((q.id, "value"), {}).items():
                    out[int(float(val))] += c
        return out

    csat_counts, ces_counts = pooled("csat"), pooled("ces")
    ces_n = sum(ces_counts.values())
    csat_n = sum(csat_counts.values())

    attributes = [
        AttributeScore(q.attribute or q.id, stat[(q.id, "satisfaction")][1], stat[(q.id, "importance")][1], q.points or 5)
        for q in questions
        if q.type == "attribute" and (q.id, "satisfaction") in stat and (q.id, "importance") in stat
    ]
    quadrants = ipa_quadrants(attributes)

    out: dict[str, Any] = {
        "survey_id": str(survey.id),
        "version": number,
        "responses": completed,
        "invited": invited,
        "response_rate": (answered / invited) if invited else None,
        "population_size": population,
        "margin_of_error": achieved_margin(completed, population),
        "nps": _nps_block(promoters, passives, detractors),
        "csat": {"n": csat_n, "mean": sum(v * c for v, c in csat_counts.items()) / csat_n, "top2box_pct": top_box_share(csat_counts, {4, 5})}
        if csat_n
        else None,
        "ces": {"n": ces_n, "mean": sum(v * c for v, c in ces_counts.items()) / ces_n} if ces_n else None,
        "csi": satisfaction_index(attributes),
        "attributes": [
            {"name": a.name, "satisfaction": a.satisfaction, "importance": a.importance, "points": a.points, "quadrant": quadrants[a.name]} for a in attributes
        ],
        "scales": await _scales(session, questions, source, params),
        "questions": per_question,
    }
    if crosstab_by is not None:
        out["crosstab"] = await _crosstab(session, crosstab_by, where, params)
    if period is not None:
        out["trend"] = await _trend(session, period, where, params)
    return out


async def _scales(session: AsyncSession, questions: list[Question], source: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Cronbach's alpha of each multi-item scale over responses that answered every item."""
    scales: dict[str, list[str]] = defaultdict(list)
    for q in questions:
        if q.type == "likert" and q.scale:
            scales[q.scale].append(q.id)
    out = []
    for name, items in sorted(scales.items()):
        if len(items) < 2:
            continue
        # one pass: each response's items pivoted into columns (hash aggregate by response), then
        # the variances of the complete cases in float8 (numeric variance costs more than the scan);
        # no materialized intermediate, no self-join
        p: dict[str, Any] = {**params, "items": items, "k": len(items)}
        pivot = []
        for i, item in enumerate(items):
            p[f"item{i}"] = item
            pivot.append(f"max(v.num::float8) FILTER (WHERE v.question_id = :item{i}) AS x{i}")
        variances_sql = ", ".join(f"var_samp(x{i})" for i in range(len(items)))
        sql = f"""SELECT count(*), var_samp(total), {variances_sql}
            FROM (SELECT count(*) AS answered, sum(v.num::float8) AS total, {", ".join(pivot)}
                  FROM {source} AND v.part = 'value' AND v.question_id = ANY(CAST(:items AS text[]))
                  GROUP BY v.response_id) AS per_response
            WHERE answered = :k"""
        row = (await session.execute(text(sql), p)).one()
        n, total = int(row[0]), row[1]
        variances = [float(v) for v in row[2:] if v is not None]
        alpha = cronbach_alpha(variances, float(total)) if total is not None and len(variances) == len(items) else None
        out.append({"scale": name, "items": items, "n": n, "cronbach_alpha": alpha})
    return out


async def _crosstab(session: AsyncSession, by: str, where: str, params: dict[str, Any]) -> dict[str, Any]:
    """NPS category by segment or by a demographic answer, with Pearson's chi-square test."""
    group = "r.segment" if by == "segment" else "r.demographics ->> :by"
    rows = (
        await session.execute(
            text(f"SELECT COALESCE({group}, '(none)') AS g, {_NPS_COUNTS} FROM responses r WHERE {where} AND r.nps IS NOT NULL GROUP BY 1 ORDER BY 1"),
            {**params, "by": by},
        )
    ).all()
    table = [[int(p), int(a), int(d)] for _, p, a, d in rows]
    test = chi_square(table)
    return {
        "by": by,
        "columns": list(CATEGORIES),
        "rows": [{"group": g, "counts": dict(zip(CATEGORIES, t, strict=True)), "nps": _nps_block(*t)} for (g, *_), t in zip(rows, table, strict=True)],
        "chi_square": None
        if test is None
        else {"statistic": test.statistic, "p_value": test.p_value, "dof": test.dof, "significant_at_5pct": test.significant},
    }


async def _trend(session: AsyncSession, period: Period, where: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            text(
                f"""SELECT date_trunc(:period, r.submitted_at AT TIME ZONE 'UTC') AS p, count(*), {_NPS_COUNTS}, avg(r.csat), avg(r.ces)
                FROM responses r WHERE {where} GROUP BY 1 ORDER BY 1"""
            ),
            {**params, "period": period},
        )
    ).all()
    return [
        {"period": p.date().isoformat(), "responses": int(n), "nps": _nps_block(int(a), int(b), int(c)), "csat_mean": _f(cs), "ces_mean": _f(ce)}
        for p, n, a, b, c, cs, ce in rows
    ]
