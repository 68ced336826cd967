"""HTTP conventions every service inherits: auth, problem+json, idempotency, pagination."""

from __future__ import annotations

import time
from typing import Any

import jwt

from wafa_shared.auth import mint_token

NOTE = {"customer_id": "c-1", "seq": 1, "body": "hello"}


async def test_missing_expired_forged_and_wrong_scope_tokens_are_refused(notes: Any) -> None:
    async with notes() as svc:
        missing = await svc.client.post("/v1/notes", json=NOTE)
        assert missing.status_code == 401
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["type"].endswith("/unauthorized")
        assert missing.headers["www-authenticate"].startswith("Bearer")

        past = int(time.time()) - 7200
        expired = jwt.encode({"sub": "x", "scope": "admin", "iat": past, "exp": past + 60, "iss": "wafa"}, svc.settings.jwt_secret)
        r = await svc.client.post("/v1/notes", json=NOTE, headers={"Authorization": f"Bearer {expired}"})
        assert r.status_code == 401 and "expired" in r.json()["detail"]

        forged = mint_token("another-secret-of-sufficient-length-123456", "x", ["admin"])
        r = await svc.client.post("/v1/notes", json=NOTE, headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401

        r = await svc.client.post("/v1/notes", json=NOTE, headers=svc.auth("notes:read"))
        assert r.status_code == 403
        assert r.json()["required_scope"] == "notes:write"

        r = await svc.client.post("/v1/notes", json=NOTE, headers=svc.auth("notes:write"))
        assert r.status_code == 201
        listed = await svc.client.get("/v1/notes", headers=svc.auth("notes:read"))
        assert [n["body"] for n in listed.json()["items"]] == ["hello"]


async def test_bad_input_is_a_422_problem_naming_each_field_and_writes_nothing(notes: Any) -> None:
    async with notes() as svc:
        r = await svc.client.post("/v1/notes", json={"customer_id": "", "seq": -1}, headers=svc.auth())
        assert r.status_code == 422
        body = r.json()
        assert r.headers["content-type"] == "application/problem+json"
        assert body["type"].endswith("/validation-error")
        assert {e["field"] for e in body["errors"]} == {"customer_id", "seq", "body"}
        listed = await svc.client.get("/v1/notes", headers=svc.auth())
        assert listed.json()["items"] == []

        r = await svc.client.get("/v1/nothing-here", headers=svc.auth())
        assert r.status_code == 404 and r.json()["type"].endswith("/not-found")
        r = await svc.client.get("/v1/notes", params={"cursor": "!!garbage"}, headers=svc.auth())
        assert r.status_code == 400 and r.json()["type"].endswith("/invalid-cursor")


async def test_idempotency_key_returns_the_first_result_and_creates_once(notes: Any) -> None:
    async with notes() as svc:
        h = {**svc.auth(), "Idempotency-Key": "k-1"}
        first = await svc.client.post("/v1/notes", json=NOTE, headers=h)
        again = await svc.client.post("/v1/notes", json=NOTE, headers=h)
        assert first.status_code == again.status_code == 201
        assert first.json() == again.json()
        assert again.headers.get("idempotent-replayed") == "true"
        other = await svc.client.post("/v1/notes", json={**NOTE, "body": "different"}, headers=h)
        assert other.status_code == 422 and other.json()["type"].endswith("/idempotency-key-reused")
        listed = await svc.client.get("/v1/notes", headers=svc.auth())
        assert len(listed.json()["items"]) == 1


async def test_cursor_pagination_visits_every_item_once_in_stable_order(notes: Any) -> None:
    async with notes() as svc:
        for i in range(23):
            r = await svc.client.post("/v1/notes", json={"customer_id": f"c-{i % 3}", "seq": i, "body": "x"}, headers=svc.auth())
            assert r.status_code == 201
        seen: list[tuple[str, int]] = []
        cursor = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": 5}
            if cursor:
                params["cursor"] = cursor
            page = (await svc.client.get("/v1/notes", params=params, headers=svc.auth())).json()
            seen += [(n["customer_id"], n["seq"]) for n in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert pages == 5
        assert seen == sorted(seen) and len(set(seen)) == 23


async def test_concurrent_repeats_of_one_idempotency_key_create_once(notes: Any) -> None:
    import asyncio

    async with notes(consumers_enabled=False) as svc:
        h = {**svc.auth(), "Idempotency-Key": "race-1"}
        results = await asyncio.gather(*(svc.client.post("/v1/notes", json=NOTE, headers=h) for _ in range(10)))
        created = [r for r in results if r.status_code == 201]
        assert len({r.json()["id"] for r in created}) == 1
        assert all(r.status_code in (201, 409) for r in results)
        listed = await svc.client.get("/v1/notes", headers=svc.auth())
        assert len(listed.json()["items"]) == 1


async def test_a_client_over_its_rate_gets_429_with_retry_after_and_others_are_unaffected(notes: Any) -> None:
    async with notes(consumers_enabled=False, rate_limit_per_s=1, rate_limit_burst=3) as svc:
        greedy = svc.auth("notes:read")
        codes = [(await svc.client.get("/v1/notes", headers=greedy)).status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
        limited = await svc.client.get("/v1/notes", headers=greedy)
        assert limited.headers["retry-after"] == "1"
        assert limited.headers["content-type"] == "application/problem+json"
        assert limited.json()["type"].endswith("/rate-limited")
        other = await svc.client.get("/v1/notes", headers=svc.auth("notes:read", subject="someone-else"))
        assert other.status_code == 200
        assert (await svc.client.get("/healthz")).status_code == 200
