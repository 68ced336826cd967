"""Results of a survey and the CSV export of its raw responses."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from wafa_shared.auth import require
from wafa_shared.deps import RuntimeDep, SessionDep
from wafa_shared.problems import ProblemError
from wafa_survey import export
from wafa_survey.results import Period, ResultsFilter, results

router = APIRouter(prefix="/v1/surveys", tags=["results"])


def _filter(start: datetime | None, end: datetime | None, segment: str | None, demographic: list[str], version: int | None) -> ResultsFilter:
    pairs = {}
    for d in demographic:
        key, sep, value = d.partition(":")
        if not sep or not key or not value:
            raise ProblemError(
                422,
                "validation-error",
                "demographic filters are question:value",
                errors=[{"field": "demographic", "in": "query", "message": f"{d!r} is not question:value"}],
            )
        pairs[key] = value
    return ResultsFilter(start=start, end=end, segment=segment, demographics=pairs, version=version)


@router.get(
    "/{survey_id}/results",
    dependencies=[require("surveys:read")],
    summary="Response rate, margin of error, NPS with 95% CI, CSAT, CES, distributions, CSI, IPA, alpha, cross-tab, trend",
)
async def get_results(
    survey_id: uuid.UUID,
    session: SessionDep,
    start: Annotated[datetime | None, Query(alias="from", description="Submitted at or after (UTC).")] = None,
    end: Annotated[datetime | None, Query(alias="to", description="Submitted before (UTC).")] = None,
    segment: Annotated[str | None, Query(max_length=100)] = None,
    demographic: Annotated[list[str], Query(description="`question:value`, repeatable.")] = [],  # noqa: B006
    version: Annotated[int | None, Query(ge=1, description="Only responses to this version (its questions define the breakdown).")] = None,
    crosstab: Annotated[str | None, Query(max_length=100, description="`segment` or a demographic question id: NPS categories by it, with chi-square.")] = None,
    period: Annotated[Period | None, Query(description="Trend by period.")] = None,
) -> Any:
    return await results(session, survey_id, _filter(start, end, segment, demographic, version), crosstab_by=crosstab, period=period)


@router.get("/{survey_id}/responses.csv", dependencies=[require("surveys:read")], summary="CSV export of raw completed responses")
async def export_csv(
    survey_id: uuid.UUID,
    runtime: RuntimeDep,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
) -> Any:
    _header, rows = await export.prepare(runtime.sessions, survey_id, start, end)
    return StreamingResponse(rows, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="survey-{survey_id}.csv"'})
