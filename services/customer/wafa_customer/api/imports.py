"""`POST /v1/customers/import` and `/v1/imports`: bulk import jobs and their reports."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from wafa_customer import imports
from wafa_customer.models import ImportJob
from wafa_customer.schemas import ImportJobOut
from wafa_shared.auth import Principal, require
from wafa_shared.deps import PageDep, RuntimeDep, SessionDep
from wafa_shared.pagination import Page, keyset_page
from wafa_shared.problems import ProblemError, not_found

router = APIRouter(tags=["import"])
TASKS = "customer.import_tasks"
_FORMATS = {"text/csv": "csv", "application/x-ndjson": "jsonl", "application/jsonl": "jsonl", "application/x-jsonlines": "jsonl"}


@router.post(
    "/v1/customers/import",
    status_code=202,
    response_model=ImportJobOut,
    summary="Import customers from CSV or JSONL (upsert on external id)",
    responses={
        200: {"model": ImportJobOut, "description": "With `wait=true`: the finished job."},
        415: {"description": "Neither the Content-Type nor `format` names CSV or JSONL."},
    },
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}, "application/x-ndjson": {"schema": {"type": "string"}}}}},
)
async def import_customers(
    request: Request,
    runtime: RuntimeDep,
    caller: Annotated[Principal, require("customers:write")],
    format: Annotated[Literal["csv", "jsonl"] | None, Query(description="Default: from Content-Type (text/csv or application/x-ndjson).")] = None,
    source: Annotated[str, Query(pattern=r"^[A-Za-z0-9_.:-]{1,50}$", description="External-id source of rows that name none.")] = "import",
    wait: Annotated[bool, Query(description="Answer when the import is done (200) instead of at once (202).")] = False,
) -> Any:
    """The body is streamed to disk, then applied in chunks; answers 202 with the job (poll
    `GET /v1/imports/{id}` for progress and the per-row error report), or 200 when `wait=true`."""
    fmt = format or _FORMATS.get(request.headers.get("content-type", "").split(";")[0].strip().lower())
    if fmt is None:
        raise ProblemError(415, "unsupported-import-format", "Send text/csv or application/x-ndjson, or pass ?format=csv|jsonl.")
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the import
    size = 0
    async for part in request.stream():
        size += len(part)
        spool.write(part)
    if size == 0:
        spool.close()
        raise ProblemError(422, "empty-import", "The import body is empty.")
    s = runtime.settings
    job = ImportJob(
        id=uuid.uuid4(),
        format=fmt,
        status="running",
        rows_read=0,
        created=0,
        updated=0,
        failed=0,
        errors=[],
        created_by=caller.subject,
        started_at=runtime.clock.now(),
    )
    async with runtime.sessions() as session, session.begin():
        session.add(job)
    work = imports.run_import(
        runtime.sessions,
        job.id,
        imports.open_text(spool),
        fmt=fmt,
        source=source,
        clock=runtime.clock,
        default_country=s.default_country,
        chunk_rows=s.import_chunk_rows,
        max_errors=s.import_max_errors,
        service_name=runtime.spec.name,
        wake=runtime.outbox_committed,
        use_process_pool=size >= s.import_parallel_bytes,
    )
    headers = {"Location": f"/v1/imports/{job.id}"}
    if wait:
        await work
        async with runtime.sessions() as session:
            done = await session.get(ImportJob, job.id)
            return JSONResponse(ImportJobOut.model_validate(done).model_dump(mode="json"), status_code=200, headers=headers)
    tasks: set[asyncio.Task[None]] = runtime.state.setdefault(TASKS, set())
    task = asyncio.create_task(work)
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return JSONResponse(ImportJobOut.model_validate(job).model_dump(mode="json"), status_code=202, headers=headers)


@router.get("/v1/imports/{job_id}", response_model=ImportJobOut, dependencies=[require("customers:read")], summary="An import's progress and row errors")
async def get_import(job_id: uuid.UUID, session: SessionDep) -> Any:
    job = await session.get(ImportJob, job_id)
    if job is None:
        raise not_found("Import", job_id)
    return ImportJobOut.model_validate(job)


@router.get("/v1/imports", response_model=Page[ImportJobOut], dependencies=[require("customers:read")], summary="Imports, newest first")
async def list_imports(session: SessionDep, page: PageDep) -> Any:
    items, nxt = await keyset_page(
        session, select(ImportJob), [ImportJob.started_at, ImportJob.id], page, lambda j: [j.started_at.isoformat(), str(j.id)], descending=True
    )
    return Page[ImportJobOut](items=[ImportJobOut.model_validate(j) for j in items], next_cursor=nxt)
