"""The memo of FastAPI's dependency cache keys gives the keys FastAPI computes, and keeps
FastAPI's per-request dependency caching (one call per request, per scope set) as it was."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import Depends, FastAPI, Security
from fastapi.routing import APIRoute
from fastapi.security import SecurityScopes

from wafa_shared import dependency_keys

calls: list[str] = []


async def counted() -> str:
    calls.append("counted")
    return "x"


async def scoped(security_scopes: SecurityScopes) -> str:
    calls.append(" ".join(security_scopes.scopes))
    return "y"


async def first(v: Annotated[str, Depends(counted)]) -> str:
    return v


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/twice")
    async def twice(a: Annotated[str, Depends(first)], b: Annotated[str, Depends(counted)]) -> dict[str, str]:
        return {"a": a, "b": b}

    @app.get("/scopes")
    async def scopes(a: Annotated[str, Security(scoped, scopes=["r"])], b: Annotated[str, Security(scoped, scopes=["w"])]) -> dict[str, str]:
        return {"a": a, "b": b}

    return app


def _walk(dependant: object) -> list[object]:
    subs = list(getattr(dependant, "dependencies", []))
    return [d for s in subs for d in [s, *_walk(s)]]


def test_memoised_keys_equal_fastapis_own() -> None:
    app = _app()
    dependency_keys.install()
    for route in app.routes:
        if isinstance(route, APIRoute):
            for d in _walk(route.dependant):
                assert dependency_keys._cache_key(dependant=d) == dependency_keys._original(dependant=d)
                assert dependency_keys._cache_key(dependant=d) is dependency_keys._cache_key(dependant=d)


async def test_a_request_still_calls_a_shared_dependency_once_and_each_scope_set_once() -> None:
    dependency_keys.install()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t") as client:
        calls.clear()
        assert (await client.get("/twice")).json() == {"a": "x", "b": "x"}
        assert calls == ["counted"]
        calls.clear()
        assert (await client.get("/twice")).status_code == 200
        assert calls == ["counted"]
        calls.clear()
        assert (await client.get("/scopes")).status_code == 200
        assert sorted(calls) == ["r", "w"]
