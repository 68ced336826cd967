"""RFC 9457 problem+json errors: one exception type and the handlers that render every error.

Every error a client can cause leaves as `application/problem+json` with a stable `type`;
request validation errors name each failing field. A value PostgreSQL refuses to store (a
data exception, SQLSTATE class 22: a number beyond its column, a NUL character in text) is the
client's input too: a 422 `value-not-storable`, never a 500. Unexpected errors are a 500
problem without internals, logged with the request id.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_BASE = "https://wafa.dev/problems/"
MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("wafa.problems")

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class ProblemError(Exception):
    """Raise anywhere to answer with a problem document. `slug` becomes the stable `type`."""

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.title = title or _TITLES.get(status, "Error")
        self.headers = headers or {}
        self.extensions = extensions

    def to_dict(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extensions)
        return body


def not_found(what: str, ident: object) -> ProblemError:
    return ProblemError(404, "not-found", f"{what} {ident} does not exist")


def conflict(slug: str, detail: str, **ext: Any) -> ProblemError:
    return ProblemError(409, slug, detail, **ext)


def problem_response(err: ProblemError, request: Request | None = None) -> JSONResponse:
    instance = str(request.url.path) if request is not None else None
    return JSONResponse(err.to_dict(instance), status_code=err.status, media_type=MEDIA_TYPE, headers=err.headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ())]
        if loc and loc[0] in ("body", "query", "path", "header"):
            where, path = loc[0], loc[1:]
        else:
            where, path = "body", loc
        out.append({"field": ".".join(path) or where, "in": where, "message": e.get("msg", "invalid"), "code": e.get("type", "invalid")})
    return out


def _data_exception(exc: BaseException) -> asyncpg.DataError | None:
    """The PostgreSQL data exception (SQLSTATE class 22) behind `exc`, as SQLAlchemy wraps it."""
    seen: BaseException | None = exc
    for _ in range(4):  # DBAPIError -> .orig (the adapter's error) -> .driver_exception (asyncpg's)
        if seen is None or isinstance(seen, asyncpg.DataError):
            break
        seen = getattr(seen, "driver_exception", None) or getattr(seen, "orig", None) or seen.__cause__
    return seen if isinstance(seen, asyncpg.DataError) else None


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error as problem+json."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        fields = ", ".join(sorted({e["field"] for e in errors}))
        err = ProblemError(422, "validation-error", f"Invalid input: {fields}", errors=errors)
        return problem_response(err, request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, f"http-{exc.status_code}")
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
        headers = dict(exc.headers or {})
        return problem_response(ProblemError(exc.status_code, slug, detail, headers=headers), request)

    @app.exception_handler(DBAPIError)
    @app.exception_handler(asyncpg.PostgresError)
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        refused = _data_exception(exc)
        if refused is None:
            raise exc  # not the input's fault: the unexpected-error handler logs it and answers 500
        log.warning("a value could not be stored", extra={"path": request.url.path, "sqlstate": refused.sqlstate})
        detail = f"A value in the request cannot be stored: {str(refused).splitlines()[0]}."
        return problem_response(ProblemError(422, "value-not-storable", detail), request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem_response(ProblemError(500, "internal-error", "An unexpected error occurred; it has been logged."), request)


# --- the OpenAPI side: every operation documents the problems it can answer -------------------


class Problem(BaseModel):
    """An RFC 9457 problem document; `type` is stable, extensions (e.g. `required_scope`) may follow."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=[PROBLEM_BASE + "not-found"])
    title: str
    status: int
    detail: str
    instance: str | None = None


class FieldProblem(BaseModel):
    field: str = Field(description="Dotted path of the failing field, or the location when the whole of it fails.")
    in_: str = Field(alias="in", description="body, query, path or header")
    message: str
    code: str | None = None


class ValidationProblem(Problem):
    """422: the request is invalid. When it failed validation, `errors` names each failing field;
    a rule the valid request breaks (e.g. an unknown customer) has a `type` of its own instead."""

    errors: list[FieldProblem] | None = None


_DOCUMENTED = {
    400: ("Bad request (e.g. an invalid cursor or file)", "Problem"),
    401: ("Missing, malformed, forged or expired credentials (token or webhook signature)", "Problem"),
    403: ("The token lacks the scope this operation needs", "Problem"),
    404: ("A resource named in the request does not exist", "Problem"),
    409: ("The request conflicts with the current state (or reuses an idempotency key)", "Problem"),
    422: ("The request is invalid; `errors` names each failing field", "ValidationProblem"),
    429: ("Rate limit exceeded; retry after `Retry-After` seconds", "Problem"),
}
_REF = "#/components/schemas/"


def declare_problems(document: dict[str, Any], *, unlimited_paths: tuple[str, ...] = ()) -> None:
    """Declare in an OpenAPI document, once for every operation, the problem+json answers the
    shared layers can give: 429 wherever rate limiting applies (every path but
    `unlimited_paths`); 400, 401, 404, 409 and 422 on every `/v1/` operation, and 403 on those
    that take a token. An error response a route declares itself (e.g. 413, 415) keeps its
    description and gets the problem schema: every error leaves as a problem. FastAPI's
    default 422 (`HTTPValidationError`, application/json) is replaced: it is not what we send.
    """
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    _, definitions = models_json_schema([(m, "serialization") for m in (Problem, ValidationProblem)], ref_template=_REF + "{model}")
    schemas.update(definitions["$defs"])
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            _declare(
                operation.setdefault("responses", {}), api=path.startswith("/v1/"), secured=bool(operation.get("security")), limited=path not in unlimited_paths
            )
    if "HTTPValidationError" not in str(document.get("paths")):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)


def _declare(responses: dict[str, Any], *, api: bool, secured: bool, limited: bool) -> None:
    statuses = [400, 401, 404, 409, 422] if api else []
    if api and secured:
        statuses.append(403)
    if limited:
        statuses.append(429)
    for status in sorted(statuses):
        description, schema_name = _DOCUMENTED[status]
        declared = responses.setdefault(str(status), {"description": description})
        if status == 422:
            declared["content"] = {MEDIA_TYPE: {"schema": {"$ref": _REF + schema_name}}}
            if declared.get("description") == "Validation Error":
                declared["description"] = description
        if status == 429:
            declared["headers"] = {"Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer", "minimum": 1}}}
    for code, response in responses.items():
        if not code.isdigit() or int(code) < 400:
            continue
        content = response.setdefault("content", {})
        if not content:
            content[MEDIA_TYPE] = {}
        if MEDIA_TYPE in content and not content[MEDIA_TYPE].get("schema"):
            content[MEDIA_TYPE]["schema"] = {"$ref": _REF + "Problem"}
