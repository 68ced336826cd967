"""RFC 9457 problem+json errors: one exception type and the handlers that render every error.

Every error a client can cause leaves as `application/problem+json` with a stable `type`;
request validation errors name each failing field. Unexpected errors are a 500 problem
without internals, logged with the request id.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem_response(ProblemError(500, "internal-error", "An unexpected error occurred; it has been logged."), request)
