"""Bearer JWT authentication with scopes.

Tokens are HS256 JWTs signed with the platform secret (`WAFA_JWT_SECRET`), carrying `sub`,
`scope` (space separated, e.g. `loyalty:read loyalty:write`), `iat`, `exp` and `iss`.
The `admin` scope grants everything. Missing, malformed, forged or expired tokens get 401;
a valid token without the scope gets 403; both as problem+json.

A verified token is remembered until its `exp` (`decode_token`): a client sends the same token
on every request, and verifying it again each time was ~6 % of a profile read's CPU.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from wafa_shared.problems import ProblemError

ALGORITHM = "HS256"
ADMIN = "admin"
_bearer = HTTPBearer(auto_error=False, description="A Wafa JWT; mint one with `wafa token mint`.")


@dataclass(frozen=True)
class Principal:
    subject: str
    scopes: frozenset[str]

    def has(self, scope: str) -> bool:
        return ADMIN in self.scopes or scope in self.scopes


def mint_token(secret: str, subject: str, scopes: list[str], *, ttl_s: int = 3600, issuer: str = "wafa") -> str:
    now = int(time.time())
    claims = {"sub": subject, "scope": " ".join(scopes), "iat": now, "exp": now + ttl_s, "iss": issuer}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, "unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="wafa"'})


_VERIFIED_MAX = 4096
# (token, secret, issuer) -> (principal, exp). Plain dict in insertion order: a hit is moved to
# the end, the least recently used entry is dropped when full. Each operation is atomic, so a
# race between threads can at worst cost a re-verification.
_verified: dict[tuple[str, str, str], tuple[Principal, float]] = {}


def decode_token(token: str, secret: str, issuer: str) -> Principal:
    """The caller a valid token names; 401 problem otherwise.

    Only successes are remembered, keyed by token, secret and issuer (a rotated secret or issuer
    verifies again), and only while `time.time() < exp`, which is PyJWT's own test (no leeway):
    a remembered token is answered exactly as a fresh verification would answer it. An expired
    one is verified again, so it gets the same 401 as a token never seen."""
    key = (token, secret, issuer)
    hit = _verified.pop(key, None)
    if hit is not None and time.time() < hit[1]:
        _verified[key] = hit
        return hit[0]
    principal, exp = _verify(token, secret, issuer)
    if len(_verified) >= _VERIFIED_MAX:
        _verified.pop(next(iter(_verified), key), None)
    _verified[key] = (principal, exp)
    return principal


def _verify(token: str, secret: str, issuer: str) -> tuple[Principal, float]:
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=issuer, options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError:
        raise _unauthorized("The token has expired.") from None
    except jwt.PyJWTError as exc:
        raise _unauthorized(f"The token is not valid: {exc}.") from None
    principal = Principal(subject=str(claims["sub"]), scopes=frozenset(str(claims.get("scope", "")).split()))
    return principal, float(claims["exp"])


async def authenticate(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("A bearer token is required.")
    settings = request.app.state.runtime.settings
    return decode_token(credentials.credentials, settings.jwt_secret, settings.jwt_issuer)


def require(scope: str) -> object:
    """Dependency: the caller, who must hold `scope` (or `admin`)."""

    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not principal.has(scope):
            raise ProblemError(403, "forbidden", f"This needs the scope '{scope}'.", required_scope=scope)
        return principal

    return Depends(check)
