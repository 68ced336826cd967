"""Remember FastAPI's dependency cache keys instead of recomputing them on every request.

FastAPI 0.16x derives each sub-dependency's cache key per request by walking the dependency
tree for OAuth scopes (`inspect.unwrap` on every node): about 8 % of the CPU of a purchase
request, measured with py-spy. The key is a function of the `Dependant` alone, and dependants
are built once when a route is declared, so it is computed once per dependant here. The
memo holds the dependant itself (ids are never reused while it is held) and is bounded in
case a future FastAPI builds dependants per request.
"""

from __future__ import annotations

from typing import Any

from fastapi.dependencies import utils

_MAX_KEYS = 10_000
_original = utils._get_cache_key
_keys: dict[int, tuple[Any, Any]] = {}


def _cache_key(*, dependant: Any, uses_scopes_cache: Any = None) -> Any:
    hit = _keys.get(id(dependant))
    if hit is not None and hit[0] is dependant:
        return hit[1]
    key = _original(dependant=dependant, uses_scopes_cache=uses_scopes_cache)
    if len(_keys) >= _MAX_KEYS:
        _keys.clear()
    _keys[id(dependant)] = (dependant, key)
    return key


def install() -> None:
    """Idempotent; `build_app` calls it."""
    utils._get_cache_key = _cache_key  # type: ignore[assignment]
