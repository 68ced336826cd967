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

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wafa_shared.problems import not_found
from wafa_survey import repository as repo
from wafa_survey.domain.questions import Question, nps_category
from wafa_survey.models import Response

FIXED = ["response_id", "version", "submitted_at", "language", "segment", "customer_id", "nps", "nps_category", "csat", "ces"]


def _columns(questions: list[Question]) -> list[tuple[str, str, str | None]]:
    cols: list[tuple[str, str, str | None]] = []
    for q in questions:
        if q.type == "attribute":
            cols += [(f"{q.id}.satisfaction", q.id, "satisfaction"), (f"{q.id}.importance", q.id, "importance")]
        else:
            cols.append((q.id, q.id, None))
    return cols


def _cell(value: Any, part: str | None) -> Any:
    if value is None:
        return ""
    if part is not None:
        return value.get(part, "")
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return value


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

    async def chunks() -> AsyncIterator[str]:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        cols = (Response.id, Response.version_number, Response.submitted_at, Response.language, Response.segment, Response.customer_id)
        stmt = select(*cols, Response.nps, Response.csat, Response.ces, Response.answers).where(Response.survey_id == survey_id, Response.status == "completed")
        if start is not None:
            stmt = stmt.where(Response.submitted_at >= start)
        if end is not None:
            stmt = stmt.where(Response.submitted_at < end)
        stmt = stmt.order_by(Response.submitted_at, Response.id).execution_options(yield_per=2000)
        async with sessions() as session:
            result = await session.stream(stmt)
            async for r in result:
                writer.writerow(
                    [
                        r.id,
                        r.version_number,
                        r.submitted_at.isoformat() if r.submitted_at else "",
                        r.language,
                        r.segment or "",
                        r.customer_id or "",
                        "" if r.nps is None else r.nps,
                        "" if r.nps is None else nps_category(r.nps),
                        "" if r.csat is None else r.csat,
                        "" if r.ces is None else r.ces,
                    ]
                    + [_cell(r.answers.get(qid), part) for _, qid, part in columns]
                )
                if buf.tell() > 64_000:
                    yield buf.getvalue()
                    buf.seek(0)
                    buf.truncate()
        yield buf.getvalue()

    return header, chunks()
