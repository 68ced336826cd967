"""Remembering verified tokens answers every token exactly as verifying it again would: the same
caller while it is valid, 401 once it expired, 401 under another secret or issuer."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest

from wafa_shared import auth
from wafa_shared.auth import decode_token, mint_token
from wafa_shared.problems import ProblemError

SECRET = "s" * 32


@pytest.fixture(autouse=True)
def empty_memo() -> Iterator[None]:
    auth._verified.clear()
    yield
    auth._verified.clear()


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(auth.jwt, "decode", counting)
    return seen


@pytest.fixture
def set_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Moves the clock of the memo and of PyJWT together."""
    now = [time.time()]

    class FakeTime:
        @staticmethod
        def time() -> float:
            return now[0]

    class FakeDatetime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> FakeDatetime:
            return cls.fromtimestamp(now[0], tz or UTC)

    monkeypatch.setattr(auth, "time", FakeTime)
    monkeypatch.setattr(jwt.api_jwt, "datetime", FakeDatetime)

    def move(t: float) -> None:
        now[0] = t

    return move


def test_a_token_seen_again_is_the_same_caller_without_verifying_it_again(verifications: list[str]) -> None:
    token = mint_token(SECRET, "pos-1", ["customers:read"])
    first = decode_token(token, SECRET, "wafa")
    again = decode_token(token, SECRET, "wafa")
    assert first == again and first.subject == "pos-1" and first.scopes == frozenset({"customers:read"})
    assert verifications == [token]


def test_a_remembered_token_is_refused_once_it_expired(set_clock: Callable[[float], None]) -> None:
    start = int(time.time())
    set_clock(start)
    token = mint_token(SECRET, "pos-1", ["admin"], ttl_s=60)
    assert decode_token(token, SECRET, "wafa").subject == "pos-1"
    set_clock(start + 59.5)
    assert decode_token(token, SECRET, "wafa").subject == "pos-1"
    set_clock(start + 60)  # PyJWT: expired when exp <= now
    with pytest.raises(ProblemError) as err:
        decode_token(token, SECRET, "wafa")
    assert err.value.status == 401 and "expired" in err.value.detail


def test_a_remembered_token_is_refused_under_another_secret_or_issuer() -> None:
    token = mint_token(SECRET, "pos-1", ["admin"])
    decode_token(token, SECRET, "wafa")
    for secret, issuer in (("t" * 32, "wafa"), (SECRET, "other")):
        with pytest.raises(ProblemError) as err:
            decode_token(token, secret, issuer)
        assert err.value.status == 401


def test_refused_tokens_are_not_remembered(verifications: list[str]) -> None:
    forged = mint_token("t" * 32, "mallory", ["admin"])
    for _ in range(2):
        with pytest.raises(ProblemError):
            decode_token(forged, SECRET, "wafa")
    assert verifications == [forged, forged] and not auth._verified


def test_the_memo_is_bounded_and_keeps_the_most_recently_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "_VERIFIED_MAX", 3)
    tokens = [mint_token(SECRET, f"c{i}", ["admin"]) for i in range(4)]
    for t in tokens[:3]:
        decode_token(t, SECRET, "wafa")
    decode_token(tokens[0], SECRET, "wafa")  # used again: c1 is now the least recently used
    decode_token(tokens[3], SECRET, "wafa")
    assert [k[0] for k in auth._verified] == [tokens[2], tokens[0], tokens[3]]
