"""`Idempotency-Key` for creating POSTs: a repeat of a key returns the first result.

The key row is inserted in the request's own transaction before the work is done. A
concurrent repeat blocks on the unique index until the first commits, then reads its
stored response; so the work runs once even under races. Reusing a key for a different
request body is a 422 problem.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import orjson
from fastapi import Header
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_shared.platform_models import IdempotencyKey
from wafa_shared.problems import ProblemError

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Any unique string (a UUID is good). Repeating a request with the same key returns the first result.",
    ),
]

_CLAIM = text("INSERT INTO idempotency_keys (scope, key, fingerprint) VALUES (:scope, :key, :fp) ON CONFLICT DO NOTHING RETURNING key")


def fingerprint(body: Any) -> str:
    return hashlib.sha256(orjson.dumps(jsonable_encoder(body), option=orjson.OPT_SORT_KEYS)).hexdigest()


async def idempotent(
    session: AsyncSession,
    *,
    scope: str,
    key: str | None,
    body: Any,
    create: Callable[[], Awaitable[tuple[int, Any]]],
) -> JSONResponse:
    """Run `create` (returning status and body) once per (scope, key) and answer with its result."""
    if key is None:
        status, result = await create()
        return JSONResponse(jsonable_encoder(result), status_code=status)
    fp = fingerprint(body)
    claimed = (await session.execute(_CLAIM, {"scope": scope, "key": key, "fp": fp})).scalar_one_or_none()
    if claimed is None:
        row = (await session.execute(select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key))).scalar_one()
        if row.fingerprint != fp:
            raise ProblemError(422, "idempotency-key-reused", "This Idempotency-Key was used with a different request body.")
        if row.status_code is None:
            raise ProblemError(409, "idempotency-key-in-progress", "A request with this Idempotency-Key is still in progress.")
        return JSONResponse(row.response, status_code=row.status_code, headers={"Idempotent-Replayed": "true"})
    status, result = await create()
    encoded = jsonable_encoder(result)
    await session.execute(update(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key).values(status_code=status, response=encoded))
    return JSONResponse(encoded, status_code=status)
