"""`wafa customers import FILE`: the ops CLI streams a file to a running customer service and
follows the job to its end."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from customer_helpers import clock
from typer.testing import CliRunner

from wafa_shared.cli import app as cli
from wafa_shared.testing.http_server import http_server

GOOD = "external_id,given_name,email,country\nC1,Sara,sara@example.com,SA\nC2,Omar,omar@example.com,SA\n"
ONE_BAD = "external_id,given_name,email,country\nC3,Huda,huda@example.com,SA\nC4,Ali,not-an-email,SA\n"


async def test_cli_import_creates_then_updates_and_reports_refused_rows(wafa_service: Any, tmp_path: Path, monkeypatch: Any) -> None:
    async with wafa_service("customer", clock=clock()) as svc, http_server(svc.app) as url:
        monkeypatch.setenv("WAFA_CUSTOMER_URL", url)
        monkeypatch.setenv("WAFA_JWT_SECRET", svc.settings.jwt_secret)

        def run(body: str, name: str) -> Any:
            f = tmp_path / name
            f.write_text(body)
            return CliRunner().invoke(cli, ["customers", "import", str(f), "--source", "crm"])

        first = await asyncio.to_thread(run, GOOD, "good.csv")
        assert first.exit_code == 0, first.output
        assert "\tcompleted\trows=2\tcreated=2\tupdated=0\trefused=0" in first.output
        again = await asyncio.to_thread(run, GOOD, "again.csv")
        assert "\tcompleted\trows=2\tcreated=0\tupdated=2\trefused=0" in again.output
        bad = await asyncio.to_thread(run, ONE_BAD, "bad.csv")
        assert bad.exit_code == 1
        assert "row 2: email" in bad.output and "created=1" in bad.output and "refused=1" in bad.output
        listed = (await svc.client.get("/v1/customers", params={"limit": 10}, headers=svc.auth("customers:read"))).json()["items"]
        assert sorted(c["email"] for c in listed) == ["huda@example.com", "omar@example.com", "sara@example.com"]
