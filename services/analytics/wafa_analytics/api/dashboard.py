"""`GET /dashboard`: the loyalty manager's dashboard, a static page and its assets.

The page holds no data and needs no token to load (its links are relative, so it also works
behind a path prefix such as the Ingress's `/analytics/dashboard`): it reads the bearer token from the URL
fragment (`#token=...`, never sent to a server) or a paste box, keeps it in sessionStorage, and
calls the same `/v1/...` API any frontend would. Left out of the OpenAPI document (not an API).
"""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse, Response

from wafa_shared.problems import not_found

router = APIRouter(include_in_schema=False)

ROOT = Path(__file__).resolve().parent.parent / "dashboard"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
HEADERS = {
    # ECharts sets inline styles (tooltips); scripts only from this origin.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


TEXT = {"LICENSE", "NOTICE"}  # the vendored library's licence files


def _type(path: Path) -> str | None:
    return "text/plain; charset=utf-8" if path.name in TEXT else TYPES.get(path.suffix)


def _file(path: Path, cache: str) -> Response:
    return FileResponse(path, media_type=_type(path), headers={**HEADERS, "Cache-Control": cache})


@router.get("/dashboard")
async def page() -> Response:
    return _file(ROOT / "index.html", "no-cache")


@router.get("/dashboard/")
async def page_slash() -> Response:
    return RedirectResponse("../dashboard", status_code=308)  # relative: the page may be served under a path prefix


@router.get("/dashboard/{name:path}")
async def asset(name: str) -> Response:
    path = (ROOT / name).resolve()
    if not path.is_relative_to(ROOT) or not path.is_file() or _type(path) is None:
        raise not_found("Dashboard asset", name)
    return _file(path, "public, max-age=86400" if "vendor" in path.parts else "no-cache")
