"""CSV export of raw completed responses, streamed (server-side cursor, bounded memory).

One column per question of any version (attribute questions give `<id>.satisfaction` and
`<id>.importance`; multiple choices are joined with `;`). Erased customers have no id and no
free text; anonymous surveys never had ids."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wafa_shared.problems import not_found
from wafa_survey import repository as repo
from wafa_survey.domain.questions import Question

FIXED = ["response_id", "version", "submitted_at", "language", "segment", "customer_id", "nps", "nps_category", "csat", "ces"]


def _columns(questions: list[Question]) -> list[tuple[str, str, str | None]]:
    cols: list[tuple[str, str, str | None]] = []
    for q in questions:
        if q.type == "attribute":
            cols += [(f"{q.id}.satisfaction", q.id, "satisfaction"), (f"{q.id}.importance", q.id, "importance")]
        else:
            cols.append((q.id, q.id, None))
    return cols


BATCH = 2000
# Every cell is computed by PostgreSQL as text (NULL is an empty cell), so rows go from the
# server-side cursor straight to `csv.writer.writerows`: no JSON decoding or per-cell Python.
_ISO_UTC = (
    "to_char(r.submitted_at AT TIME ZONE 'UTC', CASE WHEN date_part('microseconds', r.submitted_at)::bigint % 1000000 = 0"
    """ THEN 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"' ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"' END)"""
)
_FIXED_SQL = [
    "r.id::text",
    "r.version_number",
    _ISO_UTC,
    "r.language",
    "r.segment",
    "r.customer_id::text",
    "r.nps",
    "CASE WHEN r.nps >= 9 THEN 'promoter' WHEN r.nps >= 7 THEN 'passive' WHEN r.nps IS NOT NULL THEN 'detractor' END",
    "r.csat::text",
    "r.ces::text",
]


def _answer_sql(i: int, part: str | None) -> str:
    """An answer as text: an attribute's part, a multiple choice joined with `;`, else the value."""
    if part is not None:
        return f"r.answers -> :q{i} ->> :p{i}"
    a = f"(r.answers -> :q{i})"
    return (
        f"CASE jsonb_typeof({a}) WHEN 'array' THEN (SELECT string_agg(e #>> '{{}}', ';' ORDER BY n) FROM jsonb_array_elements({a}) "
        f"WITH ORDINALITY AS t(e, n)) ELSE {a} #>> '{{}}' END"
    )


def _export_query(survey_id: uuid.UUID, columns: list[tuple[str, str, str | None]], start: datetime | None, end: datetime | None) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {"sid": survey_id}
    cells = list(_FIXED_SQL)
    for i, (_, qid, part) in enumerate(columns):
        params[f"q{i}"] = qid
        if part is not None:
            params[f"p{i}"] = part
        cells.append(_answer_sql(i, part))
    where = ["r.survey_id = :sid", "r.status = 'completed'"]
    if start is not None:
        where.append("r.submitted_at >= :start")
        params["start"] = start
    if end is not None:
        where.append("r.submitted_at < :end")
        params["end"] = end
    sql = f"SELECT {', '.join(cells)} FROM responses r WHERE {' AND '.join(where)} ORDER BY r.submitted_at, r.id"
    return sql, params


async def prepare(
    sessions: async_sessionmaker[AsyncSession], survey_id: uuid.UUID, start: datetime | None, end: datetime | None
) -> tuple[list[str], AsyncIterator[str]]:
    """The header, and the CSV text in chunks. Raises 404 before streaming starts."""
    async with sessions() as session:
        survey = await repo.get_survey(session, survey_id)
        if survey is None:
            raise not_found("Survey", survey_id)
        seen: dict[str, tuple[str, str, str | None]] = {}
        for v in await repo.versions_of(session, survey_id):
            for col in _columns([Question.model_validate(q) for q in v.questions]):
                seen.setdefault(col[0], col)
    columns = list(seen.values())
    header = FIXED + [c[0] for c in columns]

    sql, params = _export_query(survey_id, columns, start, end)

    async def chunks() -> AsyncIterator[str]:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        async with sessions() as session:
            conn = await session.connection()
            result = await conn.stream(text(sql), params)
            async for rows in result.partitions(BATCH):
                writer.writerows(rows)
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()

    return header, chunks()
