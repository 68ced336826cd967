"""The `wafa` ops commands against a real service over HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import notes_service
import uvicorn
from helpers import scalar
from typer.testing import CliRunner

from wafa_shared.cli import app as cli
from wafa_shared.embedded.broker import free_port
from wafa_shared.testing.events import eventually


async def test_dead_letters_are_listed_and_replayed_and_outbox_and_lag_are_shown(notes: Any, monkeypatch: Any) -> None:
    notes_service.FAILING_BODIES.add("bad")
    try:
        async with notes(consumer_max_attempts=2, consumer_retry_backoff_s=0.01) as svc:
            port = free_port()
            server = uvicorn.Server(uvicorn.Config(svc.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
            serving = asyncio.create_task(server.serve())
            while not server.started:
                await asyncio.sleep(0.01)
            monkeypatch.setenv("WAFA_CUSTOMER_URL", f"http://127.0.0.1:{port}")
            monkeypatch.setenv("WAFA_JWT_SECRET", svc.settings.jwt_secret)
            try:
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
                server.should_exit = True
                await serving
    finally:
        notes_service.FAILING_BODIES.discard("bad")
