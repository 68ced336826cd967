"""The `wafa` ops commands against a real service over HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import notes_service
from helpers import scalar
from typer.testing import CliRunner

from wafa_shared.cli import app as cli
from wafa_shared.testing.events import eventually
from wafa_shared.testing.http_server import http_server


async def test_dead_letters_are_listed_and_replayed_and_outbox_and_lag_are_shown(notes: Any, monkeypatch: Any) -> None:
    notes_service.FAILING_BODIES.add("bad")
    try:
        async with notes(consumer_max_attempts=2, consumer_retry_backoff_s=0.01) as svc, http_server(svc.app) as url:
            monkeypatch.setenv("WAFA_CUSTOMER_URL", url)
            monkeypatch.setenv("WAFA_JWT_SECRET", svc.settings.jwt_secret)
            r = await svc.client.post("/v1/notes", json={"customer_id": "c", "seq": 1, "body": "bad"}, headers=svc.auth())
            assert r.status_code == 201
            await eventually(lambda: scalar(svc, "SELECT count(*) = 1 FROM dead_letters"), timeout_s=30)
            dead_id = await scalar(svc, "SELECT id FROM dead_letters")

            def run(*args: str) -> str:
                result = CliRunner().invoke(cli, list(args))
                assert result.exit_code == 0, result.output
                return result.output

            listed = await asyncio.to_thread(run, "dlq", "list", "-s", "customer")
            assert f"customer\t{dead_id}\tnotes.effects\ttest.note.created\t2" in listed
            notes_service.FAILING_BODIES.discard("bad")
            replayed = await asyncio.to_thread(run, "dlq", "replay", "customer", str(dead_id))
            assert replayed.strip() == f"customer\t{dead_id}\treplayed"
            assert await scalar(svc, "SELECT count(*) FROM note_effects") == 1
            status = await asyncio.to_thread(run, "outbox", "status", "-s", "customer")
            assert "customer\tbacklog=0\tretained=1" in status
            lag = await asyncio.to_thread(run, "lag", "-s", "customer")
            assert lag.startswith("customer\t")
    finally:
        notes_service.FAILING_BODIES.discard("bad")
